"""A Cloud Run service: a Starlette (ASGI) app under uvicorn, with sessions in Firestore.

No session configuration: on Cloud Run the Google Cloud adapter recognises the platform
and keeps sessions in the Firestore collection ``hostsessions`` of the project's
``(default)`` database, with the service account's credentials.

Run it locally against the Firestore emulator::

    gcloud emulators firestore start --host-port=127.0.0.1:8086 &
    FIRESTORE_EMULATOR_HOST=127.0.0.1:8086 GOOGLE_CLOUD_PROJECT=demo-shop \\
    HOSTSESSIONS_DRIVER=firestore uvicorn main:app --port 8080
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hostsessions import AsyncSession, SessionKey
from hostsessions.asgi import SessionMiddleware

CART = SessionKey("cart", list[str])


async def show_cart(request: Request) -> JSONResponse:
    session: AsyncSession = request.scope["session"]
    return JSONResponse({"cart": await session.get(CART) or []})


async def add_to_cart(request: Request) -> JSONResponse:
    session: AsyncSession = request.scope["session"]
    item = request.path_params["item"]
    # update() re-applies the change if another request wrote the session meanwhile.
    cart = await session.update(CART, lambda items: [*items, item], default=[])
    return JSONResponse({"cart": cart})


async def checkout(request: Request) -> JSONResponse:
    session: AsyncSession = request.scope["session"]
    session.destroy()
    return JSONResponse({"cart": []})


app = SessionMiddleware(
    Starlette(
        routes=[
            Route("/", show_cart),
            Route("/cart/{item}", add_to_cart, methods=["POST"]),
            Route("/checkout", checkout, methods=["POST"]),
        ]
    )
)

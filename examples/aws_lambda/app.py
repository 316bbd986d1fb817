"""A Starlette app on AWS Lambda behind Mangum, keeping a shopping cart in the session.

Nothing here names a store: on Lambda, with ``hostsessions[aws]`` installed, sessions go
to the DynamoDB table ``hostsessions`` (or ``HOSTSESSIONS_DYNAMODB_TABLE``) in the
function's region. ``infra/aws/template.yaml`` deploys the table, the policy and this
function; ``docs/aws.md`` shows how to build the bundle.

Run it locally with ``uvicorn app:app`` (sessions then go to ./.hostsessions, or to
DynamoDB with ``HOSTSESSIONS_DRIVER=dynamodb``).
"""

from __future__ import annotations

from mangum import Mangum
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hostsessions import AsyncSession, SessionConfig, SessionKey
from hostsessions.asgi import SessionMiddleware

CART = SessionKey("cart", list[str])


def session_of(request: Request) -> AsyncSession:
    """The request's session (Starlette types ``request.session`` as a plain dict)."""
    session: AsyncSession = request.scope["session"]
    return session


async def show_cart(request: Request) -> JSONResponse:
    cart: list[str] = await session_of(request).get(CART, [])
    return JSONResponse({"cart": cart})


async def add_to_cart(request: Request) -> JSONResponse:
    item = request.path_params["item"]
    # update() re-applies the change if another request saved the cart meanwhile.
    cart = await session_of(request).update(CART, lambda current: [*current, item], default=[])
    return JSONResponse({"cart": cart})


async def empty_cart(request: Request) -> JSONResponse:
    session_of(request).destroy()
    return JSONResponse({"cart": []})


def create_app(config: SessionConfig | None = None) -> SessionMiddleware:
    """The app with its sessions. With no config, the store is chosen from the environment."""
    routes = [
        Route("/cart", show_cart, methods=["GET"]),
        Route("/cart/{item}", add_to_cart, methods=["POST"]),
        Route("/cart", empty_cart, methods=["DELETE"]),
    ]
    return SessionMiddleware(Starlette(routes=routes), config)


# Built at import, in Lambda's init phase, so the first request does not pay for it.
app = create_app()
handler = Mangum(app, lifespan="off")

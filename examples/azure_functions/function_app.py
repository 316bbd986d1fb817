"""A shopping cart on Azure Functions (Python v2 model), as an ASGI app.

No session configuration at all: on Azure Functions hostsessions finds the function
app's own storage account (``AzureWebJobsStorage``) and keeps sessions in its table
``hostsessions``, created on first use. ``host.json`` serves the app at the site root.
"""

from __future__ import annotations

import azure.functions as func
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hostsessions import AsyncSession, SessionKey
from hostsessions.asgi import SessionMiddleware
from hostsessions.cli import main as hostsessions_cli

CART = SessionKey("cart", list[str])


def session_of(request: Request) -> AsyncSession:
    session: AsyncSession = request.scope["session"]
    return session


async def show_cart(request: Request) -> JSONResponse:
    cart = await session_of(request).get(CART)
    return JSONResponse({"cart": cart or []})


async def add_to_cart(request: Request) -> JSONResponse:
    item = request.query_params["item"]
    # update() re-applies the change if another request saved the cart meanwhile.
    cart = await session_of(request).update(CART, lambda items: [*items, item], default=[])
    return JSONResponse({"cart": cart})


async def empty_cart(request: Request) -> JSONResponse:
    session_of(request).destroy()
    return JSONResponse({"cart": []})


web_app = Starlette(
    routes=[
        Route("/cart", show_cart, methods=["GET"]),
        Route("/cart/items", add_to_cart, methods=["POST"]),
        Route("/cart", empty_cart, methods=["DELETE"]),
    ]
)

app = func.AsgiFunctionApp(
    app=SessionMiddleware(web_app), http_auth_level=func.AuthLevel.ANONYMOUS
)


# Table storage has no TTL: sweep expired sessions twice an hour, as `hostsessions gc` does.
@app.timer_trigger(schedule="0 */30 * * * *", arg_name="timer", run_on_startup=False)
def sweep_expired_sessions(timer: func.TimerRequest) -> None:
    hostsessions_cli(["gc"])

"""The same shopping cart on Azure Functions as a WSGI (Flask) app.

No session configuration: hostsessions uses the function app's ``AzureWebJobsStorage``.
"""

from __future__ import annotations

import azure.functions as func
from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

from hostsessions import Session, SessionKey
from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware

CART = SessionKey("cart", list[str])

flask_app = Flask(__name__)


def session() -> Session:
    current: Session = request.environ[ENVIRON_KEY]
    return current


@flask_app.get("/cart")
def show_cart() -> ResponseReturnValue:
    return jsonify(cart=session().get(CART) or [])


@flask_app.post("/cart/items")
def add_to_cart() -> ResponseReturnValue:
    item = request.args["item"]
    return jsonify(cart=session().update(CART, lambda items: [*items, item], default=[]))


flask_app.wsgi_app = SessionMiddleware(flask_app.wsgi_app)  # type: ignore[method-assign]

app = func.WsgiFunctionApp(app=flask_app.wsgi_app, http_auth_level=func.AuthLevel.ANONYMOUS)

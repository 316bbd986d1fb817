"""The shopping-cart demo: the sessions guide's example as a small WSGI app.

Plain WSGI and the standard library only, so it runs on the core alone, on the
zero-config default driver (the filesystem store on a machine of one's own).
"""

from __future__ import annotations

import errno
import html
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from .config import SessionConfig
from .devserver import make_dev_server
from .keys import SessionKey
from .session import Session
from .wsgi import ENVIRON_KEY, SessionMiddleware

__all__ = [
    "CART",
    "PRODUCTS",
    "STYLE",
    "TRY_THIS",
    "USER",
    "DemoAddressError",
    "StartResponse",
    "build",
    "make_app",
    "run",
]

PRODUCTS: dict[str, tuple[str, str]] = {
    "tea": ("Green tea", "4.50"),
    "mug": ("Stoneware mug", "12.00"),
    "book": ("Field guide to ferns", "18.90"),
    "socks": ("Wool socks", "9.00"),
}

CART = SessionKey("cart", list[str])
USER = SessionKey("user", str)

StartResponse = Callable[..., Any]

STYLE = """
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
header{display:flex;gap:1rem;align-items:center;justify-content:space-between;
border-bottom:1px solid #ddd;padding-bottom:.8rem}
nav a{margin-right:1rem}.badge{background:#2b6;color:#fff;border-radius:1rem;padding:.1rem .6rem}
ul.products{list-style:none;padding:0}
ul.products li{display:flex;justify-content:space-between;padding:.5rem 0;
border-bottom:1px solid #eee}
form.inline{display:inline}footer{margin-top:2rem;color:#777;font-size:.85rem}
aside.try{background:#f4f8ff;border:1px solid #cfe0ff;border-radius:.4rem;padding:.2rem 1rem;
margin:1rem 0}aside.try li{margin:.3rem 0}
"""

# What a person should try, on every page: the three things sessions do here.
TRY_THIS = """<aside class="try" data-testid="try-this"><p><strong>Try this</strong></p><ol>
<li>Add a few things to your cart, then reload the page or open the cart: they stay,
kept on the server under the session ID shown at the bottom of the page.</li>
<li>Log in: the session ID changes (a new ID at every privilege change, against session
fixation) and your cart comes along.</li>
<li>Log out: the session is destroyed, the cart is empty and the old ID is dead.</li>
</ol></aside>"""


class DemoAddressError(Exception):
    """The demo cannot listen where it was asked to (a busy port, a foreign address)."""


def _page(session: Session, title: str, body: str, driver_label: str) -> bytes:
    cart = session.get(CART) or []
    count = len(cart)
    user = session.get(USER)
    if user:
        account = (
            f'<span data-testid="user">Signed in as {html.escape(user)}</span> '
            '<form class="inline" method="post" action="/logout">'
            '<button data-testid="logout">Log out</button></form>'
        )
    else:
        account = (
            '<form class="inline" method="post" action="/login">'
            '<input name="user" value="ada" aria-label="user name"> '
            '<button data-testid="login">Log in</button></form>'
        )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} - hostsessions demo</title>
<style>{STYLE}</style></head><body>
<header><nav><a href="/">Shop</a><a href="/cart" data-testid="cart-link">Cart
<span class="badge" data-testid="cart-count">{count}</span></a></nav>{account}</header>
<h1>{html.escape(title)}</h1>
{TRY_THIS}
{body}
<footer>Session <code data-testid="session-id">{html.escape((session.id or "none")[:8])}</code>
 &middot; driver: <code>{html.escape(driver_label)}</code></footer>
</body></html>""".encode()


def _shop(session: Session) -> str:
    rows = "".join(
        f"<li><span>{html.escape(name)} &middot; &euro;{price}</span>"
        f'<form class="inline" method="post" action="/cart/add">'
        f'<input type="hidden" name="product" value="{key}">'
        f'<button data-testid="add-{key}">Add to cart</button></form></li>'
        for key, (name, price) in PRODUCTS.items()
    )
    return f'<ul class="products">{rows}</ul>'


def _cart(session: Session) -> str:
    cart = session.get(CART) or []
    if not cart:
        return '<p data-testid="cart-empty">Your cart is empty.</p>'
    items = "".join(
        f'<li data-testid="cart-item">{html.escape(PRODUCTS[k][0])}</li>'
        for k in cart
        if k in PRODUCTS
    )
    return f"<ul>{items}</ul>"


def _form(environ: dict[str, Any]) -> dict[str, str]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), 4096)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length).decode("utf-8", "replace")
    return {k: v[0] for k, v in parse_qs(body).items()}


def make_app(driver_label: str = "") -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The demo as a WSGI app; wrap it in :class:`hostsessions.wsgi.SessionMiddleware`."""

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        session: Session = environ[ENVIRON_KEY]
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if method == "POST":
            form = _form(environ)
            if path == "/cart/add" and form.get("product") in PRODUCTS:
                product = form["product"]
                session.update(CART, lambda cart: [*(cart or []), product])
            elif path == "/login":
                session.regenerate()  # a new ID at the privilege change: no session fixation
                session.set(USER, (form.get("user") or "guest")[:40])
            elif path == "/logout":
                session.destroy()
            start_response("303 See Other", [("Location", "/"), ("Content-Length", "0")])
            return [b""]
        if path == "/":
            body = _page(session, "Shop", _shop(session), driver_label)
        elif path == "/cart":
            body = _page(session, "Your cart", _cart(session), driver_label)
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response(
            "200 OK",
            [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


def build(driver: str | None = None) -> SessionMiddleware:
    """The demo app wrapped in the session middleware, on ``driver`` or the default choice."""
    middleware = SessionMiddleware(make_app(), SessionConfig(driver=driver))
    label = _describe(middleware)
    middleware.app = make_app(label)
    return middleware


def _describe(middleware: SessionMiddleware) -> str:
    chosen = middleware.manager.choice.driver
    entrypoint = getattr(chosen, "entrypoint", type(chosen).__name__)
    options = getattr(chosen, "options", {})
    return entrypoint + (f" {dict(options)}" if options else "")


def run(host: str = "127.0.0.1", port: int = 8000, driver: str | None = None) -> None:
    """Serve the demo until interrupted."""
    app = build(driver)
    choice = app.manager.choice
    try:
        server = make_dev_server(host, port, app)
    except OSError as exc:
        raise DemoAddressError(_address_problem(host, port, exc)) from exc
    print(f"hostsessions demo: http://{host}:{server.server_address[1]}/", flush=True)
    print(f"driver: {_describe(app)} ({choice.reason})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _address_problem(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is already in use (another demo or server?); "
            f"run it on another port: hostsessions demo --port {port + 1} (or --port 0 for any)"
        )
    if error.errno == errno.EACCES:
        return f"no permission to listen on {host}:{port}; use a port above 1023 (--port 8000)"
    return f"cannot listen on {host}:{port}: {error.strerror or error}"

"""The hostsessions app that shares sessions with the Astro site of tests/astro/site.

Its routes mirror the site's (src/pages/astro/*.js) under /py/, and describe values in the
same JSON vocabulary (src/lib/values.mjs), so a test compares both sides with one table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hostsessions import URL, AsyncSession, CookieOptions, SessionConfig
from hostsessions.asgi import SessionMiddleware
from hostsessions.codec import UNDEFINED, JSBigInt, JSMap, JSOpaque

COOKIE_NAME = "astro-session"  # Astro's default, shared by both sides
MAX_SAFE_INTEGER = 2**53 - 1


def typed_values() -> dict[str, Any]:
    """The Python values of src/lib/values.mjs's typedValues(), key for key."""
    return {
        "date": datetime(2026, 11, 30, 6, 0, 0, 123000, tzinfo=UTC),
        "map": JSMap({"a": 1, 2: "b"}),
        "set": {"x", 3},
        "url": URL("https://astro.example/path?q=1"),
        "bigint": 12345678901234567890,
        "smallBigint": JSBigInt(5),
        "bytes": b"\x00\x01\xfe\xff",
        "nested": {"cart": [{"sku": "a", "qty": 2, "note": UNDEFINED}], "tags": {"t"}},
        "undef": UNDEFINED,
        "nul": None,
        "text": "héllo <b>",
        "float": 1.5,
        "flag": True,
    }


def describe(value: Any) -> dict[str, Any]:
    """``value``'s description in the site's vocabulary, from its exact Python type."""
    kind = type(value)
    if value is UNDEFINED:
        return {"t": "undefined"}
    if value is None:
        return {"t": "null"}
    if kind is bool:
        return {"t": "boolean", "v": value}
    if kind is JSBigInt or (kind is int and abs(value) > MAX_SAFE_INTEGER):
        return {"t": "bigint", "v": str(value)}
    if kind in (int, float):
        return {"t": "number", "v": value}
    if kind is str:
        return {"t": "string", "v": value}
    if kind is datetime:
        moment = value.astimezone(UTC).isoformat(timespec="milliseconds")
        return {"t": "Date", "v": moment.replace("+00:00", "Z")}
    if kind is URL:
        return {"t": "URL", "v": value.href}
    if kind is bytes:
        return {"t": "Uint8Array", "v": list(value)}
    if kind is JSMap:
        return {"t": "Map", "v": [[describe(k), describe(v)] for k, v in value.items()]}
    if kind in (set, frozenset):
        return {"t": "Set", "v": [describe(member) for member in value]}
    if kind in (list, tuple):
        return {"t": "Array", "v": [describe(item) for item in value]}
    if kind is dict:
        return {"t": "object", "v": {k: describe(v) for k, v in value.items()}}
    if kind is JSOpaque:
        return {"t": f"opaque {value.tag}"}
    return {"t": f"unexpected {kind.__qualname__}"}


def _session(request: Request) -> AsyncSession:
    session: AsyncSession = request.scope["session"]
    return session


def _ttl(request: Request) -> float | None:
    ttl = request.query_params.get("ttl")
    return None if ttl is None else float(ttl)


async def set_typed(request: Request) -> JSONResponse:
    session = _session(request)
    for key, value in typed_values().items():
        session.set(key, value, ttl=_ttl(request))
    return JSONResponse({"ok": True})


async def set_one(request: Request) -> JSONResponse:
    _session(request).set(
        request.query_params["key"], json.loads(await request.body()), ttl=_ttl(request)
    )
    return JSONResponse({"ok": True})


async def describe_session(request: Request) -> JSONResponse:
    items = await _session(request).items()
    return JSONResponse({"keys": {key: describe(value) for key, value in items}})


async def update(request: Request) -> JSONResponse:
    """A read-modify-write: read every key, then add 1 to one of them, atomically."""
    session = _session(request)
    before = {key: describe(value) for key, value in await session.items()}
    await session.update(request.query_params["key"], lambda count: (count or 0) + 1)
    return JSONResponse({"before": before})


async def regenerate(request: Request) -> JSONResponse:
    await _session(request).regenerate()
    return JSONResponse({"ok": True})


async def destroy(request: Request) -> JSONResponse:
    _session(request).destroy()
    return JSONResponse({"ok": True})


def make_app(driver: Any) -> SessionMiddleware:
    """The app on ``driver``, under Astro's cookie name."""
    routes = [
        Route("/py/set-typed", set_typed, methods=["POST"]),
        Route("/py/set", set_one, methods=["POST"]),
        Route("/py/describe", describe_session),
        Route("/py/update", update, methods=["POST"]),
        Route("/py/regenerate", regenerate, methods=["POST"]),
        Route("/py/destroy", destroy, methods=["POST"]),
    ]
    config = SessionConfig(driver=driver, cookie=CookieOptions(name=COOKIE_NAME))
    return SessionMiddleware(Starlette(routes=routes), config)

"""An AsyncSession read used without ``await`` fails at that line, saying to await it,
with no "coroutine was never awaited" warning left behind. (That awaited calls are typed
and unawaited uses rejected by mypy and pyright: tests/test_typing.py on
tests/typing/async_session_sample.py.)"""

from __future__ import annotations

import asyncio
import gc
import operator
import warnings
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from hostsessions import AsyncSession, SessionConfig
from hostsessions.asgi import SessionMiddleware
from hostsessions.drivers import memory
from hostsessions.state import SessionState
from hostsessions.storage import async_store

MISUSES: list[tuple[str, Callable[[Any], Any]]] = [
    ("truth value", bool),
    ("if", lambda pending: 1 if pending else 0),
    ("not", operator.not_),
    ("==", lambda pending: pending == "ada"),
    ("!=", lambda pending: pending != "ada"),
    ("<", lambda pending: pending < 3),
    ("in", lambda pending: "ada" in pending),
    ("iter", lambda pending: list(pending)),
    ("for", lambda pending: [x for x in pending]),
    ("len", len),
    ("index", lambda pending: pending[0]),
    ("key", lambda pending: pending["name"]),
    ("+", lambda pending: pending + 1),
    ("f-string", lambda pending: f"{pending}"),
]


def new_session() -> AsyncSession:
    store = async_store(memory())
    return AsyncSession(SessionState(None), lambda: store)


@pytest.mark.parametrize(("use", "misuse"), MISUSES, ids=[name for name, _ in MISUSES])
@pytest.mark.parametrize("method", ["get", "has", "keys", "values", "items", "update", "load"])
def test_unawaited_result_used_as_a_value_raises_type_error(
    method: str, use: str, misuse: Callable[[Any], Any]
) -> None:
    session = new_session()
    call = {
        "get": lambda: session.get("user"),
        "has": lambda: session.has("user"),
        "keys": session.keys,
        "values": session.values,
        "items": session.items,
        "update": lambda: session.update("n", lambda n: n + 1, default=0),
        "load": lambda: session.load("x" * 43),
    }[method]
    gc.collect()  # earlier tests' garbage is theirs: only this call's objects are judged
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # e.g. "was never awaited"
        with pytest.raises(TypeError, match=rf"session\.{method}\(.*\) returns an awaitable"):
            misuse(call())
        gc.collect()


def test_message_says_how_to_fix_it() -> None:
    with pytest.raises(TypeError) as caught:
        bool(new_session().get("user"))
    message = str(caught.value)
    assert "session.get('user')" in message
    assert "await session.get(...)" in message
    assert "dict-style session" in message


def test_attribute_of_an_unawaited_result_says_to_await() -> None:
    with pytest.raises(AttributeError, match=r"\(await session\.get\(\.\.\.\)\)\.name"):
        new_session().get("user").name  # noqa: B018


def test_awaited_calls_work_and_gather() -> None:
    async def main() -> tuple[Any, ...]:
        session = new_session()
        session.set("user", "ada")
        assert await session.update("n", lambda n: n + 1, default=0) == 1
        return tuple(
            await asyncio.gather(session.get("user"), session.has("n"), session.keys())
        )

    assert asyncio.run(main()) == ("ada", True, ["user", "n"])


def test_awaiting_twice_is_an_error() -> None:
    async def main() -> None:
        pending = new_session().get("user")
        await pending
        with pytest.raises(RuntimeError, match="already awaited"):
            await pending

    asyncio.run(main())


def test_an_unawaited_read_leaves_no_warning() -> None:
    gc.collect()  # earlier tests' garbage is theirs: only this call's objects are judged
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        new_session().get("user")
        gc.collect()


def test_an_unawaited_change_warns_that_it_did_not_happen() -> None:
    session = new_session()
    with pytest.warns(RuntimeWarning, match=r"session\.update\('n'\) was never awaited"):
        session.update("n", lambda n: n + 1, default=0)  # dropped at once: warns here


def test_code_moved_from_a_dict_session_fails_at_the_line_not_silently() -> None:
    async def who(request: Request) -> PlainTextResponse:
        if request.session.get("user"):
            return PlainTextResponse("logged in")
        return PlainTextResponse("anonymous")

    app = Starlette(routes=[Route("/who", who)])
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver="memory"))
    with TestClient(app) as client, pytest.raises(TypeError, match="await"):
        client.get("/who")

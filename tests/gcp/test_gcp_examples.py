"""The examples, run the way Google Cloud runs them, in-process, against the emulator.

Only the platform's own variables are set (and the emulator's address), so the sessions
land in Firestore through zero-config detection, not through any setting in the examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from hostsessions.state import GONE_KEY
from hostsessions.testing.server import serve_asgi

from ..helpers import load_module
from .conftest import CLOUD_RUN_FUNCTION

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _stored_sessions(raw_client: Any) -> dict[str, str]:
    return {doc.id: doc.get("payload") for doc in raw_client.collection("hostsessions").stream()}


def _live_sessions(raw_client: Any) -> dict[str, str]:
    """The stored sessions, less the tombstones destroy() leaves for a minute
    (docs/concurrency.md): those hold no data."""
    return {
        key: payload
        for key, payload in _stored_sessions(raw_client).items()
        if GONE_KEY not in payload
    }


def test_cloud_run_service_keeps_the_cart_in_firestore(on_cloud_run: str, raw_client: Any) -> None:
    app = load_module(EXAMPLES / "gcp_cloud_run" / "main.py", "gcp_cloud_run_example").app
    with serve_asgi(app) as url, httpx.Client(base_url=url) as browser:
        first = browser.post("/cart/book")
        assert first.json() == {"cart": ["book"]}
        session_id = browser.cookies["hostsessions"]

        second = browser.post("/cart/pen")  # the client sends the cookie back
        assert second.json() == {"cart": ["book", "pen"]}
        assert browser.get("/").json() == {"cart": ["book", "pen"]}

        stored = _stored_sessions(raw_client)
        assert list(stored) == [session_id]
        assert "pen" in stored[session_id]

        browser.post("/checkout")
        assert _live_sessions(raw_client) == {}


def test_cloud_run_function_counts_visits_in_firestore(
    firestore_project: str, clean_host_environment: pytest.MonkeyPatch, raw_client: Any
) -> None:
    from functions_framework import create_app

    for name, value in CLOUD_RUN_FUNCTION.items():
        clean_host_environment.setenv(name, value)
    app = create_app("handler", str(EXAMPLES / "gcp_function" / "main.py"))  # type: ignore[no-untyped-call]
    browser = app.test_client()

    first = browser.get("/")
    assert first.json == {"visits": 1}
    cookie = browser.get_cookie("hostsessions")
    assert cookie is not None
    assert cookie.secure is False  # plain http to localhost; Secure everywhere else
    assert browser.get("/").json == {"visits": 2}  # the test client sends the cookie back

    stored = _stored_sessions(raw_client)
    assert list(stored) == [cookie.value]

    assert browser.get("/logout").json == {"visits": 0}
    assert _live_sessions(raw_client) == {}
    assert browser.get_cookie("hostsessions") is None  # the cookie was expired


def test_a_function_without_the_decorator_is_told_how_to_get_a_session(
    firestore_project: str,
) -> None:
    import flask
    from hostsessions_gcp.functions import session_of

    with (
        flask.Flask(__name__).test_request_context("/"),
        pytest.raises(RuntimeError, match="with_session"),
    ):
        session_of(flask.request)

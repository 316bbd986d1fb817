"""The adapter's pytest plugin, used as a user's test suite would: its session-config
fixture gives a working store, with nothing else set up."""

from __future__ import annotations

from typing import Any

import httpx

from hostsessions import SessionConfig
from hostsessions.testing.server import serve_wsgi
from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware


def visits(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    count = environ[ENVIRON_KEY].update("visits", lambda n: (n or 0) + 1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(count).encode()]


def test_the_session_config_fixture_keeps_a_visitors_session(
    azure_tables_session_config: SessionConfig,
) -> None:
    app = SessionMiddleware(visits, azure_tables_session_config)
    with serve_wsgi(app) as url, httpx.Client(base_url=url) as client:
        assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
        assert httpx.get(url).text == "1", "a new visitor starts a session of their own"

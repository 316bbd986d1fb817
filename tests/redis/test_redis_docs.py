"""docs/redis.md's app runs as written: with REDIS_URL set, its visits land in that Redis,
under the bare session ID, as the page says."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hostsessions.testing.redis_server import RedisServer
from hostsessions.testing.server import serve_asgi
from tests.helpers import load_module

PAGE = Path(__file__).resolve().parents[2] / "docs" / "redis.md"
MARKER = re.compile(r"^<!-- test -->\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_the_redis_page_app_counts_visits_in_the_redis_that_redis_url_names(
    redis_server: RedisServer, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = MARKER.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) == 1, "docs/redis.md has one runnable example"
    source = tmp_path / "redis_page_app.py"
    source.write_text(blocks[0], encoding="utf-8")
    monkeypatch.delenv("HOSTSESSIONS_REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    module = load_module(source, "redis_page_app")
    with serve_asgi(module.app) as url, httpx.Client(base_url=url) as client:
        assert client.get("/").text == "visit number 1"
        assert client.get("/").text == "visit number 2"
        session_id = client.cookies["hostsessions"]
    assert redis_server.cli("keys", "*").split() == [session_id]
    assert 3500 < int(redis_server.cli("ttl", session_id)) <= 3600, "ttl=3600 became the expiry"

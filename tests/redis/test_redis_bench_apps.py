"""The Redis peer-benchmark apps of hostsessions (benchmarks/peers/redis_bench.py) answer as
the shared harness expects, on a real redis-server."""

from __future__ import annotations

import importlib
import sys

import pytest

from hostsessions.testing.redis_server import RedisServer

from ..helpers import PEER_BENCH_APPS, check_peer_bench_app


@pytest.mark.parametrize(
    ("factory", "family"), [("make_hs_redis_asgi", "asgi"), ("make_hs_redis_wsgi", "wsgi")]
)
def test_a_redis_bench_app_counts_up_with_one_read_and_one_write_per_b(
    factory: str,
    family: str,
    redis_server: RedisServer,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(PEER_BENCH_APPS))
    monkeypatch.setenv("PEERBENCH_REDIS_URL", redis_server.url)
    for name in ("hostsessions_bench", "redis_bench"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    module = importlib.import_module("redis_bench")
    check_peer_bench_app(getattr(module, factory)(), family)

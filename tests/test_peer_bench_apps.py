"""The peer benchmark's hostsessions apps (benchmarks/peers/hostsessions_bench.py) answer
as the shared harness expects, on the memory and filesystem stores, ASGI and WSGI."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from .helpers import PEER_BENCH_APPS, check_peer_bench_app

FACTORIES = [
    ("make_asgi_app", "asgi"),
    ("make_asgi_fs_app", "asgi"),
    ("make_asgi_dict_app", "asgi"),
    ("make_wsgi_app", "wsgi"),
    ("make_wsgi_fs_app", "wsgi"),
]


@pytest.mark.parametrize(("factory", "family"), FACTORIES)
def test_a_peer_bench_app_counts_up_with_one_read_and_one_write_per_b(
    factory: str, family: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(PEER_BENCH_APPS))
    monkeypatch.setenv("PEERBENCH_STATE", str(tmp_path))
    monkeypatch.delitem(sys.modules, "hostsessions_bench", raising=False)
    module = importlib.import_module("hostsessions_bench")
    check_peer_bench_app(getattr(module, factory)(), family)

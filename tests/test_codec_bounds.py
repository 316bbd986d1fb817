"""codec.parse is bounded by its input: hostile records cost a clear error, not a stalled or
swollen worker. Records come from stores other code may write (an Astro site on the same
store, an operator's tool), so these are inputs a server really meets.

Time is asserted only as a generous ceiling (seconds, where the unbounded decoder needs
hours); memory is measured with tracemalloc against a bound proportional to the input."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from hostsessions import SessionConfig, SessionSerializationError, drivers
from hostsessions.codec import (
    KEY_ELEMENTS_PER_CHAR,
    SPARSE_SLOTS_PER_CHAR,
    UNDEFINED,
    parse,
    stringify,
)
from hostsessions.testing.server import (
    concurrency_asgi_app,
    concurrency_wsgi_app,
    serve_asgi,
    serve_wsgi,
)

# Whatever the input, parse must finish well within this; a stalled worker never does.
CEILING_SECONDS = 2.0


def _compact(values: list[Any]) -> str:
    return json.dumps(values, separators=(",", ":"))


def shared_array_chain(levels: int, container: str) -> str:
    """A Set member (or Map key) that is an array of two references to an array of two
    references to ... : ``levels`` levels, each doubling what Python must hash."""
    head: list[Any] = ["Set", 1] if container == "Set" else ["Map", 1, levels + 1]
    values: list[Any] = [head]
    values += [[level + 1, level + 1] for level in range(1, levels + 1)]
    values.append(0)
    return _compact(values)


def many_sparse_arrays(count: int, length: int) -> str:
    return _compact([list(range(1, count + 1)), *([[-7, length]] * count)])


def _measure(text: str) -> tuple[float, int, BaseException | None]:
    """(seconds, peak bytes allocated, the error raised or None)."""
    tracemalloc.start()
    started = time.perf_counter()
    error: BaseException | None = None
    try:
        parse(text)
    except SessionSerializationError as exc:
        error = exc
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return elapsed, peak, error


@pytest.mark.parametrize("container", ["Set", "Map"])
@pytest.mark.parametrize("levels", [24, 40, 200])
def test_shared_arrays_in_a_set_member_or_map_key_are_refused_quickly(
    container: str, levels: int
) -> None:
    text = shared_array_chain(levels, container)
    elapsed, peak, error = _measure(text)
    assert isinstance(error, SessionSerializationError)
    assert "Map keys and Set members" in str(error)
    assert elapsed < CEILING_SECONDS
    assert peak < 64 * 1024 + 2_000 * len(text)


def test_sparse_arrays_are_capped_in_total_not_one_by_one() -> None:
    # 123 characters used to allocate 67 million slots (+481 MB).
    text = many_sparse_arrays(8, 8_000_000)
    assert len(text) < 130
    elapsed, peak, error = _measure(text)
    assert isinstance(error, SessionSerializationError)
    assert "sparse arrays declare more slots in total" in str(error)
    assert peak < 1024 * 1024  # the cap is checked before any allocation
    assert elapsed < CEILING_SECONDS


def test_sparse_arrays_within_the_total_decode() -> None:
    text = many_sparse_arrays(4, 1000)
    assert parse(text) == [[UNDEFINED] * 1000] * 4  # holes read as what JS reads there


def test_allowed_sparse_slots_grow_with_the_input() -> None:
    # One sparse array as long as the allowance plus what its own characters pay for.
    padding = "x" * 10_000
    allowed = 65_536 + SPARSE_SLOTS_PER_CHAR * 10_000
    fits = _compact([[1, 2], padding, [-7, allowed]])
    assert len(parse(fits)[1]) == allowed
    over = _compact([[1, 2], padding, [-7, allowed + 1_000]])
    with pytest.raises(SessionSerializationError, match="sparse arrays"):
        parse(over)


def test_ordinary_keys_and_members_are_never_near_the_key_budget() -> None:
    value = {frozenset({(1, 2), (3, (4, 5))}): "a", (1, (2, (3, (4,)))): "b"}
    members = {tuple(range(i, i + 20)) for i in range(500)}
    assert parse(stringify(value)) == value
    assert parse(stringify(members)) == members
    assert KEY_ELEMENTS_PER_CHAR >= 1


@pytest.mark.parametrize("levels", [10, 14])
def test_key_cost_stays_linear_in_the_input(levels: int) -> None:
    # Within the budget, sharing is decoded and keeps its meaning (equal tuples).
    text = shared_array_chain(levels, "Set")
    (member,) = parse(text)
    assert isinstance(member, tuple)
    assert member[0] == member[1]


# ---- through a real server: a hostile record costs one request a fresh session --------


def _routes_config(tmp_path: Path) -> tuple[SessionConfig, Any]:
    driver = drivers.fs(base=tmp_path / "sessions")
    return SessionConfig(driver=driver), driver


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_a_hostile_record_gives_a_fresh_session_and_stalls_no_one(
    tmp_path: Path, interface: str
) -> None:
    config, driver = _routes_config(tmp_path)
    app = concurrency_asgi_app(config) if interface == "asgi" else concurrency_wsgi_app(config)
    serve = serve_asgi if interface == "asgi" else serve_wsgi
    with serve(app) as url:
        opened = httpx.get(f"{url}/set/opened")
        session_id = opened.cookies["hostsessions"]
        hostile = shared_array_chain(60, "Map")  # about 500 characters
        record = driver.read(session_id)
        assert record is not None
        driver.write(session_id, hostile, expires_at=None, expected_version=record.version)

        started = time.perf_counter()
        dumped = httpx.get(f"{url}/dump", headers={"cookie": f"hostsessions={session_id}"})
        plain = httpx.get(f"{url}/dump")  # a request without a session, on the same worker
        elapsed = time.perf_counter() - started
    assert dumped.status_code == 200
    assert dumped.json()["items"] == {}
    assert plain.status_code == 200
    assert elapsed < 2 * CEILING_SECONDS
    assert driver.read(session_id) is None, "the undecodable record is removed"

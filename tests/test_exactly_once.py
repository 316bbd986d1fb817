"""An update is applied exactly once even when a write's reply is lost: the store applied
the write, the client retried it, the retry failed its condition. The core's write token,
stored with the record, tells its own write from another request's. And a conflict that
carries the current record costs one write to retry, not a read and a write.

The drivers here are the memory driver with a fault put in its write, step by step; the
same faults through a TCP proxy and the cloud emulators are in tests/test_lost_replies.py."""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections import Counter
from typing import Any

import pytest

from hostsessions import AsyncSession, Session
from hostsessions.drivers import MemoryDriver, Record, WriteConflict
from hostsessions.errors import SessionGoneError
from hostsessions.state import TOKEN_HISTORY, SessionState
from hostsessions.storage import async_store, sync_store


class LostReplies(MemoryDriver):
    """Applies each of the next ``lose`` writes, then loses the reply: the client resends it
    and the resend fails its condition, as an SDK's retry after a timeout does.
    ``others`` writes of another request land between the write and the resend.
    ``returns_current``: the conflict carries the record (as DynamoDB's ALL_OLD does)."""

    def __init__(self, *, lose: int = 1, others: int = 0, returns_current: bool = True) -> None:
        super().__init__()
        self.lose = lose
        self.others = others
        self.returns_current = returns_current
        self.calls: Counter[str] = Counter()

    def read(self, key: str) -> Record | None:
        self.calls["read"] += 1
        return super().read(key)

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        self.calls["write"] += 1
        version = super().write(
            key, payload, expires_at=expires_at, expected_version=expected_version, token=token
        )
        if self.lose <= 0:
            return version
        self.lose -= 1
        for _ in range(self.others):
            self._another_request_increments(key)
        current = MemoryDriver.read(self, key)  # the store's record, not counted as a read
        if self.returns_current:
            raise WriteConflict(key, expected_version, current=current)
        raise WriteConflict(key, expected_version)

    def _another_request_increments(self, key: str) -> None:
        other = Session(SessionState(key), lambda: sync_store(_Plain(self)))
        other.update("n", lambda n: n + 1, default=0)


class _Plain:
    """The same records without the fault (another request's view of the store)."""

    blocking = False

    def __init__(self, inner: MemoryDriver) -> None:
        self.read = lambda key: MemoryDriver.read(inner, key)
        self.write = lambda *a, **k: MemoryDriver.write(inner, *a, **k)
        self.delete = inner.delete


class Tokenless(LostReplies):
    """A store whose versions derive from the value and that keeps no side field."""

    def write(  # type: ignore[override]
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        return super().write(key, payload, expires_at=expires_at, expected_version=expected_version)


def _stored_session(driver: MemoryDriver, **values: Any) -> str:
    session = Session(SessionState(None), lambda: sync_store(_Plain(driver)))
    for key, value in values.items():
        session.set(key, value)
    session.save()
    assert session.id is not None
    return session.id


def _n(driver: MemoryDriver, session_id: str) -> Any:
    return Session(SessionState(session_id), lambda: sync_store(_Plain(driver))).get("n")


@pytest.mark.parametrize("returns_current", [True, False], ids=["conflict-with-record", "read"])
def test_an_update_whose_reply_was_lost_is_applied_once(returns_current: bool) -> None:
    driver = LostReplies(returns_current=returns_current)
    session_id = _stored_session(driver, n=41)
    session = Session(SessionState(session_id), lambda: sync_store(driver))
    assert session.update("n", lambda n: n + 1) == 42
    assert _n(driver, session_id) == 42


def test_an_update_is_applied_once_when_others_wrote_on_top_of_it() -> None:
    driver = LostReplies(others=TOKEN_HISTORY - 1, returns_current=False)
    session_id = _stored_session(driver, n=0)
    session = Session(SessionState(session_id), lambda: sync_store(driver))
    session.update("n", lambda n: n + 1)
    assert _n(driver, session_id) == TOKEN_HISTORY, "one increment each, none twice"


def test_a_new_session_whose_reply_was_lost_is_created_once() -> None:
    driver = LostReplies()
    session = Session(SessionState(None), lambda: sync_store(driver))
    assert session.update("n", lambda n: n + 1, default=0) == 1
    assert _n(driver, session.id) == 1  # type: ignore[arg-type]
    assert len(driver) == 1


def test_the_async_shell_applies_a_lost_reply_update_once() -> None:
    driver = LostReplies()
    session_id = _stored_session(driver, n=1)

    async def scenario() -> Any:
        store = async_store(driver)
        session = AsyncSession(SessionState(session_id), lambda: store)
        return await session.update("n", lambda n: n * 10)

    assert asyncio.run(scenario()) == 10
    assert _n(driver, session_id) == 10


def test_a_driver_without_tokens_still_counts_its_own_set_once() -> None:
    driver = Tokenless()
    session_id = _stored_session(driver, n=1)
    session = Session(SessionState(session_id), lambda: sync_store(driver))
    session.set("seen", True)
    session.save()
    assert driver.calls["write"] == 1, "the same bytes stored: its own write, not retried"


def test_a_driver_without_tokens_never_loses_another_requests_increment() -> None:
    # Without a token, a twin payload written by another request cannot be told from its
    # own, so an update is replayed: never a lost increment (at worst a repeated one).
    driver = Tokenless(others=1)
    session_id = _stored_session(driver, n=0)
    session = Session(SessionState(session_id), lambda: sync_store(driver))
    session.update("n", lambda n: n + 1)
    assert _n(driver, session_id) >= 2


def test_a_conflict_that_carries_the_record_costs_one_write_per_retry() -> None:
    driver = LostReplies(lose=0)
    session_id = _stored_session(driver, n=0)
    first = Session(SessionState(session_id), lambda: sync_store(driver))
    second = Session(SessionState(session_id), lambda: sync_store(driver))
    first.get("n")
    second.get("n")
    first.update("n", lambda n: n + 1)
    driver.calls.clear()
    assert second.update("n", lambda n: n + 1) == 2
    assert driver.calls == {"write": 2}, "the conflict, then one write: no read"


def test_a_conflict_without_the_record_costs_a_read_and_a_write() -> None:
    class Silent(LostReplies):
        def write(self, key: str, payload: str, **kwargs: Any) -> str:
            try:
                return MemoryDriver.write(self, key, payload, **kwargs)
            except WriteConflict as conflict:
                raise WriteConflict(key, conflict.expected_version) from None
            finally:
                self.calls["write"] += 1

    driver = Silent(lose=0)
    session_id = _stored_session(driver, n=0)
    first = Session(SessionState(session_id), lambda: sync_store(driver))
    second = Session(SessionState(session_id), lambda: sync_store(driver))
    first.get("n")
    second.get("n")
    first.update("n", lambda n: n + 1)
    driver.calls.clear()
    second.update("n", lambda n: n + 1)
    assert driver.calls == {"write": 2, "read": 1}


def test_the_stored_token_history_keeps_the_newest_writes_and_no_more() -> None:
    driver = MemoryDriver()
    session = Session(SessionState(None), lambda: sync_store(driver))
    session.set("n", 0)
    session.save()
    session_id = session.id
    assert session_id is not None
    chains = []
    for n in range(1, 3 * TOKEN_HISTORY):
        request = Session(SessionState(session_id), lambda: sync_store(driver))
        request.set("n", n)
        request.save()
        record = driver.read(session_id)
        assert record is not None
        assert record.token is not None
        chains.append(record.token.split(" "))
    for previous, chain in itertools.pairwise(chains):
        assert len(chain) == min(len(previous) + 1, TOKEN_HISTORY)
        assert chain[1:] == previous[: TOKEN_HISTORY - 1], "newest first, oldest dropped"
        assert len(set(chain)) == len(chain)
    assert len(chains[-1]) == TOKEN_HISTORY


# A plain save makes its one write without a program (SessionState.save_at_once): the async
# shell for a store that answers at once (the memory driver), the sync shell for every
# store (a sync store has answered when its call returns). A conflict hands the save to the
# program at that point. The same outcomes, and the same store calls, as the program's.

SHELLS = ["async", "sync"]


class _Request:
    """One request's session through either shell, driven call by call."""

    def __init__(self, shell: str, driver: MemoryDriver, session_id: str) -> None:
        if shell == "sync":
            self.session: Session | AsyncSession = Session(
                SessionState(session_id), lambda: sync_store(driver)
            )
        else:
            store = async_store(driver)
            assert store.immediate is not None, "the direct path is the one under test"
            self.session = AsyncSession(SessionState(session_id), lambda: store)

    def get(self, key: str) -> Any:
        return _settle(self.session.get(key))

    def set(self, key: str, value: Any) -> None:
        self.session.set(key, value)

    def destroy(self) -> None:
        self.session.destroy()

    def save(self) -> None:
        _settle(self.session.save())

    @property
    def dirty(self) -> bool:
        return self.session.state.dirty


def _settle(result: Any) -> Any:
    """An async session's awaitable, awaited (a sync session's result as it is)."""
    if not inspect.isawaitable(result):
        return result

    async def wait() -> Any:
        return await result

    return asyncio.run(wait())


def _set_and_save(shell: str, driver: MemoryDriver, session_id: str, **values: Any) -> None:
    request = _Request(shell, driver, session_id)
    request.get("n")
    for key, value in values.items():
        request.set(key, value)
    request.save()


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("returns_current", [True, False], ids=["conflict-with-record", "read"])
def test_a_save_made_at_once_whose_reply_was_lost_is_written_once(
    shell: str, returns_current: bool
) -> None:
    driver = LostReplies(returns_current=returns_current)
    session_id = _stored_session(driver, n=41)
    _set_and_save(shell, driver, session_id, n=42)
    assert _n(driver, session_id) == 42
    assert driver.calls["write"] == 1, "its own write, found by its token: not written again"


@pytest.mark.parametrize("shell", SHELLS)
def test_a_save_made_at_once_whose_reply_was_lost_under_others_writes_keeps_theirs(
    shell: str,
) -> None:
    driver = LostReplies(others=TOKEN_HISTORY - 1, returns_current=False)
    session_id = _stored_session(driver, n=0)
    _set_and_save(shell, driver, session_id, seen=True)
    state = Session(SessionState(session_id), lambda: sync_store(_Plain(driver)))
    assert state.get("seen") is True
    assert state.get("n") == TOKEN_HISTORY - 1, "the other requests' increments stay"
    assert driver.calls["write"] == 1


@pytest.mark.parametrize("shell", SHELLS)
def test_a_save_made_at_once_that_meets_a_newer_record_replays_on_it_in_one_more_write(
    shell: str,
) -> None:
    driver = LostReplies(lose=0)
    session_id = _stored_session(driver, n=0, a=1)
    first = _Request(shell, driver, session_id)
    second = _Request(shell, driver, session_id)
    first.get("n")
    second.get("n")
    first.set("a", 2)
    first.save()
    driver.calls.clear()
    second.set("b", 3)
    second.save()
    assert driver.calls == {"write": 2}, "the conflict, then one write: no read"
    session = Session(SessionState(session_id), lambda: sync_store(_Plain(driver)))
    assert (session.get("a"), session.get("b"), session.get("n")) == (2, 3, 0)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_save_made_at_once_after_another_request_destroyed_the_session_raises_gone(
    shell: str,
) -> None:
    driver = MemoryDriver()
    session_id = _stored_session(driver, n=1)
    late = _Request(shell, driver, session_id)
    assert late.get("n") == 1
    ender = _Request(shell, driver, session_id)
    ender.destroy()
    ender.save()
    late.set("n", 2)
    with pytest.raises(SessionGoneError):
        late.save()
    assert not late.dirty, "the changes it could not write are dropped"
    assert Session(SessionState(session_id), lambda: sync_store(driver)).get("n") is None

"""The session's programs stepped by hand: no store, no thread, no event loop.

Each test plays the store: it reads the step a program yields, answers it with
``send`` (a Record, a version) or ``throw`` (a WriteConflict), and checks what the
program asks next and what it returns, the way h11's tests feed its state machine.
"""

from __future__ import annotations

from typing import Any

import pytest

from hostsessions.drivers import Record, WriteConflict
from hostsessions.ids import new_session_id
from hostsessions.state import (
    BACKOFF_CAP,
    Delete,
    Program,
    Read,
    SessionState,
    Sleep,
    Step,
    Write,
    decode_entries,
)


def first_step(program: Program[Any]) -> Step:
    return next(program)


def finish(program: Program[Any], answer: object = None) -> Any:
    """Send ``answer`` to the step the program waits on; return what the program returns."""
    with pytest.raises(StopIteration) as done:
        program.send(answer)
    return done.value.value


def returns_at_once(program: Program[Any]) -> Any:
    with pytest.raises(StopIteration) as done:
        next(program)
    return done.value.value


def stored(values: dict[str, Any]) -> str:
    """A payload holding ``values``, made the way a request's save makes it."""
    state = SessionState(None)
    for key, value in values.items():
        state.set(key, value, None)
    save = state.save()
    write = first_step(save)
    assert isinstance(write, Write)
    finish(save, "v0")
    return write.payload


def test_get_without_a_cookie_needs_no_step() -> None:
    state = SessionState(None)
    assert returns_at_once(state.get("cart", "empty")) == "empty"


def test_get_with_a_cookie_reads_the_record_once_then_answers_from_memory() -> None:
    session_id = new_session_id()
    state = SessionState(session_id)
    get = state.get("n", None)
    assert first_step(get) == Read(session_id)
    assert finish(get, Record(stored({"n": 1}), "v1")) == 1
    assert returns_at_once(state.get("n", None)) == 1, "a second get asks the store nothing"
    assert state.id == session_id


def test_an_id_the_store_does_not_know_is_not_adopted() -> None:
    unknown = new_session_id()
    state = SessionState(unknown)
    get = state.get("n", "default")
    assert first_step(get) == Read(unknown)
    assert finish(get, None) == "default"
    assert state.id is None
    assert state.cookie_action() == ("expire", None)


def test_saving_a_new_session_creates_its_record() -> None:
    state = SessionState(None)
    state.set("cart", ["apple"], None)
    save = state.save()
    write = first_step(save)
    assert isinstance(write, Write)
    assert write.expected_version is None, "a new record must not exist yet"
    assert write.key == state.id
    entries = decode_entries(write.payload)
    assert entries is not None
    assert entries["cart"].value == ["apple"]
    finish(save, "v1")
    assert state.cookie_action() == ("set", state.id)
    assert not state.dirty


def test_nothing_changed_means_no_step_at_all() -> None:
    state = SessionState(new_session_id())
    assert returns_at_once(state.save()) is None


def test_a_write_conflict_backs_off_rereads_and_replays_on_the_fresh_record() -> None:
    session_id = new_session_id()
    state = SessionState(session_id)
    get = state.get("a", None)
    first_step(get)
    finish(get, Record(stored({"a": 1}), "v1"))
    state.set("b", 2, None)

    save = state.save()
    write = first_step(save)
    assert isinstance(write, Write)
    assert write.expected_version == "v1"

    pause = save.throw(WriteConflict(session_id, "v1"))
    assert isinstance(pause, Sleep)
    assert 0 <= pause.seconds <= BACKOFF_CAP
    assert save.send(None) == Read(session_id), "after the pause it reads the record again"

    retry = save.send(Record(stored({"a": 1, "c": 3}), "v2"))
    assert isinstance(retry, Write)
    assert retry.expected_version == "v2", "the retry is conditional on the fresh version"
    entries = decode_entries(retry.payload)
    assert entries is not None
    assert {key: slot.value for key, slot in entries.items()} == {"a": 1, "b": 2, "c": 3}
    finish(save, "v3")


def test_destroy_deletes_the_record_it_knew() -> None:
    session_id = new_session_id()
    state = SessionState(session_id)
    get = state.get("a", None)
    first_step(get)
    finish(get, Record(stored({"a": 1}), "v1"))
    state.destroy()
    steps: list[Step] = []
    save = state.save()
    step: Step | None = first_step(save)
    while step is not None:
        steps.append(step)
        try:
            step = save.send(None)
        except StopIteration:
            step = None
    assert any(
        isinstance(s, Delete | Write) and s.key == session_id for s in steps
    ), f"destroy must remove (or retire) the record; the program asked for {steps}"
    assert state.cookie_action() == ("expire", None)


def test_the_shared_empty_entries_stay_empty_whatever_requests_do() -> None:
    # A state that has read nothing shares one empty dict for its stored entries: any code
    # path that changed it in place would leak keys into every new session.
    from hostsessions import Session
    from hostsessions import state as state_module
    from hostsessions.drivers import MemoryDriver
    from hostsessions.storage import sync_store

    store = sync_store(MemoryDriver())

    def request(session_id: str | None) -> Session:
        return Session(SessionState(session_id, default_ttl=60), lambda: store)

    for act in (
        lambda s: s.set("a", [1]),
        lambda s: s.delete("n"),
        lambda s: s.update("n", lambda n: (n or 0) + 1),
        lambda s: s.regenerate(),
        lambda s: s.destroy(),
        lambda s: s.state.touch(None),
    ):
        stored = request(None)
        stored.set("n", 1, ttl=5)
        stored.save()
        for session in (request(None), request(stored.id)):
            act(session)
            session.save()
            assert state_module._NO_ENTRIES == {}
    assert request(None).state._base_entries is state_module._NO_ENTRIES

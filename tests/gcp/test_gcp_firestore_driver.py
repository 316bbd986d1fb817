"""What the Firestore driver promises beyond the conformance suite, checked on the emulator:
the document layout, Firestore's own size limit, IDs Firestore reserves, collections,
databases and clients a user chooses, the sweep, and cheap imports."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from datetime import datetime
from typing import Any

import pytest
from hostsessions_gcp import AsyncFirestoreDriver, FirestoreDriver, firestore, layout
from hostsessions_gcp.emulator import FirestoreEmulator

from hostsessions import SessionConfigError, SessionStorageError, SessionTooLargeError, drivers
from hostsessions.drivers import Record, WriteConflict
from hostsessions.ids import new_session_id

HOUR = 3600.0


def test_session_document_has_the_documented_layout(raw_client: Any) -> None:
    driver = firestore()
    key = new_session_id()
    expires_at = time.time() + HOUR
    version = driver.write(key, '[{"cart":1},[]]', expires_at=expires_at, expected_version=None)
    driver.write(key, '[{"cart":2},[]]', expires_at=expires_at, expected_version=version)

    snapshot = raw_client.collection("hostsessions").document(key).get()
    data = snapshot.to_dict()
    assert set(data) == {"payload", "expires", "version"}
    assert data["payload"] == '[{"cart":2},[]]'
    assert isinstance(data["expires"], datetime)  # a Timestamp: a TTL policy can use it
    assert abs(data["expires"].timestamp() - expires_at) < 0.001
    assert data["version"] == 2  # how many times the document was written


def test_session_without_expiry_stores_a_null_expires(raw_client: Any) -> None:
    key = new_session_id()
    firestore().write(key, "x", expires_at=None, expected_version=None)
    assert raw_client.collection("hostsessions").document(key).get().to_dict()["expires"] is None


def test_expired_session_reads_as_absent_while_firestore_still_holds_it(raw_client: Any) -> None:
    """A TTL policy deletes expired documents within a day or so, not at once."""
    driver = firestore()
    key = new_session_id()
    driver.write(key, "old", expires_at=time.time() - 1, expected_version=None)
    assert raw_client.collection("hostsessions").document(key).get().exists
    assert driver.read(key) is None


def test_a_session_that_expired_after_it_was_read_is_not_brought_back(raw_client: Any) -> None:
    """An expired session is absent, even for a request that read it while it was live."""
    driver = firestore()
    key = new_session_id()
    driver.write(key, "live", expires_at=time.time() + HOUR, expected_version=None)
    record = driver.read(key)
    assert record is not None

    driver.clock = lambda: time.time() + 2 * HOUR  # the session's hour has passed
    with pytest.raises(WriteConflict):
        driver.write(
            key, "late", expires_at=time.time() + 3 * HOUR, expected_version=record.version
        )
    assert raw_client.collection("hostsessions").document(key).get().get("payload") == "live"
    # Its ID is free again: a new session may take it.
    driver.write(key, "new", expires_at=None, expected_version=None)
    assert _payload(driver, key) == "new"


def test_payload_limit_is_exactly_firestores_document_limit(raw_client: Any) -> None:
    """The largest payload the driver allows is stored; one byte more Firestore refuses too."""
    from google.api_core.exceptions import InvalidArgument

    driver = firestore()
    key = new_session_id()
    expires_at = time.time() + HOUR
    limit = layout.payload_limit("hostsessions", key, expires_at)
    driver.write(key, "a" * limit, expires_at=expires_at, expected_version=None)
    assert driver.read(key) is not None

    other = new_session_id()
    fields = {"payload": "a" * (limit + 1), "expires": layout.timestamp(expires_at), "version": 1}
    with pytest.raises(InvalidArgument, match="maximum entity size"):
        raw_client.collection("hostsessions").document(other).create(fields)
    with pytest.raises(SessionTooLargeError) as error:
        driver.write(other, "a" * (limit + 1), expires_at=expires_at, expected_version=None)
    assert (error.value.size, error.value.limit) == (limit + 1, limit)


@pytest.fixture
def no_firestore(firestore_project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients point at a port of 127.0.0.1 where nothing listens."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        nowhere = f"127.0.0.1:{unused.getsockname()[1]}"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", nowhere)


@pytest.mark.usefixtures("no_firestore")
def test_oversized_session_fails_before_any_call() -> None:
    driver = firestore(timeout=1)
    with pytest.raises(SessionTooLargeError, match="Firestore"):
        driver.write(new_session_id(), "€" * 400_000, expires_at=None, expected_version=None)


@pytest.mark.usefixtures("no_firestore")
def test_unreachable_firestore_fails_with_a_storage_error_naming_the_collection() -> None:
    driver = firestore(collection="sessions", timeout=1)
    with pytest.raises(SessionStorageError, match=r"'sessions'.*could not be reached"):
        driver.read(new_session_id())


def test_session_id_of_a_shape_firestore_reserves_is_stored_escaped(raw_client: Any) -> None:
    """Firestore refuses document IDs like ``__x__``; a session ID may have that shape."""
    driver = firestore()
    reserved = "__" + new_session_id()[4:] + "__"
    tilde = "~" + reserved  # would collide with the escaped form if it were not escaped too
    driver.write(reserved, "reserved", expires_at=None, expected_version=None)
    driver.write(tilde, "tilde", expires_at=None, expected_version=None)

    assert _payload(driver, reserved) == "reserved"
    assert _payload(driver, tilde) == "tilde"
    stored = {doc.id for doc in raw_client.collection("hostsessions").stream()}
    assert stored == {"~" + reserved, "~~" + reserved}


def test_sessions_can_live_in_a_subcollection(raw_client: Any) -> None:
    driver = firestore(collection="tenants/acme/sessions")
    key = new_session_id()
    driver.write(key, "scoped", expires_at=None, expected_version=None)
    document = raw_client.document(f"tenants/acme/sessions/{key}").get()
    assert document.to_dict()["payload"] == "scoped"
    assert firestore().read(key) is None  # not in the default collection


def test_sessions_can_live_in_a_named_database(
    firestore_project: str, firestore_emulator: FirestoreEmulator
) -> None:
    from google.cloud import firestore as google_firestore

    firestore_emulator.reset(firestore_project, "sessions")
    key = new_session_id()
    firestore(database="sessions").write(key, "named", expires_at=None, expected_version=None)
    named = google_firestore.Client(project=firestore_project, database="sessions")
    assert named.collection("hostsessions").document(key).get().exists
    assert firestore().read(key) is None  # not in (default)


@pytest.mark.parametrize("collection", ["", "a/b", "/sessions", "a//b/c"])
def test_collection_that_is_not_a_collection_path_is_refused(collection: str) -> None:
    with pytest.raises(SessionConfigError, match="collection"):
        firestore(collection=collection)


def test_sync_and_async_flavours_see_the_same_sessions(firestore_project: str) -> None:
    sync_driver = firestore()
    first, second = new_session_id(), new_session_id()
    version = sync_driver.write(first, "from sync", expires_at=None, expected_version=None)

    async def main() -> str:
        async_driver = sync_driver.to_async()
        try:
            record = await async_driver.read(first)
            assert record is not None
            assert (record.payload, record.version) == ("from sync", version)
            return await async_driver.write(
                second, "from async", expires_at=None, expected_version=None
            )
        finally:
            await async_driver.aclose()

    written = asyncio.run(main())
    assert sync_driver.read(second) == Record("from async", written, None)


def test_a_client_the_user_built_is_used_for_its_project(firestore_project: str) -> None:
    from google.cloud import firestore as google_firestore

    client = google_firestore.Client(project="another-project")
    driver = firestore(client=client, collection="sessions")
    assert isinstance(driver, FirestoreDriver)
    assert driver.client is client
    key = new_session_id()
    driver.write(key, "elsewhere", expires_at=None, expected_version=None)
    assert client.collection("sessions").document(key).get().exists
    assert firestore(collection="sessions").read(key) is None  # not in the test project


def test_an_async_client_the_user_built_gives_the_async_driver(firestore_project: str) -> None:
    from google.cloud import firestore as google_firestore

    async def main() -> None:
        client = google_firestore.AsyncClient(project=firestore_project)
        driver = firestore(client=client)
        assert isinstance(driver, AsyncFirestoreDriver)
        key = new_session_id()
        version = await driver.write(key, "async", expires_at=None, expected_version=None)
        assert await driver.read(key) == Record("async", version, None)
        await driver.aclose()  # closes nothing: the client belongs to the caller
        assert (await client.collection("hostsessions").document(key).get()).exists

    asyncio.run(main())


def test_client_and_project_together_are_refused(firestore_project: str) -> None:
    from google.cloud import firestore as google_firestore

    with pytest.raises(SessionConfigError, match="either client="):
        firestore(client=google_firestore.Client(project="p"), project="q")


def test_the_core_factory_builds_this_driver(firestore_project: str) -> None:
    driver = drivers.firestore(collection="sessions")
    assert isinstance(driver, FirestoreDriver)
    assert driver.collection == "sessions"


def test_sweep_deletes_expired_sessions_in_batches(raw_client: Any) -> None:
    """More expired sessions than one batched commit holds: all go, live ones stay."""
    expired_at = layout.timestamp(time.time() - 60)
    collection = raw_client.collection("hostsessions")
    for start in range(0, 1_100, 500):
        batch = raw_client.batch()
        for n in range(start, min(start + 500, 1_100)):
            batch.create(collection.document(f"expired-{n}"), _fields(expired_at))
        batch.commit()
    driver = firestore()
    live = new_session_id()
    driver.write(live, "live", expires_at=time.time() + HOUR, expected_version=None)
    forever = new_session_id()
    driver.write(forever, "forever", expires_at=None, expected_version=None)

    assert driver.sweep() == 1_100
    assert {doc.id for doc in collection.stream()} == {live, forever}


def test_sweep_spares_a_session_renewed_while_it_runs(raw_client: Any) -> None:
    driver = _RenewingDuringSweep()
    keys = [new_session_id() for _ in range(3)]
    for key in keys:
        driver.write(key, "expired", expires_at=time.time() - 60, expected_version=None)
    driver.renew = keys[1]

    assert driver.sweep() == 2
    assert driver.read(keys[1]) is not None
    assert [driver.read(keys[0]), driver.read(keys[2])] == [None, None]


class _RenewingDuringSweep(FirestoreDriver):
    """Renews one session between the sweep's query and its deletes, as a request might."""

    renew: str | None = None

    def __init__(self) -> None:
        super().__init__(firestore().settings)

    def _delete_unchanged(self, snapshots: list[Any], options: dict[str, Any]) -> int:
        if self.renew is not None:
            document = self.client.collection(self.collection).document(self.renew)
            document.set(_fields(layout.timestamp(time.time() + HOUR), payload="renewed"))
            self.renew = None
        return super()._delete_unchanged(snapshots, options)


def _fields(expires: datetime | None, payload: str = "expired") -> dict[str, Any]:
    return {"payload": payload, "expires": expires, "version": 1}


def test_importing_the_adapter_and_building_a_driver_loads_no_firestore_client() -> None:
    """Cold starts pay for google.cloud.firestore only when a session is first stored."""
    code = (
        "import sys, hostsessions_gcp, hostsessions_gcp.adapter\n"
        "driver = hostsessions_gcp.firestore()\n"
        "print(sorted(m for m in sys.modules if m.startswith(('google.cloud.firestore', 'grpc'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    assert loaded == "[]"


def _payload(driver: FirestoreDriver, key: str) -> str | None:
    record = driver.read(key)
    return None if record is None else record.payload

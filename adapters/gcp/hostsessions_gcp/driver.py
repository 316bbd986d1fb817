"""The Firestore session drivers: sync on ``firestore.Client``, async on ``firestore.AsyncClient``.

Both implement the versioned protocol with one document per session (see
:mod:`hostsessions_gcp.layout`). A read is one call; a write is one commit with a
precondition: ``exists=False`` for a new session, the document's last update time for an
existing one, so a concurrent writer makes the write fail with
:class:`~hostsessions.drivers.WriteConflict` and the core replays its changes. Only the
rare paths (a new session over an expired document that a TTL policy has not yet deleted,
a conflicting delete) read once more to decide.

Each operation is written once, as a :class:`~hostsessions.plans.Plan` whose steps are the
document calls it needs (``("get", {...})``): the sync driver runs it with
:func:`hostsessions.plans.run_sync` and blocking calls, the async driver with
:func:`~hostsessions.plans.run_async` and awaited ones, so the two flavours cannot drift
apart.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from hostsessions.drivers.base import (
    AsyncDriverBase,
    DriverBase,
    Record,
    WriteConflict,
    check_size,
    utf8_length,
)
from hostsessions.plans import Plan, run_async, run_sync

from . import layout
from .client import close_async_client, new_async_client, shared_client
from .errors import storage_errors
from .settings import Settings

if TYPE_CHECKING:
    from google.cloud.firestore import AsyncClient, Client

__all__ = ["AsyncFirestoreDriver", "FirestoreDriver"]

T = TypeVar("T")

#: A plan's step: a ``DocumentReference`` method's name and its keyword arguments.
Step = tuple[str, dict[str, Any]]

#: Documents one sweep deletes per batched commit (Firestore allows 500 writes per commit).
SWEEP_BATCH = 500


class _Plans:
    """What both flavours share: settings, the size check, and every operation's plan."""

    store_name: ClassVar[str] = "Firestore"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        #: What "now" is when judging expiry (tests move it).
        self.clock: Callable[[], float] = time.time
        self._options: dict[tuple[bool, bool], dict[str, Any]] = {}

    @property
    def collection(self) -> str:
        """The collection (or subcollection path) that holds the sessions."""
        return self.settings.collection

    def _call_options(self, method: str, asynchronous: bool) -> dict[str, Any]:
        """The retry policy and timeout for one kind of call (cached per driver)."""
        key = (method == "get", asynchronous)
        options = self._options.get(key)
        if options is None:
            options = {
                "retry": _retry_policy(
                    read=key[0], timeout=self.settings.timeout, asynchronous=asynchronous
                ),
                "timeout": self.settings.timeout,
            }
            self._options[key] = options
        return options

    def _fields(
        self, key: str, payload: str, expires_at: float | None, count: Any, token: str | None
    ) -> dict[str, Any]:
        # Firestore's limit is on the whole document; the error speaks of the payload,
        # the part the application controls.
        doc_id = layout.document_id(key)
        limit = layout.payload_limit(self.collection, doc_id, expires_at, token)
        check_size(self.store_name, utf8_length(payload), limit)
        fields = {
            layout.PAYLOAD: payload,
            layout.EXPIRES: layout.timestamp(expires_at),
            layout.VERSION: count,
        }
        if token is not None:
            fields[layout.TOKEN] = token
        return fields

    def _read_plan(self, key: str) -> Plan[Step, Record | None]:
        with storage_errors(self.settings.target, "read"):
            snapshot = yield ("get", {})
        return layout.to_record(snapshot.to_dict(), snapshot.update_time, self.clock())

    def _write_plan(
        self,
        key: str,
        payload: str,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> Plan[Step, str]:
        if expected_version is not None:
            fields = self._fields(key, payload, expires_at, _increment(), token)
            if token is None:
                fields[layout.TOKEN] = _delete_field()  # an update keeps fields it omits
            if layout.has_expired(expected_version, self.clock()):
                # Expired since it was read: absent, so not to be brought back.
                raise WriteConflict(key, expected_version)
            return (yield from self._replace_plan(key, fields, expected_version))
        fields = self._fields(key, payload, expires_at, 1, token)
        # If the ID is taken, it is free only when what holds it has expired; if that
        # vanished between the create and the read, creating once more decides.
        for _attempt in range(2):
            with storage_errors(self.settings.target, "create"):
                try:
                    result = yield ("create", {"document_data": fields})
                    return layout.version_of(result.update_time, fields[layout.EXPIRES])
                except Exception as error:
                    if not _already_exists(error):
                        raise
                existing = yield ("get", {})
            if existing.exists:
                if layout.to_record(existing.to_dict(), existing.update_time, self.clock()):
                    raise WriteConflict(key, None)
                version = layout.version_of(existing.update_time, None)
                if token is None:
                    fields[layout.TOKEN] = _delete_field()
                return (yield from self._replace_plan(key, fields, version))
        raise WriteConflict(key, None)

    def _replace_plan(self, key: str, fields: dict[str, Any], version: str) -> Plan[Step, str]:
        with storage_errors(self.settings.target, "write"):
            try:
                option = _precondition(version)
                result = yield ("update", {"field_updates": fields, "option": option})
            except Exception as error:
                if _is_conflict(error):
                    raise WriteConflict(key, version) from None
                raise
        return layout.version_of(result.update_time, fields[layout.EXPIRES])

    def _delete_plan(self, key: str, expected_version: str | None) -> Plan[Step, None]:
        option = None if expected_version is None else _precondition(expected_version)
        with storage_errors(self.settings.target, "delete"):
            try:
                yield ("delete", {"option": option})
                return
            except Exception as error:
                if not _is_conflict(error):
                    raise
            # The precondition failed: a conflict only if a live session is still there.
            snapshot = yield ("get", {})
        if layout.to_record(snapshot.to_dict(), snapshot.update_time, self.clock()):
            raise WriteConflict(key, expected_version)


class FirestoreDriver(_Plans, DriverBase):
    """Sessions in Firestore through the sync ``firestore.Client`` (for WSGI apps).

    Build it with :func:`hostsessions_gcp.firestore` (or ``hostsessions.drivers.firestore``).
    Under ASGI the core calls :meth:`to_async` and uses :class:`AsyncFirestoreDriver`, so
    no request waits on a thread.
    """

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        super().__init__(settings)
        self._client = client

    @property
    def client(self) -> Client:
        """The ``firestore.Client`` in use (created on first use)."""
        if self._client is None:
            with storage_errors(self.settings.target, "connect"):
                self._client = shared_client(self.settings)
        return self._client

    def to_async(self) -> AsyncFirestoreDriver:
        """The async twin of this driver: same project, database and collection."""
        return AsyncFirestoreDriver(self.settings)

    def _run(self, key: str, plan: Plan[Step, T]) -> T:
        document = self.client.collection(self.collection).document(layout.document_id(key))

        def perform(step: Step) -> Any:
            method, kwargs = step
            return getattr(document, method)(**kwargs, **self._call_options(method, False))

        return run_sync(plan, perform)

    def read(self, key: str) -> Record | None:
        """The session record, or None when it is absent or expired."""
        return self._run(key, self._read_plan(key))

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        """Store the session if it still has ``expected_version`` (None: if it does not exist).

        ``token`` (the core's write token) is stored in the document's ``token`` field.
        """
        plan = self._write_plan(key, payload, expires_at, expected_version, token)
        return self._run(key, plan)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the session; with ``expected_version``, only if it still has that version.

        Deleting a session that is absent or expired does nothing.
        """
        self._run(key, self._delete_plan(key, expected_version))

    def sweep(self, *, now: float | None = None) -> int:
        """Delete sessions that expired at or before ``now``; return how many.

        For projects without a TTL policy on ``expires`` (``hostsessions gc`` runs this).
        A session renewed while the sweep runs is left alone: each delete is conditional
        on the update time the sweep saw.
        """
        from google.cloud.firestore import FieldFilter

        cutoff = layout.timestamp(self.clock() if now is None else now)
        reads, writes = self._call_options("get", False), self._call_options("commit", False)
        deleted = 0
        while True:
            with storage_errors(self.settings.target, "sweep"):
                query = (
                    self.client.collection(self.collection)
                    # The library leaves where()'s `value` untyped; filter= is typed.
                    .where(  # pyright: ignore[reportUnknownMemberType]
                        filter=FieldFilter(layout.EXPIRES, "<=", cutoff)
                    )
                    .select([layout.EXPIRES])
                    .limit(SWEEP_BATCH)
                )
                expired = list(query.stream(**reads))
                removed = self._delete_unchanged(expired, writes)
            deleted += removed
            if len(expired) < SWEEP_BATCH or removed == 0:
                return deleted

    def _delete_unchanged(self, snapshots: list[Any], options: dict[str, Any]) -> int:
        if not snapshots:
            return 0
        batch = self.client.batch()
        for snapshot in snapshots:
            batch.delete(snapshot.reference, option=_unchanged_since(snapshot))
        try:
            # The library types commit()'s result as a list of an untyped WriteResult.
            batch.commit(**options)  # pyright: ignore[reportUnknownMemberType]
            return len(snapshots)
        except Exception as error:
            if not _is_conflict(error):
                raise
        # A commit is all or nothing: a session renewed meanwhile failed it, so go one by one.
        removed = 0
        for snapshot in snapshots:
            try:
                snapshot.reference.delete(option=_unchanged_since(snapshot), **options)
                removed += 1
            except Exception as error:
                if not _is_conflict(error):
                    raise
        return removed


class AsyncFirestoreDriver(_Plans, AsyncDriverBase):
    """Sessions in Firestore through ``firestore.AsyncClient`` (for ASGI apps, no thread hop).

    gRPC's asyncio channels belong to the event loop they were opened in, so the client is
    created inside the running loop on first use (and again if the driver is later used
    from another loop). ``await driver.aclose()`` closes it.
    """

    def __init__(self, settings: Settings, client: AsyncClient | None = None) -> None:
        super().__init__(settings)
        self._client = client
        self._owns_client = client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def client(self) -> AsyncClient:
        """The ``firestore.AsyncClient`` for the running event loop (created on first use)."""
        loop = asyncio.get_running_loop()
        if self._client is None or (self._owns_client and self._loop is not loop):
            with storage_errors(self.settings.target, "connect"):
                self._client = new_async_client(self.settings)
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the client this driver created (a client passed in stays open)."""
        client, self._client = self._client, None
        if client is not None and self._owns_client and self._loop is asyncio.get_running_loop():
            await close_async_client(client)

    async def _run(self, key: str, plan: Plan[Step, T]) -> T:
        if "google.cloud.firestore" not in sys.modules:
            # The SDK takes over a second to import: not on the event loop, where it would
            # hold up every request, session or not.
            await asyncio.to_thread(importlib.import_module, "google.cloud.firestore")
        document = self.client.collection(self.collection).document(layout.document_id(key))

        def perform(step: Step) -> Any:
            method, kwargs = step
            return getattr(document, method)(**kwargs, **self._call_options(method, True))

        return await run_async(plan, perform)

    async def read(self, key: str) -> Record | None:
        """The session record, or None when it is absent or expired."""
        return await self._run(key, self._read_plan(key))

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        """Store the session if it still has ``expected_version`` (None: if it does not exist).

        ``token`` (the core's write token) is stored in the document's ``token`` field.
        """
        plan = self._write_plan(key, payload, expires_at, expected_version, token)
        return await self._run(key, plan)

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the session; with ``expected_version``, only if it still has that version.

        Deleting a session that is absent or expired does nothing.
        """
        await self._run(key, self._delete_plan(key, expected_version))


def _delete_field() -> Any:
    from google.cloud.firestore import DELETE_FIELD

    return DELETE_FIELD


# The failures Google's client library retries (reads: also a timeout or an internal
# error, which cannot have changed anything), but only within the driver's timeout: the
# library's own policy keeps retrying an unreachable Firestore for minutes.
_READ_RETRYABLE = (
    "DeadlineExceeded",
    "InternalServerError",
    "ResourceExhausted",
    "ServiceUnavailable",
)
_WRITE_RETRYABLE = ("ResourceExhausted", "ServiceUnavailable")


def _retry_policy(*, read: bool, timeout: float, asynchronous: bool) -> Any:
    from google.api_core import exceptions, retry

    names = _READ_RETRYABLE if read else _WRITE_RETRYABLE
    predicate = retry.if_exception_type(*(getattr(exceptions, name) for name in names))
    policy = retry.AsyncRetry if asynchronous else retry.Retry
    return policy(predicate=predicate, initial=0.05, maximum=1.0, multiplier=2.0, timeout=timeout)


def _increment() -> Any:
    from google.cloud.firestore import Increment

    return Increment(1)


def _precondition(version: str) -> Any:
    from google.cloud.firestore import Client

    # write_option(**kwargs) is untyped in the library; last_update_time is what it takes.
    return Client.write_option(  # pyright: ignore[reportUnknownMemberType]
        last_update_time=layout.update_time_of(version)
    )


def _unchanged_since(snapshot: Any) -> Any:
    from google.cloud.firestore import Client

    # write_option(**kwargs) is untyped in the library; last_update_time is what it takes.
    return Client.write_option(  # pyright: ignore[reportUnknownMemberType]
        last_update_time=snapshot.update_time
    )


def _is_conflict(error: BaseException) -> bool:
    """A write that did not apply because of another writer.

    A failed precondition: the document changed (or vanished) since it was read. Aborted:
    Firestore gave up on a write under contention, which the core retries the same way.
    """
    from google.api_core.exceptions import Aborted, FailedPrecondition

    if isinstance(error, Aborted):
        return True
    # The same status also reports a database in Datastore mode; that one is no conflict.
    return isinstance(error, FailedPrecondition) and "datastore mode" not in str(error).lower()


def _already_exists(error: BaseException) -> bool:
    from google.api_core.exceptions import AlreadyExists

    return isinstance(error, AlreadyExists)

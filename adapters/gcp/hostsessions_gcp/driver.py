"""The Firestore session drivers: sync on ``firestore.Client``, async on ``firestore.AsyncClient``.

Both implement the versioned protocol with one document per session (see
:mod:`hostsessions_gcp.layout`). Each operation is written once, as a plan of document
calls in :mod:`hostsessions_gcp.plans` (the preconditions and expiry rules live there): the
sync driver runs it with :func:`hostsessions.plans.run_sync` and blocking calls, the async
driver with :func:`~hostsessions.plans.run_async` and awaited ones, so the two flavours
cannot drift apart. This module holds what differs: the clients, the retry policy of each
call, and the sweep.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from hostsessions.drivers.base import AsyncDriverBase, DriverBase, Record
from hostsessions.plans import run_async, run_sync

from . import layout, plans
from .client import close_async_client, new_async_client, shared_client
from .errors import storage_errors
from .settings import Settings

if TYPE_CHECKING:
    from google.cloud.firestore import AsyncClient, Client

__all__ = ["AsyncFirestoreDriver", "FirestoreDriver"]

T = TypeVar("T")

#: Documents one sweep deletes per batched commit (Firestore allows 500 writes per commit).
SWEEP_BATCH = 500


class _FirestoreBase:
    """What both flavours share: the settings, the clock and the options of each call."""

    store_name: ClassVar[str] = plans.STORE_NAME

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

    def _read_plan(self, key: str) -> plans.Plan[Record | None]:
        return plans.read(self.settings, key, self.clock)

    def _write_plan(
        self,
        key: str,
        payload: str,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None,
    ) -> plans.Plan[str]:
        return plans.write(
            self.settings,
            key,
            payload,
            expires_at=expires_at,
            expected_version=expected_version,
            clock=self.clock,
            token=token,
        )

    def _delete_plan(self, key: str, expected_version: str | None) -> plans.Plan[None]:
        return plans.delete(self.settings, key, expected_version, self.clock)


class FirestoreDriver(_FirestoreBase, DriverBase):
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

    def _run(self, key: str, plan: plans.Plan[T]) -> T:
        document = self.client.collection(self.collection).document(layout.document_id(key))

        def perform(step: plans.Step) -> Any:
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
            batch.delete(snapshot.reference, option=plans.unchanged_since(snapshot.update_time))
        try:
            # The library types commit()'s result as a list of an untyped WriteResult.
            batch.commit(**options)  # pyright: ignore[reportUnknownMemberType]
            return len(snapshots)
        except Exception as error:
            if not plans.is_conflict(error):
                raise
        # A commit is all or nothing: a session renewed meanwhile failed it, so go one by one.
        removed = 0
        for snapshot in snapshots:
            try:
                option = plans.unchanged_since(snapshot.update_time)
                snapshot.reference.delete(option=option, **options)
                removed += 1
            except Exception as error:
                if not plans.is_conflict(error):
                    raise
        return removed


class AsyncFirestoreDriver(_FirestoreBase, AsyncDriverBase):
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

    async def _run(self, key: str, plan: plans.Plan[T]) -> T:
        if "google.cloud.firestore" not in sys.modules:
            # The SDK takes over a second to import: not on the event loop, where it would
            # hold up every request, session or not.
            await asyncio.to_thread(importlib.import_module, "google.cloud.firestore")
        document = self.client.collection(self.collection).document(layout.document_id(key))

        def perform(step: plans.Step) -> Any:
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


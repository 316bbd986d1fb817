"""The azure-tables driver: sessions as Table storage entities, sync (WSGI) and async (ASGI).

Versions are the entities' ETags: writes are conditional (If-Match, or a create for a new
record) and a mismatch raises :class:`~hostsessions.drivers.WriteConflict`. Table storage
has no TTL, so an expired entity reads as absent and :meth:`AzureTablesDriver.sweep`
(``hostsessions gc``) deletes expired entities. The table is created on the first write
that finds it missing, so a cold start costs no extra call.

The SDK is imported on first use only, so importing this module stays cheap.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import time
from typing import TYPE_CHECKING, Any, TypeVar

from hostsessions.drivers.base import AsyncDriverBase, DriverBase, Record
from hostsessions.plans import run_async, run_sync

from . import layout, plans
from .settings import TableSettings

if TYPE_CHECKING:
    from azure.data.tables import TableClient
    from azure.data.tables.aio import TableClient as AsyncTableClient

__all__ = ["AsyncAzureTablesDriver", "AzureTablesDriver"]


T = TypeVar("T")

class AzureTablesDriver(DriverBase):
    """Sessions in one Azure table, with blocking calls (for WSGI apps and ``hostsessions gc``).

    Build it with :func:`hostsessions_azure.azure_tables` or
    ``hostsessions.drivers.azure_tables``. ASGI apps get :meth:`to_async`'s driver.
    """

    def __init__(self, settings: TableSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return f"AzureTablesDriver({self.settings.location})"

    def to_async(self) -> AsyncAzureTablesDriver:
        """The same store through the SDK's asyncio client (no thread per call)."""
        return AsyncAzureTablesDriver(self.settings)

    def _client(self) -> TableClient:
        from .client import sync_client

        return sync_client(self.settings)

    def _call(self, operation: plans.Step) -> Any:
        from .client import call_for

        method, args, kwargs, result_of = call_for(operation)
        return result_of(getattr(self._client(), method)(*args, **kwargs))

    def _perform(self, operation: plans.Step) -> Any:
        from azure.core.exceptions import AzureError

        from .errors import outcome_of_failure

        try:
            return self._call(operation)
        except AzureError as error:
            return outcome_of_failure(operation, error, self.settings)

    def _run(self, plan: plans.Plan[T]) -> T:
        return run_sync(plan, self._perform)

    def read(self, key: str) -> Record | None:
        """The session's record, or None when it is absent or expired."""
        return self._run(plans.read(key))

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        """Store the payload (and the core's write ``token``) if the entity still has
        ``expected_version``; return the new ETag."""
        return self._run(
            plans.write(
                key, payload, expires_at=expires_at, expected_version=expected_version, token=token
            )
        )

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Delete the entity (only with that ETag when ``expected_version`` is given)."""
        self._run(plans.delete(key, expected_version=expected_version))

    def sweep(self, *, now: float | None = None) -> int:
        """Delete expired entities (``hostsessions gc``); return how many were removed.

        Each delete is conditional on the ETag the query saw, so a session rewritten
        since (and so no longer expired) is left alone.
        """
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        from .client import list_sessions
        from .errors import storage_error

        now = time.time() if now is None else now
        try:
            expired = list_sessions(self._client(), layout.sweep_filter(now))
        except ResourceNotFoundError:
            return 0  # no table yet, so no sessions
        except AzureError as error:
            raise storage_error("list expired sessions", error, self.settings) from error
        removed = 0
        for pk, etag in expired:
            try:
                self._perform(plans.Delete(pk, etag))
            except plans.Mismatch:
                continue
            removed += 1
        return removed

    def close(self) -> None:
        """Nothing to release: the client is shared by every driver with these settings."""


class AsyncAzureTablesDriver(AsyncDriverBase):
    """Sessions in one Azure table through ``azure.data.tables.aio`` (for ASGI apps).

    It holds one client per event loop it is used on (aiohttp sessions cannot move
    between loops); :meth:`aclose` closes them.
    """

    def __init__(self, settings: TableSettings) -> None:
        self.settings = settings
        self._clients: dict[asyncio.AbstractEventLoop, AsyncTableClient] = {}

    def __repr__(self) -> str:
        return f"AsyncAzureTablesDriver({self.settings.location})"

    def _client(self) -> AsyncTableClient:
        from .client import async_client

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # Forget clients of loops that have ended: nothing can close them any more.
            for old in [old for old in self._clients if old.is_closed()]:
                del self._clients[old]
            client = self._clients[loop] = async_client(self.settings)
        return client

    async def _call(self, operation: plans.Step) -> Any:
        from .client import call_for

        method, args, kwargs, result_of = call_for(operation)
        return result_of(await getattr(self._client(), method)(*args, **kwargs))

    async def _perform(self, operation: plans.Step) -> Any:
        from azure.core.exceptions import AzureError

        from .errors import outcome_of_failure

        try:
            return await self._call(operation)
        except AzureError as error:
            return outcome_of_failure(operation, error, self.settings)

    async def _run(self, plan: plans.Plan[T]) -> T:
        if "hostsessions_azure.errors" not in sys.modules:
            # The SDK and aiohttp take a fraction of a second to import: not on the event
            # loop, where it would hold up every request, session or not.
            await asyncio.to_thread(importlib.import_module, "hostsessions_azure.client")
            await asyncio.to_thread(importlib.import_module, "hostsessions_azure.errors")
        return await run_async(plan, self._perform)

    async def read(self, key: str) -> Record | None:
        """The session's record, or None when it is absent or expired."""
        return await self._run(plans.read(key))

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        """Store the payload (and the core's write ``token``) if the entity still has
        ``expected_version``; return the new ETag."""
        return await self._run(
            plans.write(
                key, payload, expires_at=expires_at, expected_version=expected_version, token=token
            )
        )

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Delete the entity (only with that ETag when ``expected_version`` is given)."""
        await self._run(plans.delete(key, expected_version=expected_version))

    async def aclose(self) -> None:
        """Close this loop's client and its connections."""
        loop = asyncio.get_running_loop()
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.close()


"""The Azure SDK's clients: credentials, one sync client per process and settings, and
the client call each plan step makes.

Imported only when a driver first needs storage, so ``import hostsessions_azure`` (and
the core's start-up) never loads azure-data-tables or aiohttp.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Protocol
from urllib.parse import urlsplit

from azure.core import MatchConditions
from azure.data.tables import TableClient, UpdateMode
from azure.data.tables.aio import TableClient as AsyncTableClient

from hostsessions.drivers.base import ClientCache
from hostsessions.errors import SessionConfigError

from . import layout, plans
from .plans import Create, CreateTable, Get, Replace, Step
from .settings import TableSettings

__all__ = ["Call", "async_client", "call_for", "list_sessions", "sync_client"]

_sync_clients: ClientCache[TableSettings, TableClient] = ClientCache()


def _identity_module(asynchronous: bool) -> Any:
    name = "azure.identity.aio" if asynchronous else "azure.identity"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise SessionConfigError(
            "identity-based connections to Azure Table storage need azure-identity: "
            "pip install 'hostsessions-azure[identity]'"
        ) from exc


class _ThreadedTokenCredential:
    """A synchronous token credential offered to the async client: tokens are fetched on a
    worker thread (rarely: the client caches them until shortly before they expire)."""

    def __init__(self, credential: Any) -> None:
        self._credential = credential

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        return await asyncio.to_thread(self._credential.get_token, *scopes, **kwargs)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> _ThreadedTokenCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        return None


def _credential(settings: TableSettings, *, asynchronous: bool) -> Any:
    credential = settings.credential
    if isinstance(credential, str):  # "managedidentity", as Azure Functions spells it
        identity = _identity_module(asynchronous)
        return identity.ManagedIdentityCredential(client_id=settings.client_id)
    if credential is not None:
        get_token = getattr(credential, "get_token", None)
        if asynchronous and get_token is not None and not inspect.iscoroutinefunction(get_token):
            return _ThreadedTokenCredential(credential)
        return credential  # a key or SAS credential works for both clients
    if settings.connection_string is not None:
        return None  # the connection string's own key or SAS
    if "sig=" in urlsplit(settings.endpoint or "").query:
        return None  # a SAS token in the endpoint URL
    identity = _identity_module(asynchronous)
    return identity.DefaultAzureCredential(managed_identity_client_id=settings.client_id)


def _new_client(settings: TableSettings, *, asynchronous: bool) -> Any:
    client_class: Any = AsyncTableClient if asynchronous else TableClient
    credential = _credential(settings, asynchronous=asynchronous)
    extra = {} if credential is None else {"credential": credential}
    extra.update(settings.client_options)
    try:
        if settings.connection_string is not None:
            return client_class.from_connection_string(
                settings.connection_string, table_name=settings.table, **extra
            )
        return client_class(settings.endpoint, table_name=settings.table, **extra)
    except ValueError as exc:
        # The SDK's own message names the missing part, never the secret.
        raise SessionConfigError(
            f"cannot connect to Azure Table storage ({settings.location}): {exc}"
        ) from exc


def sync_client(settings: TableSettings) -> TableClient:
    """One client per process and settings: it is thread-safe and pools connections."""
    client: TableClient = _sync_clients.get(
        settings, lambda: _new_client(settings, asynchronous=False)
    )
    return client


def async_client(settings: TableSettings) -> AsyncTableClient:
    """A client for the running event loop (aiohttp sessions belong to one loop)."""
    client: AsyncTableClient = _new_client(settings, asynchronous=True)
    return client


class _ListedEntity(Protocol):
    """An entity as a query lists it (the SDK's ``TableEntity`` is an untyped dict)."""

    @property
    def metadata(self) -> Mapping[str, Any]: ...

    def __getitem__(self, name: str, /) -> Any: ...


class _EntityLister(Protocol):
    """The query call of a ``TableClient``, typed: the SDK leaves its ``**kwargs`` untyped."""

    def query_entities(
        self, query_filter: str, *, select: list[str]
    ) -> Iterable[_ListedEntity]: ...


def list_sessions(client: _EntityLister, query_filter: str) -> list[tuple[str, str]]:
    """The partition key and ETag of each session entity that ``query_filter`` selects."""
    listed = client.query_entities(query_filter, select=["PartitionKey", "RowKey"])
    return [
        (str(entity["PartitionKey"]), plans.etag_of(entity))
        for entity in listed
        if entity["RowKey"] == layout.ROW_KEY
    ]


Call = tuple[str, tuple[Any, ...], dict[str, Any], Callable[[Any], Any]]


def call_for(operation: Step) -> Call:
    """The client method, its arguments, and how to read its result, for one operation."""
    if isinstance(operation, Get):
        return "get_entity", (operation.partition_key, layout.ROW_KEY), {}, _same
    if isinstance(operation, Create):
        # No echo of the entity: it may be a megabyte, and only the ETag is needed.
        no_echo = {"response_preference": "return-no-content"}
        return "create_entity", (operation.entity,), no_echo, _etag
    if isinstance(operation, Replace):
        if_match = {"etag": operation.etag, "match_condition": MatchConditions.IfNotModified}
        return "update_entity", (operation.entity,), {"mode": UpdateMode.REPLACE, **if_match}, _etag
    if isinstance(operation, CreateTable):
        return "create_table", (), {}, _nothing
    if_match = {}
    if operation.etag is not None:
        if_match = {"etag": operation.etag, "match_condition": MatchConditions.IfNotModified}
    return "delete_entity", (operation.partition_key, layout.ROW_KEY), if_match, _nothing


def _same(result: Any) -> Any:
    return result


def _nothing(result: Any) -> None:
    return None


def _etag(metadata: Any) -> str:
    return str(metadata["etag"])

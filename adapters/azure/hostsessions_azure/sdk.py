"""Everything that touches the Azure SDK: clients, credentials, calls and their failures.

Imported only when a driver first needs storage, so ``import hostsessions_azure`` (and
the core's start-up) never loads azure-data-tables or aiohttp.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)
from azure.data.tables import TableClient, UpdateMode
from azure.data.tables.aio import TableClient as AsyncTableClient

from hostsessions.drivers.base import ClientCache
from hostsessions.errors import SessionConfigError, SessionStorageError

from . import layout
from .plans import (
    Create,
    CreateTable,
    Delete,
    Exists,
    Get,
    Mismatch,
    Replace,
    Step,
    TableMissing,
)
from .settings import TableSettings

ROLE = "Storage Table Data Contributor"

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


def outcome_of_failure(operation: Step, error: AzureError, settings: TableSettings) -> None:
    """What a failed call means: None (nothing there, which is an answer), an
    :class:`~hostsessions_azure.plans.Outcome` raised for the plan, or a
    SessionStorageError for the user."""
    if isinstance(error, ResourceModifiedError):
        raise Mismatch() from None
    if isinstance(error, ResourceExistsError):
        if isinstance(operation, CreateTable):
            return None  # another instance created it first
        if isinstance(operation, Create):
            raise Exists() from None
    if isinstance(error, ResourceNotFoundError):
        if isinstance(operation, Get | Delete):
            return None  # no entity, or no table yet: either way no session
        if isinstance(operation, Replace):
            raise Mismatch() from None  # the entity was deleted since it was read
        if isinstance(operation, Create):
            raise TableMissing() from None
    raise storage_error(_verb(operation), error, settings) from error


def _verb(operation: Step) -> str:
    verbs = {
        Get: "read a session",
        Create: "create a session",
        Replace: "write a session",
        Delete: "delete a session",
        CreateTable: "create its table",
    }
    return verbs[type(operation)]


def storage_error(
    action: str, error: BaseException, settings: TableSettings
) -> SessionStorageError:
    """A SessionStorageError saying what failed, where, and how to fix it (never a secret)."""
    where = settings.location
    status = getattr(error, "status_code", None)
    code = str(getattr(error, "error_code", None) or "")
    if isinstance(error, ServiceRequestError):
        fix = (
            "the storage account could not be reached: check the account name or endpoint "
            "and the network (for local runs, start Azurite's table service)"
        )
    elif isinstance(error, ClientAuthenticationError) and status is None:
        fix = (
            "no credential could sign in: enable the app's managed identity, sign in with "
            "'az login' locally, or use a connection string"
        )
    elif status == 403 and "Authorization" in code:
        fix = (
            f"the identity may not use this table: grant it the '{ROLE}' role on the storage "
            "account (infra/azure/main.bicep does)"
        )
    elif status in (401, 403):
        fix = "the account key or SAS token was refused: check the connection string"
    elif isinstance(error, HttpResponseError):
        fix = f"the service answered {status} {code or 'with an error'}"
    else:
        fix = f"{type(error).__name__}"
    return SessionStorageError(f"Azure Table storage could not {action} in {where}: {fix}")

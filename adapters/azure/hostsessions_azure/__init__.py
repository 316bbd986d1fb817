"""hostsessions-azure: sessions in Azure Table storage, zero-config on Azure Functions.

Importing this package loads no Azure SDK; the driver imports it when the first session
needs storage.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .driver import AsyncAzureTablesDriver, AzureTablesDriver

__all__ = ["AsyncAzureTablesDriver", "AzureTablesDriver", "azure_tables"]


def azure_tables(
    *,
    connection_string: str | None = None,
    connection_string_setting: str | None = None,
    endpoint: str | None = None,
    credential: Any = None,
    client_id: str | None = None,
    table: str | None = None,
    connection_timeout: float | None = None,
    read_timeout: float | None = None,
    retry_total: int | None = None,
    timeout: float | None = None,
) -> AzureTablesDriver:
    """The azure-tables driver (``hostsessions.drivers.azure_tables`` calls this).

    Give a storage account's ``connection_string`` (``UseDevelopmentStorage=true`` for
    Azurite) or the name of the app setting that holds one (``connection_string_setting``,
    like an Azure Functions binding's ``connection``), or a table ``endpoint`` such as ``https://ACCOUNT.table.core.windows.net``
    with a ``credential`` (an Azure credential object, or ``"managedidentity"`` with an
    optional ``client_id``; none means ``DefaultAzureCredential``, which needs
    ``pip install 'hostsessions-azure[identity]'``). With neither, the app settings are
    used: ``HOSTSESSIONS_AZURE_CONNECTION_STRING``, ``HOSTSESSIONS_AZURE_ENDPOINT``, then
    the function app's ``AzureWebJobsStorage``. ``table`` defaults to
    ``HOSTSESSIONS_AZURE_TABLE`` or ``hostsessions``; it is created if missing.

    Every call is bounded: ``connection_timeout`` (2 s) and ``read_timeout`` (3 s) per
    attempt, ``retry_total`` (2) retries, and ``timeout`` (8 s) for the call in all, after
    which no retry starts; so a store that does not answer fails a call with
    ``SessionStorageError`` within about ``timeout + read_timeout``.

    The returned driver is synchronous (WSGI); its ``to_async()`` gives the asyncio one.
    """
    from .driver import AzureTablesDriver
    from .settings import settings_from_options

    options = {
        "connection_string": connection_string,
        "connection_string_setting": connection_string_setting,
        "endpoint": endpoint,
        "credential": credential,
        "client_id": client_id,
        "table": table,
        "connection_timeout": connection_timeout,
        "read_timeout": read_timeout,
        "retry_total": retry_total,
        "timeout": timeout,
    }
    return AzureTablesDriver(settings_from_options(options, os.environ))


def __getattr__(name: str) -> Any:
    if name in ("AzureTablesDriver", "AsyncAzureTablesDriver"):
        from . import driver

        return getattr(driver, name)
    raise AttributeError(f"module 'hostsessions_azure' has no attribute {name!r}")

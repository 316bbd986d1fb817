"""The Azure platform adapter: recognises Azure Functions and App Service and picks the store."""

from __future__ import annotations

from collections.abc import Mapping

from hostsessions.config import DriverConfig
from hostsessions.errors import SessionConfigError
from hostsessions.hosts import detect_azure

from .settings import (
    CONNECTION_STRING_SETTING,
    ENDPOINT_SETTING,
    HOST_STORAGE_PREFIX,
    HOST_STORAGE_SETTING,
    options_from_environ,
)

__all__ = ["DRIVER_NAME", "ENTRYPOINT", "AzureAdapter", "adapter"]

DRIVER_NAME = "azure-tables"
ENTRYPOINT = "hostsessions_azure:azure_tables"


class AzureAdapter:
    """Azure Functions and App Service: sessions in Azure Table storage.

    On Azure Functions it needs no configuration: every function app has a storage
    account in ``AzureWebJobsStorage``, and the sessions go to its table ``hostsessions``.
    App Service has no such account, so there ``HOSTSESSIONS_AZURE_CONNECTION_STRING``
    (or ``HOSTSESSIONS_AZURE_ENDPOINT``) names one.
    """

    name = "azure"
    drivers: Mapping[str, str] = {DRIVER_NAME: ENTRYPOINT}

    def detect(self, environ: Mapping[str, str]) -> bool:
        """True on Azure Functions and App Service (the core's own host detection)."""
        return detect_azure(environ) is not None

    def default_driver(self, environ: Mapping[str, str]) -> DriverConfig:
        """The azure-tables driver on the storage account the app settings name.

        Raises SessionConfigError, with the fix, when they name none.
        """
        options = options_from_environ(environ)
        if options:
            return DriverConfig(ENTRYPOINT, options)
        host = detect_azure(environ)
        where = host.label if host is not None else "Azure"
        if host is not None and host.key == "azure-app-service":
            reason = f"App Service has no {HOST_STORAGE_SETTING} storage account to keep them in"
        else:
            reason = (
                f"the app has no {HOST_STORAGE_SETTING} setting (nor "
                f"{HOST_STORAGE_PREFIX}accountName or {HOST_STORAGE_PREFIX}tableServiceUri)"
            )
        raise SessionConfigError(
            f"hostsessions detected {where} but found no storage account for sessions: {reason}. "
            f"Fix: set the app setting {CONNECTION_STRING_SETTING} to a storage account's "
            f"connection string (or {ENDPOINT_SETTING} to its table endpoint, with a managed "
            "identity that has the 'Storage Table Data Contributor' role), or name a driver "
            "explicitly: SessionConfig(driver=drivers.azure_tables(...)) or HOSTSESSIONS_DRIVER."
        )


adapter = AzureAdapter()

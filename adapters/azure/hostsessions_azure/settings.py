"""Where the sessions live: the storage account, how to sign in, and the table.

Plain data only, no SDK import: the adapter reads these from app settings at start-up,
and the driver turns them into a client when the first session needs storage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hostsessions.checks import is_positive_number, is_text, is_whole_number
from hostsessions.errors import SessionConfigError

__all__ = [
    "CONNECTION_STRING_SETTING",
    "DEFAULT_CONNECTION_TIMEOUT",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_RETRY_TOTAL",
    "DEFAULT_TABLE",
    "DEFAULT_TIMEOUT",
    "ENDPOINT_SETTING",
    "HOST_STORAGE_PREFIX",
    "HOST_STORAGE_SETTING",
    "MANAGED_IDENTITY",
    "TABLE_NAME_PATTERN",
    "TABLE_SETTING",
    "TableSettings",
    "options_from_environ",
    "settings_from_options",
]

DEFAULT_TABLE = "hostsessions"

# App settings of our own; they win over the function app's host storage.
TABLE_SETTING = "HOSTSESSIONS_AZURE_TABLE"
CONNECTION_STRING_SETTING = "HOSTSESSIONS_AZURE_CONNECTION_STRING"
ENDPOINT_SETTING = "HOSTSESSIONS_AZURE_ENDPOINT"

# Every function app has this storage account (Azure Functions "AzureWebJobsStorage"),
# either as a connection string or as identity-based settings under this prefix.
HOST_STORAGE_SETTING = "AzureWebJobsStorage"
HOST_STORAGE_PREFIX = HOST_STORAGE_SETTING + "__"

MANAGED_IDENTITY = "managedidentity"

# A web request must not hang on its session store. azure-core waits 300 s for an answer
# and retries 10 times by default; these bound a call that gets no answer to about
# ``timeout`` plus one ``read_timeout`` (an attempt under way is not cut short).
DEFAULT_CONNECTION_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 3.0
DEFAULT_RETRY_TOTAL = 2
DEFAULT_TIMEOUT = 8.0

# Azure table names: alphanumeric, starting with a letter, 3 to 63 characters.
TABLE_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")


@dataclass(frozen=True)
class TableSettings:
    """One table in one storage account, and how to authenticate to it.

    Exactly one of ``connection_string`` and ``endpoint`` is set. ``credential`` is an
    Azure credential object, ``"managedidentity"``, or None: with a connection string
    the string's key or SAS is used; with an endpoint, None means
    ``DefaultAzureCredential`` (managed identity on Azure, a developer sign-in locally)
    unless the endpoint carries a SAS token.
    """

    table: str
    connection_string: str | None = None
    endpoint: str | None = None
    credential: Any = None
    client_id: str | None = None
    #: Seconds an attempt waits to connect, and for an answer.
    connection_timeout: float = DEFAULT_CONNECTION_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    #: Retries after a failed attempt (azure-core's own default is 10, with backoff).
    retry_total: int = DEFAULT_RETRY_TOTAL
    #: Seconds one call may take in all, retries included: no retry starts after it.
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if (self.connection_string is None) == (self.endpoint is None):
            raise SessionConfigError(
                "the azure-tables driver needs either connection_string= or endpoint=, not both"
            )
        if not is_text(self.table) or not TABLE_NAME_PATTERN.match(self.table):
            raise SessionConfigError(
                f"invalid Azure table name {self.table!r}: use 3 to 63 letters and digits, "
                "starting with a letter"
            )
        if self.table.lower() == "tables":
            raise SessionConfigError("'tables' is a reserved Azure table name; choose another")
        for name in ("connection_timeout", "read_timeout", "timeout"):
            seconds = getattr(self, name)
            if not is_positive_number(seconds):
                raise SessionConfigError(
                    f"{name} must be a positive number of seconds, not {seconds!r}"
                )
        if not is_whole_number(self.retry_total):
            raise SessionConfigError(
                f"retry_total must be a whole number >= 0, not {self.retry_total!r}"
            )
        if isinstance(self.credential, str) and self.credential.lower() != MANAGED_IDENTITY:
            raise SessionConfigError(
                f"credential={self.credential!r} is not understood: pass an Azure credential "
                f"object, {MANAGED_IDENTITY!r}, or nothing"
            )

    @property
    def client_options(self) -> dict[str, Any]:
        """The azure-core settings that bound every call's wait (see the defaults above)."""
        return {
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
            "retry_total": self.retry_total,
            "timeout": self.timeout,
        }

    @property
    def call_budget(self) -> float:
        """The longest, in seconds, one call waits on a store that does not answer."""
        return self.timeout + self.read_timeout + self.connection_timeout

    @property
    def location(self) -> str:
        """Where the table is, for error messages: never includes a secret."""
        account = self.endpoint or _endpoint_from_connection_string(self.connection_string or "")
        return f"table {self.table!r} at {account}"


def _endpoint_from_connection_string(connection_string: str) -> str:
    parts = dict(
        part.split("=", 1) for part in connection_string.split(";") if "=" in part
    )
    lowered = {name.lower(): value for name, value in parts.items()}
    if connection_string.strip().lower().startswith("usedevelopmentstorage=true"):
        return "the local storage emulator (UseDevelopmentStorage=true)"
    if "tableendpoint" in lowered:
        return lowered["tableendpoint"].split("?", 1)[0]
    if "accountname" in lowered:
        suffix = lowered.get("endpointsuffix", "core.windows.net")
        return f"https://{lowered['accountname']}.table.{suffix}"
    return "the account in the connection string"


def options_from_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The driver options the app settings give, or ``{}`` when they name no storage account.

    A connection string is passed by the name of its setting, never by value, so the
    options (which ``hostsessions doctor`` prints) hold no secret.

    In order: ``HOSTSESSIONS_AZURE_CONNECTION_STRING``, ``HOSTSESSIONS_AZURE_ENDPOINT``,
    then the function app's host storage: ``AzureWebJobsStorage`` (a connection string,
    including ``UseDevelopmentStorage=true``), or its identity-based form
    (``AzureWebJobsStorage__tableServiceUri`` or ``AzureWebJobsStorage__accountName``,
    with optional ``__credential`` and ``__clientId``). ``HOSTSESSIONS_AZURE_TABLE``
    names the table (default ``hostsessions``).
    """
    table = environ.get(TABLE_SETTING) or DEFAULT_TABLE
    if environ.get(CONNECTION_STRING_SETTING):
        return {"connection_string_setting": CONNECTION_STRING_SETTING, "table": table}
    if endpoint := environ.get(ENDPOINT_SETTING):
        return {"endpoint": endpoint, "table": table}
    if environ.get(HOST_STORAGE_SETTING):
        return {"connection_string_setting": HOST_STORAGE_SETTING, "table": table}
    endpoint = environ.get(HOST_STORAGE_PREFIX + "tableServiceUri")
    if not endpoint and (account := environ.get(HOST_STORAGE_PREFIX + "accountName")):
        endpoint = f"https://{account}.table.core.windows.net"
    if not endpoint:
        return {}
    options = {"endpoint": endpoint, "table": table}
    if credential := environ.get(HOST_STORAGE_PREFIX + "credential"):
        options["credential"] = credential
    if client_id := environ.get(HOST_STORAGE_PREFIX + "clientId"):
        options["client_id"] = client_id
    return options


def settings_from_options(
    options: Mapping[str, Any], environ: Mapping[str, str]
) -> TableSettings:
    """Explicit options, completed from the app settings when they name no account."""
    chosen: dict[str, Any] = {name: value for name, value in options.items() if value is not None}
    if not chosen.keys() & {"connection_string", "connection_string_setting", "endpoint"}:
        from_environ = options_from_environ(environ)
        if not from_environ:
            raise SessionConfigError(
                "the azure-tables driver found no storage account: pass connection_string= "
                f"or endpoint=, or set the app setting {CONNECTION_STRING_SETTING} (on Azure "
                f"Functions, {HOST_STORAGE_SETTING} is used when present)"
            )
        chosen = {**from_environ, **chosen}
    if "connection_string_setting" in chosen:
        setting = chosen.pop("connection_string_setting")
        if "connection_string" in chosen:
            raise SessionConfigError(
                "give the azure-tables driver connection_string= or connection_string_setting=, "
                "not both"
            )
        chosen["connection_string"] = environ.get(setting)
        if not chosen["connection_string"]:
            raise SessionConfigError(
                f"the app setting {setting} named for the azure-tables driver is not set"
            )
    chosen.setdefault("table", environ.get(TABLE_SETTING) or DEFAULT_TABLE)
    try:
        return TableSettings(**chosen)
    except TypeError as exc:
        raise SessionConfigError(f"the azure-tables driver rejected its options: {exc}") from exc

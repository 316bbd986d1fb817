"""Firestore clients: created on first use, one per process and settings.

Importing ``google.cloud.firestore`` costs a noticeable part of a second, so nothing here
imports it until a driver makes its first call: a cold start that never touches a
session never pays for it. Sync clients are shared by every driver with the same
settings in a process (gRPC channels are thread-safe); a forked worker makes its own,
since a gRPC channel does not survive ``fork``. Async clients are bound to the event
loop they were created in, so each async driver makes its own inside the running loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hostsessions import SessionConfigError
from hostsessions.drivers.base import ClientCache

from .errors import Target

if TYPE_CHECKING:
    from google.cloud.firestore import AsyncClient, Client

DEFAULT_COLLECTION = "hostsessions"
#: Seconds one driver call may take, retries of transient failures included.
DEFAULT_TIMEOUT = 10.0
DEFAULT_DATABASE = "(default)"
EMULATOR_HOST_VAR = "FIRESTORE_EMULATOR_HOST"


@dataclass(frozen=True)
class Settings:
    """Where sessions live. ``project=None`` is Application Default Credentials' project."""

    project: str | None = None
    database: str = DEFAULT_DATABASE
    collection: str = DEFAULT_COLLECTION
    timeout: float = DEFAULT_TIMEOUT
    credentials: Any = None

    def __post_init__(self) -> None:
        if self.project is not None and (not isinstance(self.project, str) or not self.project):
            raise SessionConfigError(
                f"Firestore project must be a non-empty string, not {self.project!r}"
            )
        if not isinstance(self.database, str) or not self.database:
            raise SessionConfigError(
                f"Firestore database must be a non-empty string, not {self.database!r}"
            )
        parts = self.collection.split("/") if isinstance(self.collection, str) else [""]
        if len(parts) % 2 == 0 or not all(parts):
            raise SessionConfigError(
                f"Firestore collection must be a collection ID such as 'hostsessions', or a "
                f"path to a subcollection such as 'tenants/acme/sessions', not {self.collection!r}"
            )
        if (
            isinstance(self.timeout, bool)
            or not isinstance(self.timeout, int | float)
            or self.timeout <= 0
        ):
            raise SessionConfigError(
                f"timeout must be a positive number of seconds, not {self.timeout!r}"
            )

    @property
    def target(self) -> Target:
        return Target(self.project, self.database, self.collection)

    def client_options(self) -> dict[str, Any]:
        return {"project": self.project, "database": self.database, "credentials": self.credentials}


def settings_from_client(client: Any, collection: str, timeout: float) -> Settings:
    """The settings of a client a user built, so a twin client can be made for the other flavour."""
    return Settings(
        project=client.project,
        database=getattr(client, "_database", None) or DEFAULT_DATABASE,
        collection=collection,
        timeout=timeout,
        credentials=getattr(client, "_credentials", None),
    )


_shared: ClientCache[tuple[Any, ...], Client] = ClientCache()


def shared_client(settings: Settings) -> Client:
    """The process's sync client for these settings, created on first use."""
    # Variables read when a client is made are part of the key, so tests that point
    # clients at an emulator (or another project) get a client that follows them.
    key = (
        os.getpid(),
        settings.project or os.environ.get("GOOGLE_CLOUD_PROJECT"),
        settings.database,
        id(settings.credentials),
        os.environ.get(EMULATOR_HOST_VAR),
    )
    return _shared.get(key, lambda: _new_client(settings))


def _new_client(settings: Settings) -> Client:
    from google.cloud import firestore

    return firestore.Client(**settings.client_options())


def new_async_client(settings: Settings) -> AsyncClient:
    """A fresh async client, bound to the event loop that is running now."""
    from google.cloud import firestore

    return firestore.AsyncClient(**settings.client_options())


async def close_async_client(client: AsyncClient) -> None:
    """Close the gRPC channel an async client opened, if it opened one."""
    api = getattr(client, "_firestore_api_internal", None)
    if api is not None:
        await api.transport.close()

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
from typing import TYPE_CHECKING, Any

from hostsessions.drivers.base import ClientCache

from .settings import Settings

if TYPE_CHECKING:
    from google.cloud.firestore import AsyncClient, Client

__all__ = ["EMULATOR_HOST_VAR", "close_async_client", "new_async_client", "shared_client"]

EMULATOR_HOST_VAR = "FIRESTORE_EMULATOR_HOST"

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

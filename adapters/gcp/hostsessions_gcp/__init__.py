"""The Google Cloud adapter for hostsessions: sessions in Firestore.

On Cloud Run (services and functions), Cloud Functions and App Engine the adapter is
chosen on its own and stores sessions in the Firestore collection ``hostsessions`` of the
``(default)`` database, with the project and credentials of Application Default
Credentials. Elsewhere, name the driver::

    SessionConfig(driver="firestore", options={"collection": "sessions"})
    SessionConfig(driver=hostsessions.drivers.firestore(project="my-project"))

Importing this package is cheap: ``google.cloud.firestore`` is imported when a driver
makes its first call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from google.cloud.firestore import AsyncClient, Client

    from .driver import AsyncFirestoreDriver, FirestoreDriver

__all__ = ["AsyncFirestoreDriver", "FirestoreDriver", "firestore"]


def __getattr__(name: str) -> Any:
    # The driver classes load on first access, so that the pytest plugin in
    # hostsessions_gcp.testing imports nothing but itself.
    if name in ("AsyncFirestoreDriver", "FirestoreDriver"):
        from . import driver

        return getattr(driver, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@overload
def firestore(
    *,
    client: AsyncClient,
    collection: str | None = None,
    timeout: float | None = None,
) -> AsyncFirestoreDriver: ...


@overload
def firestore(
    *,
    project: str | None = None,
    database: str | None = None,
    collection: str | None = None,
    client: Client | None = None,
    timeout: float | None = None,
) -> FirestoreDriver: ...


def firestore(
    *,
    project: str | None = None,
    database: str | None = None,
    collection: str | None = None,
    client: Any = None,
    timeout: float | None = None,
) -> FirestoreDriver | AsyncFirestoreDriver:
    """A Firestore session driver.

    ``project`` and ``database`` default to Application Default Credentials' project and
    ``(default)``; ``collection`` to ``hostsessions`` (a subcollection path such as
    ``tenants/acme/sessions`` works too); ``timeout`` (seconds, default 10) bounds each
    call, retries of transient failures included.

    ``client`` is a ``firestore.Client`` or ``firestore.AsyncClient`` you built yourself
    (its project, database and credentials are used; ``project`` and ``database`` must
    then be left out). With a ``Client`` you get the sync driver, which gives an async
    twin with the same settings to ASGI apps; with an ``AsyncClient`` you get the async
    driver, which uses that client as is.
    """
    from .driver import AsyncFirestoreDriver, FirestoreDriver
    from .settings import (
        DEFAULT_COLLECTION,
        DEFAULT_DATABASE,
        DEFAULT_TIMEOUT,
        Settings,
        settings_from_client,
    )

    collection = DEFAULT_COLLECTION if collection is None else collection
    timeout = DEFAULT_TIMEOUT if timeout is None else timeout
    if client is None:
        settings = Settings(
            project=project,
            database=DEFAULT_DATABASE if database is None else database,
            collection=collection,
            timeout=timeout,
        )
        return FirestoreDriver(settings)
    if project is not None or database is not None:
        from hostsessions import SessionConfigError

        raise SessionConfigError(
            "pass either client= or project=/database= to the Firestore driver, not both: "
            "a client already names its project and database"
        )
    settings = settings_from_client(client, collection, timeout)
    from google.cloud.firestore import AsyncClient

    if isinstance(client, AsyncClient):
        return AsyncFirestoreDriver(settings, client)
    return FirestoreDriver(settings, client)

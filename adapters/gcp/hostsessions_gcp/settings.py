"""Where the sessions live: project, database, collection, and the timeout of each call.

Plain data only, no SDK import: the adapter reads these from the environment at start-up,
and the driver turns them into a client (:mod:`hostsessions_gcp.client`) when the first
session needs storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hostsessions import SessionConfigError
from hostsessions.checks import is_nonempty_text, is_positive_number, is_text

from .errors import Target

__all__ = [
    "DEFAULT_COLLECTION",
    "DEFAULT_DATABASE",
    "DEFAULT_TIMEOUT",
    "Settings",
    "settings_from_client",
]

DEFAULT_COLLECTION = "hostsessions"
#: Seconds one driver call may take, retries of transient failures included.
DEFAULT_TIMEOUT = 10.0
DEFAULT_DATABASE = "(default)"


@dataclass(frozen=True)
class Settings:
    """Where sessions live. ``project=None`` is Application Default Credentials' project."""

    project: str | None = None
    database: str = DEFAULT_DATABASE
    collection: str = DEFAULT_COLLECTION
    timeout: float = DEFAULT_TIMEOUT
    credentials: Any = None

    def __post_init__(self) -> None:
        if self.project is not None and not is_nonempty_text(self.project):
            raise SessionConfigError(
                f"Firestore project must be a non-empty string, not {self.project!r}"
            )
        if not is_nonempty_text(self.database):
            raise SessionConfigError(
                f"Firestore database must be a non-empty string, not {self.database!r}"
            )
        parts = self.collection.split("/") if is_text(self.collection) else [""]
        if len(parts) % 2 == 0 or not all(parts):
            raise SessionConfigError(
                f"Firestore collection must be a collection ID such as 'hostsessions', or a "
                f"path to a subcollection such as 'tenants/acme/sessions', not {self.collection!r}"
            )
        if not is_positive_number(self.timeout):
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

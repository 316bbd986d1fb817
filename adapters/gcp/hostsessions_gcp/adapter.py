"""The Google Cloud platform adapter: recognises Google's serverless hosts, picks Firestore.

Recognition is the core's :func:`hostsessions.hosts.detect_google_cloud`: one source of
truth, so the core's fail-fast check and this adapter agree on every host.
"""

from __future__ import annotations

from collections.abc import Mapping

from hostsessions import DriverConfig
from hostsessions.hosts import detect_google_cloud

from .settings import DEFAULT_COLLECTION, DEFAULT_DATABASE

__all__ = [
    "COLLECTION_VAR",
    "DATABASE_VAR",
    "DRIVER_NAME",
    "ENTRYPOINT",
    "GoogleCloudAdapter",
    "adapter",
]

COLLECTION_VAR = "HOSTSESSIONS_FIRESTORE_COLLECTION"
DATABASE_VAR = "HOSTSESSIONS_FIRESTORE_DATABASE"
DRIVER_NAME = "firestore"
ENTRYPOINT = "hostsessions_gcp:firestore"


class GoogleCloudAdapter:
    """Firestore sessions on Cloud Run, Cloud Run functions, Cloud Functions and App Engine."""

    name = "gcp"
    drivers: Mapping[str, str] = {DRIVER_NAME: ENTRYPOINT}

    def detect(self, environ: Mapping[str, str]) -> bool:
        """True when these variables describe one of Google Cloud's serverless hosts."""
        return detect_google_cloud(environ) is not None

    def default_driver(self, environ: Mapping[str, str]) -> DriverConfig:
        """Firestore, with the collection and database the environment names, if any.

        The project and credentials come from Application Default Credentials, which on
        Google Cloud are the runtime's service account and project.
        """
        return DriverConfig(
            ENTRYPOINT,
            {
                "collection": environ.get(COLLECTION_VAR, "").strip() or DEFAULT_COLLECTION,
                "database": environ.get(DATABASE_VAR, "").strip() or DEFAULT_DATABASE,
            },
        )


adapter = GoogleCloudAdapter()

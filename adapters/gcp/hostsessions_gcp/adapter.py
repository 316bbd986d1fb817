"""The Google Cloud platform adapter: recognises Google's serverless hosts, picks Firestore.

Recognition reuses the core's :func:`hostsessions.hosts.detect_google_cloud`, and adds the
hosts Google documents that it does not recognise yet (see :func:`missed_by_core`).
"""

from __future__ import annotations

from collections.abc import Mapping

from hostsessions import DriverConfig
from hostsessions.hosts import detect_google_cloud

from .clients import DEFAULT_COLLECTION, DEFAULT_DATABASE

COLLECTION_VAR = "HOSTSESSIONS_FIRESTORE_COLLECTION"
DATABASE_VAR = "HOSTSESSIONS_FIRESTORE_DATABASE"
FACTORY = "hostsessions_gcp:firestore"


def _all_set(environ: Mapping[str, str], *names: str) -> bool:
    return all(environ.get(name) for name in names)


def missed_by_core(environ: Mapping[str, str]) -> str | None:
    """Google-documented hosts the core's detector misses; the host's name, or None.

    - Functions on the current runtimes (Cloud Run functions, and first-generation Cloud
      Functions on every runtime after Python 3.7) set ``FUNCTION_TARGET``, ``K_SERVICE``
      and ``K_REVISION`` but Google documents no ``K_CONFIGURATION`` for them. A local
      Functions Framework run sets ``FUNCTION_TARGET`` only, so it stays unrecognised.
    - App Engine flexible sets ``GAE_SERVICE``, ``GAE_VERSION`` and ``GAE_INSTANCE`` but
      no ``GAE_APPLICATION``.
    - Cloud Run jobs (where ``hostsessions gc`` runs on a schedule) set ``CLOUD_RUN_JOB``
      and ``CLOUD_RUN_EXECUTION``.
    """
    if _all_set(environ, "FUNCTION_TARGET", "K_SERVICE", "K_REVISION"):
        return "Cloud Run functions"
    if (
        _all_set(environ, "GAE_SERVICE", "GAE_VERSION", "GAE_INSTANCE")
        and environ.get("GAE_ENV") != "localdev"
    ):
        return "App Engine"
    if _all_set(environ, "CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION"):
        return "Cloud Run jobs"
    return None


class GoogleCloudAdapter:
    """Firestore sessions on Cloud Run, Cloud Run functions, Cloud Functions and App Engine."""

    name = "gcp"
    drivers: Mapping[str, str] = {"firestore": FACTORY}

    def detect(self, environ: Mapping[str, str]) -> bool:
        """True when these variables describe one of Google Cloud's serverless hosts."""
        return detect_google_cloud(environ) is not None or missed_by_core(environ) is not None

    def default_driver(self, environ: Mapping[str, str]) -> DriverConfig:
        """Firestore, with the collection and database the environment names, if any.

        The project and credentials come from Application Default Credentials, which on
        Google Cloud are the runtime's service account and project.
        """
        return DriverConfig(
            FACTORY,
            {
                "collection": environ.get(COLLECTION_VAR, "").strip() or DEFAULT_COLLECTION,
                "database": environ.get(DATABASE_VAR, "").strip() or DEFAULT_DATABASE,
            },
        )


adapter = GoogleCloudAdapter()

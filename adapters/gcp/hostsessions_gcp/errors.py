"""Firestore and Google auth failures as :class:`~hostsessions.SessionStorageError`, with the fix.

Every message names what failed (operation, project, database, collection) and what to do
about it, because the usual causes on a first deploy are a project without a Firestore
database, a service account without the Datastore User role, or a machine without
Application Default Credentials.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass

from hostsessions import SessionStorageError

__all__ = ["Target", "explain", "storage_errors"]


@dataclass(frozen=True)
class Target:
    """Where the driver stores sessions, as error messages name it."""

    project: str | None
    database: str
    collection: str

    @property
    def project_label(self) -> str:
        return self.project or "<your project>"

    def __str__(self) -> str:
        project = self.project or "the default project"
        return (
            f"Firestore collection {self.collection!r} in database {self.database!r} of {project}"
        )


def explain(error: BaseException, target: Target, operation: str) -> SessionStorageError:
    """A SessionStorageError for ``error``, raised while doing ``operation`` on ``target``."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    project = target.project_label
    where = f"{operation} on {target}"
    retried = ""
    if isinstance(error, api.RetryError) and isinstance(error.cause, Exception):
        # The driver retries transient failures until its timeout; explain the last one.
        retried, error = " (retried until the driver's timeout)", error.cause
    detail = _first_line(error)
    if isinstance(error, auth.DefaultCredentialsError):
        fix = (
            "no Application Default Credentials were found. On Google Cloud the runtime's "
            "service account provides them; on another machine run "
            "`gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS; "
            "to use the local emulator set FIRESTORE_EMULATOR_HOST"
        )
    elif isinstance(error, auth.GoogleAuthError):
        fix = (
            f"the credentials could not be used ({detail}); check the service account or run "
            "`gcloud auth application-default login` again"
        )
    elif isinstance(error, OSError) and "Project was not passed" in str(error):
        fix = (
            "the Google Cloud project could not be determined: set GOOGLE_CLOUD_PROJECT, "
            "or pass project=... to hostsessions.drivers.firestore()"
        )
    elif isinstance(error, api.NotFound) and "database" in detail.lower():
        fix = (
            f"the Firestore database {target.database!r} does not exist in project {project}. "
            "Create it once with `gcloud firestore databases create "
            f"--database={target.database!r} --location=REGION --project={project}` "
            "(Native mode), or point "
            "HOSTSESSIONS_FIRESTORE_DATABASE at an existing database"
        )
    elif isinstance(error, api.PermissionDenied) and (
        "has not been used" in detail or "is disabled" in detail or "SERVICE_DISABLED" in detail
    ):
        fix = (
            f"the Cloud Firestore API is not enabled in project {project}: run "
            f"`gcloud services enable firestore.googleapis.com --project={project}`"
        )
    elif isinstance(error, api.PermissionDenied):
        fix = (
            "the service account lacks permission. Grant it the Cloud Datastore User role: "
            f"`gcloud projects add-iam-policy-binding {project} "
            "--member=serviceAccount:SERVICE_ACCOUNT_EMAIL --role=roles/datastore.user` "
            "(see infra/gcp/ in the hostsessions repository)"
        )
    elif isinstance(error, api.Unauthenticated):
        fix = (
            "the request was not authenticated: check the service account, or run "
            "`gcloud auth application-default login` on a development machine"
        )
    elif isinstance(error, api.FailedPrecondition) and "datastore mode" in detail.lower():
        fix = (
            f"database {target.database!r} is in Datastore mode, which the Firestore API "
            "cannot use: create a Native mode database and set HOSTSESSIONS_FIRESTORE_DATABASE "
            "to its name"
        )
    elif isinstance(error, api.FailedPrecondition) and "index" in detail.lower():
        group = target.collection.rsplit("/", 1)[-1]
        fix = (
            "the sweep's query needs the single-field index on `expires`, which Firestore "
            "keeps by default; restore it with `gcloud firestore indexes fields update expires "
            f"--collection-group={group} --database={target.database!r} --clear-exemption`"
        )
    elif isinstance(error, api.ServiceUnavailable | api.DeadlineExceeded):
        fix = (
            f"Firestore could not be reached ({detail}); check the network (or "
            "FIRESTORE_EMULATOR_HOST when testing), or give the driver a longer timeout="
        )
    else:
        fix = f"{type(error).__name__}: {detail}"
    return SessionStorageError(f"{where} failed{retried}: {fix}")


@contextmanager
def storage_errors(target: Target, operation: str) -> Generator[None]:
    """Turn Google API, auth and project-discovery failures into SessionStorageError."""
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    try:
        yield
    except (GoogleAPIError, GoogleAuthError) as error:
        raise explain(error, target, operation) from error
    except OSError as error:
        if "Project was not passed" not in str(error):
            raise
        raise explain(error, target, operation) from error


def _first_line(error: BaseException) -> str:
    message = getattr(error, "message", None) or str(error)
    return str(message).strip().splitlines()[0] if str(message).strip() else type(error).__name__

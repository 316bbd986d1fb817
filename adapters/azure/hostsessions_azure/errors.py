"""Azure SDK failures: answers a plan handles itself, or SessionStorageError with the fix.

Every message says what failed and where (the table and account, never a secret) and
what to do: reach the account, sign in, grant the role, check the key.
"""

from __future__ import annotations

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
)

from hostsessions.errors import SessionStorageError

from .plans import Create, CreateTable, Delete, Exists, Get, Mismatch, Replace, Step, TableMissing
from .settings import TableSettings

__all__ = ["ROLE", "outcome_of_failure", "storage_error"]

ROLE = "Storage Table Data Contributor"


def outcome_of_failure(operation: Step, error: AzureError, settings: TableSettings) -> None:
    """What a failed call means: None (nothing there, which is an answer), an
    :class:`~hostsessions_azure.plans.Outcome` raised for the plan, or a
    SessionStorageError for the user."""
    if isinstance(error, ResourceModifiedError):
        raise Mismatch() from None
    if isinstance(error, ResourceExistsError):
        if isinstance(operation, CreateTable):
            return None  # another instance created it first
        if isinstance(operation, Create):
            raise Exists() from None
    if isinstance(error, ResourceNotFoundError):
        if isinstance(operation, Get | Delete):
            return None  # no entity, or no table yet: either way no session
        if isinstance(operation, Replace):
            raise Mismatch() from None  # the entity was deleted since it was read
        if isinstance(operation, Create):
            raise TableMissing() from None
    raise storage_error(_verb(operation), error, settings) from error


def _verb(operation: Step) -> str:
    verbs = {
        Get: "read a session",
        Create: "create a session",
        Replace: "write a session",
        Delete: "delete a session",
        CreateTable: "create its table",
    }
    return verbs[type(operation)]


def storage_error(
    action: str, error: BaseException, settings: TableSettings
) -> SessionStorageError:
    """A SessionStorageError saying what failed, where, and how to fix it (never a secret)."""
    where = settings.location
    status = getattr(error, "status_code", None)
    code = str(getattr(error, "error_code", None) or "")
    if isinstance(error, ServiceRequestError):
        fix = (
            "the storage account could not be reached: check the account name or endpoint "
            "and the network (for local runs, start Azurite's table service)"
        )
    elif isinstance(error, ClientAuthenticationError) and status is None:
        fix = (
            "no credential could sign in: enable the app's managed identity, sign in with "
            "'az login' locally, or use a connection string"
        )
    elif status == 403 and "Authorization" in code:
        fix = (
            f"the identity may not use this table: grant it the '{ROLE}' role on the storage "
            "account (infra/azure/main.bicep does)"
        )
    elif status in (401, 403):
        fix = "the account key or SAS token was refused: check the connection string"
    elif isinstance(error, HttpResponseError):
        fix = f"the service answered {status} {code or 'with an error'}"
    else:
        fix = f"{type(error).__name__}"
    return SessionStorageError(f"Azure Table storage could not {action} in {where}: {fix}")

"""What each driver method asks of the session's document, written once for both drivers.

A plan is a generator (:class:`hostsessions.plans.Plan`): it yields document calls,
``("get", {...})`` (a ``DocumentReference`` method's name and its keyword arguments),
receives their results (or has the client's exception thrown in), and returns the
method's result. The sync driver runs plans against ``firestore.Client``'s documents, the
async one against ``AsyncClient``'s, so the rules (preconditions, expiry, the size check)
live here and nowhere else.

A write is one call with a precondition: ``create`` (the ID must be free) for a new
session, ``update`` against the last update time for an existing one, so a concurrent
writer makes it fail with :class:`~hostsessions.drivers.WriteConflict`. Only the rare
paths (a new session over an expired document that a TTL policy has not yet deleted, a
conflicting delete) read once more to decide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from hostsessions import plans
from hostsessions.drivers.base import Record, WriteConflict, check_size, utf8_length

from . import layout
from .errors import storage_errors
from .settings import Settings

__all__ = [
    "STORE_NAME",
    "Plan",
    "Step",
    "delete",
    "is_conflict",
    "read",
    "unchanged_since",
    "write",
]

T = TypeVar("T")

#: What a plan yields: a ``DocumentReference`` method's name and its keyword arguments.
Step = tuple[str, dict[str, Any]]
#: A :class:`hostsessions.plans.Plan` of document calls.
Plan: TypeAlias = plans.Plan[Step, T]

#: The store's name in size errors.
STORE_NAME = "Firestore"


def read(settings: Settings, key: str, clock: Callable[[], float]) -> Plan[Record | None]:
    """The session record, or None when it is absent or expired."""
    with storage_errors(settings.target, "read"):
        snapshot = yield ("get", {})
    return layout.to_record(snapshot.to_dict(), snapshot.update_time, clock())


def write(
    settings: Settings,
    key: str,
    payload: str,
    *,
    expires_at: float | None,
    expected_version: str | None,
    clock: Callable[[], float],
    token: str | None = None,
) -> Plan[str]:
    """Store the session if it still has ``expected_version`` (None: if it does not exist)."""
    if expected_version is not None:
        fields = _fields(settings, key, payload, expires_at, _increment(), token)
        if token is None:
            fields[layout.TOKEN] = _delete_field()  # an update keeps fields it omits
        if layout.has_expired(expected_version, clock()):
            # Expired since it was read: absent, so not to be brought back.
            raise WriteConflict(key, expected_version)
        return (yield from _replace(settings, key, fields, expected_version))
    fields = _fields(settings, key, payload, expires_at, 1, token)
    # If the ID is taken, it is free only when what holds it has expired; if that
    # vanished between the create and the read, creating once more decides.
    for _attempt in range(2):
        with storage_errors(settings.target, "create"):
            try:
                result = yield ("create", {"document_data": fields})
                return layout.version_of(result.update_time, fields[layout.EXPIRES])
            except Exception as error:
                if not _already_exists(error):
                    raise
            existing = yield ("get", {})
        if existing.exists:
            if layout.to_record(existing.to_dict(), existing.update_time, clock()):
                raise WriteConflict(key, None)
            version = layout.version_of(existing.update_time, None)
            if token is None:
                fields[layout.TOKEN] = _delete_field()
            return (yield from _replace(settings, key, fields, version))
    raise WriteConflict(key, None)


def delete(
    settings: Settings, key: str, expected_version: str | None, clock: Callable[[], float]
) -> Plan[None]:
    """Remove the session; with ``expected_version``, only if it still has that version."""
    option = None if expected_version is None else _precondition(expected_version)
    with storage_errors(settings.target, "delete"):
        try:
            yield ("delete", {"option": option})
            return
        except Exception as error:
            if not is_conflict(error):
                raise
        # The precondition failed: a conflict only if a live session is still there.
        snapshot = yield ("get", {})
    if layout.to_record(snapshot.to_dict(), snapshot.update_time, clock()):
        raise WriteConflict(key, expected_version)


def _replace(settings: Settings, key: str, fields: dict[str, Any], version: str) -> Plan[str]:
    with storage_errors(settings.target, "write"):
        try:
            option = _precondition(version)
            result = yield ("update", {"field_updates": fields, "option": option})
        except Exception as error:
            if is_conflict(error):
                raise WriteConflict(key, version) from None
            raise
    return layout.version_of(result.update_time, fields[layout.EXPIRES])


def _fields(
    settings: Settings,
    key: str,
    payload: str,
    expires_at: float | None,
    count: Any,
    token: str | None,
) -> dict[str, Any]:
    # Firestore's limit is on the whole document; the error speaks of the payload, the
    # part the application controls.
    doc_id = layout.document_id(key)
    limit = layout.payload_limit(settings.collection, doc_id, expires_at, token)
    check_size(STORE_NAME, utf8_length(payload), limit)
    fields = {
        layout.PAYLOAD: payload,
        layout.EXPIRES: layout.timestamp(expires_at),
        layout.VERSION: count,
    }
    if token is not None:
        fields[layout.TOKEN] = token
    return fields


def _delete_field() -> Any:
    from google.cloud.firestore import DELETE_FIELD

    return DELETE_FIELD


def _increment() -> Any:
    from google.cloud.firestore import Increment

    return Increment(1)


def _precondition(version: str) -> Any:
    return unchanged_since(layout.update_time_of(version))


def unchanged_since(update_time: Any) -> Any:
    """The write option of a call that must find the document last updated at ``update_time``."""
    from google.cloud.firestore import Client

    # write_option(**kwargs) is untyped in the library; last_update_time is what it takes.
    return Client.write_option(  # pyright: ignore[reportUnknownMemberType]
        last_update_time=update_time
    )


def is_conflict(error: BaseException) -> bool:
    """A write that did not apply because of another writer.

    A failed precondition: the document changed (or vanished) since it was read. Aborted:
    Firestore gave up on a write under contention, which the core retries the same way.
    """
    from google.api_core.exceptions import Aborted, FailedPrecondition

    if isinstance(error, Aborted):
        return True
    # The same status also reports a database in Datastore mode; that one is no conflict.
    return isinstance(error, FailedPrecondition) and "datastore mode" not in str(error).lower()


def _already_exists(error: BaseException) -> bool:
    from google.api_core.exceptions import AlreadyExists

    return isinstance(error, AlreadyExists)

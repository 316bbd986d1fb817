"""What each driver method asks of the table, written once for the sync and async drivers.

A plan is a generator: it yields table operations and receives their results (or has an
:class:`Outcome` such as :class:`Mismatch` thrown in), and returns the method's result. The sync
driver runs plans against ``TableClient``, the async one against the ``aio`` client, so
the rules (conditional writes, expiry) live here and nowhere else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

from hostsessions import plans
from hostsessions.drivers.base import Record, WriteConflict

from . import layout

__all__ = [
    "Create",
    "CreateTable",
    "Delete",
    "Exists",
    "Get",
    "Mismatch",
    "Outcome",
    "Plan",
    "Replace",
    "Step",
    "TableMissing",
    "delete",
    "etag_of",
    "read",
    "write",
]


class Outcome(Exception):
    """A call's answer that the plan handles itself."""


class Mismatch(Outcome):
    """The entity's ETag differs from the one given, or the entity is gone."""


class Exists(Outcome):
    """A create found the entity already there."""


class TableMissing(Outcome):
    """The table does not exist yet."""


@dataclass(frozen=True)
class Get:
    """Read one entity; the result is the entity, or None when it (or the table) is missing."""

    partition_key: str


@dataclass(frozen=True)
class Create:
    """Insert an entity; the result is its ETag. Throws Exists or TableMissing."""

    entity: Mapping[str, Any]


@dataclass(frozen=True)
class CreateTable:
    """Create the table; no result (a table created meanwhile by another instance is fine)."""


@dataclass(frozen=True)
class Replace:
    """Replace the entity if its ETag still matches; the result is the new ETag. Throws Mismatch."""

    entity: Mapping[str, Any]
    etag: str


@dataclass(frozen=True)
class Delete:
    """Delete the entity (if ``etag`` is given, only with that ETag). Throws Mismatch."""

    partition_key: str
    etag: str | None


T = TypeVar("T")

#: What a plan yields: one call on the table.
Step = Get | Create | Replace | Delete | CreateTable
#: A :class:`hostsessions.plans.Plan` of table calls.
Plan: TypeAlias = plans.Plan[Step, T]


# An ETag as the service issues them (Table storage's are weak: W/"datetime'...'").
_ETAG = re.compile(r'^(W/)?"[^"]*"$')


def etag_of(entity: Any) -> str:
    return str(entity.metadata["etag"])


def _could_be_etag(version: str) -> bool:
    """False for a version this store never issued: it can match no entity, and the
    service would refuse it as a malformed If-Match header rather than as a mismatch."""
    return _ETAG.match(version) is not None


def read(key: str, now: float | None = None) -> Plan[Record | None]:
    entity = yield Get(layout.partition_key(key))
    if entity is None or layout.entity_expired(entity, time.time() if now is None else now):
        return None
    return Record(
        layout.entity_payload(entity),
        etag_of(entity),
        layout.entity_expiry(entity),
        layout.entity_token(entity),
    )


def write(
    key: str,
    payload: str,
    *,
    expires_at: float | None,
    expected_version: str | None,
    now: float | None = None,
    token: str | None = None,
) -> Plan[str]:
    # Built first, so a session over the limit fails before any call.
    entity = layout.build_entity(key, payload, expires_at, token)
    if expected_version is not None:
        if not _could_be_etag(expected_version):
            raise WriteConflict(key, expected_version)
        try:
            etag: str = yield Replace(entity, expected_version)
        except Mismatch:
            raise WriteConflict(key, expected_version) from None
        return etag
    try:
        return (yield from _in_table(Create(entity)))
    except Exists:
        pass
    # Table storage has no TTL, so an expired entity may still be there. The core sees it
    # as absent, so a new record replaces it, but only if it is still that same entity.
    current = yield Get(entity["PartitionKey"])
    if current is None or not layout.entity_expired(current, time.time() if now is None else now):
        raise WriteConflict(key, None)
    try:
        etag = yield Replace(entity, etag_of(current))
    except Mismatch:
        raise WriteConflict(key, None) from None
    return etag


def _in_table(operation: Create) -> Plan[str]:
    # The table is created by the first write that finds it missing, so a cold start
    # costs no extra call; reads of a missing table simply find no session.
    try:
        etag: str = yield operation
    except TableMissing:
        yield CreateTable()
        etag = yield operation
    return etag


def delete(key: str, *, expected_version: str | None = None) -> Plan[None]:
    pk = layout.partition_key(key)
    if expected_version is not None and not _could_be_etag(expected_version):
        if (yield Get(pk)) is not None:
            raise WriteConflict(key, expected_version)
        return None  # nothing to delete, as the caller wants
    try:
        yield Delete(pk, expected_version)
    except Mismatch:
        raise WriteConflict(key, expected_version) from None

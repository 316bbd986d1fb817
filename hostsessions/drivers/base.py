"""The driver protocols: what a store must do to hold sessions.

A driver moves opaque payload strings under a key (the session ID); it never
decodes them. Expiry, merging and ID rules live in the core.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class WriteConflict(Exception):
    """A conditional write found a different version than the one expected."""

    def __init__(self, key: str, expected_version: str | None) -> None:
        self.key = key
        self.expected_version = expected_version
        super().__init__(f"record {key[:8]}... changed since version {expected_version!r} was read")


@dataclass(frozen=True, slots=True)
class Record:
    """One stored session as a versioned driver returns it."""

    payload: str
    version: str
    expires_at: float | None = None


@runtime_checkable
class Driver(Protocol):
    """The minimal protocol (Astro's): last write wins."""

    def get_item(self, key: str) -> str | None: ...

    def set_item(self, key: str, value: str) -> None: ...

    def remove_item(self, key: str) -> None: ...


@runtime_checkable
class AsyncDriver(Protocol):
    """The minimal protocol with coroutine methods."""

    async def get_item(self, key: str) -> str | None: ...

    async def set_item(self, key: str, value: str) -> None: ...

    async def remove_item(self, key: str) -> None: ...


@runtime_checkable
class VersionedDriver(Protocol):
    """Conditional reads and writes: what the core needs to never lose a change."""

    def read(self, key: str) -> Record | None:
        """The record, or None when it does not exist or has expired."""
        ...

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
    ) -> str:
        """Store ``payload`` and return the new version.

        ``expected_version=None`` means the record must not exist yet; otherwise the
        stored version must equal it. Raise :class:`WriteConflict` when it does not.
        """
        ...

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it still has that version."""
        ...


@runtime_checkable
class AsyncVersionedDriver(Protocol):
    """:class:`VersionedDriver` with coroutine methods."""

    async def read(self, key: str) -> Record | None: ...

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
    ) -> str: ...

    async def delete(self, key: str, *, expected_version: str | None = None) -> None: ...


@runtime_checkable
class SweepableDriver(Protocol):
    """A driver whose store has no native expiry offers a sweep (``hostsessions gc``)."""

    def sweep(self, *, now: float | None = None) -> int:
        """Delete expired records; return how many were removed."""
        ...

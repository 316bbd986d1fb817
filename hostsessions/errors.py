"""The exceptions hostsessions raises. All derive from :class:`SessionError`."""

from __future__ import annotations

__all__ = [
    "SessionConfigError",
    "SessionError",
    "SessionGoneError",
    "SessionSerializationError",
    "SessionStorageError",
    "SessionTooLargeError",
]


class SessionError(Exception):
    """Base class of every error raised by hostsessions."""


class SessionConfigError(SessionError):
    """The configuration cannot work: a bad cookie name, an unknown driver, a missing adapter."""


class SessionSerializationError(SessionError, TypeError):
    """A value cannot be stored: its type is not one the codec supports, or it cannot be decoded."""


class SessionTooLargeError(SessionError):
    """A session payload is bigger than its store accepts. Nothing was written.

    ``size`` and ``limit`` are in ``unit``: bytes for a store's limit, characters for the
    codec's own (:data:`hostsessions.codec.MAX_INPUT_CHARS`), whichever was hit first.
    """

    def __init__(self, store: str, size: int, limit: int, *, unit: str = "bytes") -> None:
        self.store = store
        self.size = size
        self.limit = limit
        self.unit = unit
        super().__init__(
            f"session payload of {size} {unit} exceeds the {store} limit of {limit} {unit}; "
            "store less in the session (keep large data elsewhere and put its key in the session)"
        )


class SessionStorageError(SessionError):
    """The store failed, or a save could not finish within its retry budget."""


class SessionGoneError(SessionStorageError):
    """Another request destroyed this session, or moved it to a new ID with ``regenerate()``
    (a login in another tab), while this request was working on it. This request's changes
    were not saved, and its response does not touch the cookie the other response set.

    ``save()`` and ``update()`` raise it, so a view can catch it; when the middleware's own
    save meets it, the response becomes a ``409 Conflict``. See ``docs/concurrency.md``.
    """

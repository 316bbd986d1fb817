"""The exceptions hostsessions raises. All derive from :class:`SessionError`."""

from __future__ import annotations


class SessionError(Exception):
    """Base class of every error raised by hostsessions."""


class SessionConfigError(SessionError):
    """The configuration cannot work: a bad cookie name, an unknown driver, a missing adapter."""


class SessionSerializationError(SessionError, TypeError):
    """A value cannot be stored: its type is not one the codec supports, or it cannot be decoded."""


class SessionTooLargeError(SessionError):
    """A session payload is bigger than its store accepts. Nothing was written."""

    def __init__(self, store: str, size: int, limit: int) -> None:
        self.store = store
        self.size = size
        self.limit = limit
        super().__init__(
            f"session payload of {size} bytes exceeds the {store} limit of {limit} bytes; "
            "store less in the session (keep large data elsewhere and put its key in the session)"
        )


class SessionStorageError(SessionError):
    """The store failed, or a save could not finish within its retry budget."""

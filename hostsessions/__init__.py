"""hostsessions: server-side sessions for any WSGI or ASGI app, on any host."""

from __future__ import annotations

from .config import CookieOptions, DriverConfig, SessionConfig
from .errors import (
    SessionConfigError,
    SessionError,
    SessionGoneError,
    SessionSerializationError,
    SessionStorageError,
    SessionTooLargeError,
)
from .keys import SessionKey
from .session import AsyncSession, Session
from .url import URL

__all__ = [
    "URL",
    "AsyncSession",
    "CookieOptions",
    "DriverConfig",
    "Session",
    "SessionConfig",
    "SessionConfigError",
    "SessionError",
    "SessionGoneError",
    "SessionKey",
    "SessionSerializationError",
    "SessionStorageError",
    "SessionTooLargeError",
]

__version__ = "0.1.0"

"""Session IDs: 256 random bits from :mod:`secrets`, and the one check every cookie value passes."""

from __future__ import annotations

import re
import secrets

# token_urlsafe(32) is 43 characters of base64url: 256 bits of entropy.
ID_BYTES = 32
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_session_id() -> str:
    """A fresh, unguessable session ID."""
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_session_id(value: object) -> bool:
    """True for strings shaped like IDs this library issues; anything else is treated as absent."""
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None

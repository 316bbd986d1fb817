"""Session IDs: 256 random bits from :mod:`secrets`, and the one check every cookie value passes.

Two shapes are well-formed: the IDs this library issues, and the version 4 UUIDs that
Astro issues (``crypto.randomUUID()``), so that a session an Astro site created in a
shared store can be read here. A well-formed ID is only a claim: the core uses it only
when the store holds its record, and never adopts one it does not know. Both alphabets
are letters, digits, ``-`` and ``_``, so no well-formed ID can steer a file path or a
store key.
"""

from __future__ import annotations

import re
import secrets

__all__ = [
    "ASTRO_ID_PATTERN",
    "ID_BYTES",
    "ID_PATTERN",
    "is_valid_session_id",
    "new_session_id",
]

# token_urlsafe(32) is 43 characters of base64url: 256 bits of entropy.
ID_BYTES = 32
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: What ``crypto.randomUUID()`` returns: a version 4 UUID in lowercase, as Astro mints them.
ASTRO_ID_PATTERN = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
)


def new_session_id() -> str:
    """A fresh, unguessable session ID."""
    return secrets.token_urlsafe(ID_BYTES)


def is_valid_session_id(value: object) -> bool:
    """True for IDs this library issues and for Astro's; anything else is treated as absent."""
    return isinstance(value, str) and (
        ID_PATTERN.fullmatch(value) is not None or ASTRO_ID_PATTERN.fullmatch(value) is not None
    )

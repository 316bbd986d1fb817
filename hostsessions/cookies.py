"""Reading the session ID from a Cookie header and writing the Set-Cookie header."""

from __future__ import annotations

from .config import CookieOptions
from .ids import is_valid_session_id

MAX_COOKIE_HEADER = 16 * 1024  # beyond any browser's limit: refuse to scan giant headers
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})


def session_id_from_cookie_header(header: str | None, name: str) -> str | None:
    """The first well-formed session ID among the cookies called ``name``.

    Malformed, oversized or forged values are simply not IDs: the request then starts
    without a session, which is never an error.
    """
    if not header or len(header) > MAX_COOKIE_HEADER:
        return None
    for part in header.split(";"):
        cookie_name, sep, value = part.partition("=")
        if sep and cookie_name.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if is_valid_session_id(value):
                return value
    return None


def is_local_plain_http(scheme: str, host: str | None) -> bool:
    """Plain-http requests to localhost are the one case where the cookie is not Secure."""
    if scheme not in ("http", "ws") or not host:
        return False
    hostname = host.strip().lower()
    if hostname.startswith("["):
        hostname = hostname[: hostname.find("]") + 1]
    else:
        hostname = hostname.rsplit(":", 1)[0]
    return hostname in LOCAL_HOSTS or hostname.endswith(".localhost")


def _attributes(options: CookieOptions, secure: bool) -> list[str]:
    parts = [f"Path={options.path}", "HttpOnly", f"SameSite={options.same_site.capitalize()}"]
    if options.domain:
        parts.append(f"Domain={options.domain}")
    if secure:
        parts.append("Secure")
    if options.partitioned:
        parts.append("Partitioned")
    return parts


def set_cookie_header(options: CookieOptions, session_id: str, *, secure: bool) -> str:
    """The Set-Cookie value that points the browser at ``session_id``."""
    parts = [f"{options.name}={session_id}"]
    if options.max_age is not None:
        parts.append(f"Max-Age={options.max_age}")
    parts.extend(_attributes(options, secure))
    return "; ".join(parts)


def expire_cookie_header(options: CookieOptions, *, secure: bool) -> str:
    """The Set-Cookie value that makes the browser forget the session cookie."""
    parts = [f"{options.name}=", "Max-Age=0", "Expires=Thu, 01 Jan 1970 00:00:00 GMT"]
    parts.extend(_attributes(options, secure))
    return "; ".join(parts)


def cookie_is_secure(options: CookieOptions, scheme: str, host: str | None) -> bool:
    if options.secure is not None:
        return options.secure
    if options.same_site == "none" or options.partitioned:
        return True
    return not is_local_plain_http(scheme, host)

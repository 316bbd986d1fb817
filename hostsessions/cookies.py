"""Reading the session ID from a Cookie header and writing the Set-Cookie header."""

from __future__ import annotations

import ipaddress
from typing import Literal, NamedTuple

from .config import CookieOptions
from .ids import ID_PATTERN, is_valid_session_id

__all__ = [
    "DEVELOPMENT_HOSTS",
    "DEVELOPMENT_SUFFIXES",
    "EXPIRE_COOKIE",
    "MAX_COOKIE_HEADER",
    "CookieDecision",
    "cookie_is_secure",
    "expire_cookie_header",
    "is_development_host",
    "is_local_plain_http",
    "proxy_says_https",
    "session_id_from_cookie_header",
    "set_cookie_header",
]

MAX_COOKIE_HEADER = 16 * 1024  # beyond any browser's limit: refuse to scan giant headers
# Plain-http requests to these hosts get a cookie without Secure, so that development
# servers and the frameworks' own test clients keep the session: "testserver" is the host
# of Starlette's and FastAPI's TestClient (and of Django's test Client), "testserver.local"
# Litestar's; ".test" and ".localhost" are reserved for testing and loopback (RFC 6761).
DEVELOPMENT_HOSTS = frozenset({"localhost", "testserver", "testserver.local"})
DEVELOPMENT_SUFFIXES = (".localhost", ".test")


def session_id_from_cookie_header(header: str | None, name: str) -> str | None:
    """The first well-formed session ID among the cookies called ``name``.

    Malformed, oversized or forged values are simply not IDs: the request then starts
    without a session, which is never an error.
    """
    if not header or len(header) > MAX_COOKIE_HEADER or name not in header:
        return None
    for part in header.split(";"):
        cookie_name, sep, value = part.partition("=")
        if sep and cookie_name.strip() == name:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if ID_PATTERN.fullmatch(value) is not None or is_valid_session_id(value):
                return value  # (an ID as the core issues them: checked without a call)
    return None


class CookieDecision(NamedTuple):
    """What a response must tell the browser about the session cookie: point it at
    ``session_id`` (``action="set"``) or make it forget the cookie (``"expire"``, no ID).

    The state machine decides (:meth:`hostsessions.state.SessionState.cookie_action`);
    :meth:`header` writes it. A tuple, so it compares equal to ``("set", id)``.
    """

    action: Literal["set", "expire"]
    session_id: str | None = None

    def header(self, options: CookieOptions, *, secure: bool) -> str:
        """The Set-Cookie value for this decision."""
        if self.action == "set" and self.session_id is not None:
            return set_cookie_header(options, self.session_id, secure=secure)
        return expire_cookie_header(options, secure=secure)


#: The decision to make the browser forget its session cookie.
EXPIRE_COOKIE = CookieDecision("expire")


def is_development_host(host: str | None) -> bool:
    """Whether ``host`` (a Host header: name or address, maybe with a port) names this
    machine or a test client's made-up host, never a public site."""
    if not host:
        return False
    hostname = host.strip().lower()
    if hostname.startswith("["):
        hostname = hostname[1 : hostname.find("]")]
    elif hostname.count(":") == 1:
        hostname = hostname.rsplit(":", 1)[0]
    hostname = hostname.rstrip(".")
    if hostname in DEVELOPMENT_HOSTS or hostname.endswith(DEVELOPMENT_SUFFIXES):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def proxy_says_https(x_forwarded_proto: str | None, forwarded: str | None) -> bool:
    """Whether a proxy in front reports that the client used https
    (``X-Forwarded-Proto: https`` or ``Forwarded: proto=https``, any hop)."""
    if x_forwarded_proto:
        protos = (part.strip().lower() for part in x_forwarded_proto.split(","))
        if any(proto in ("https", "wss") for proto in protos):
            return True
    if forwarded:
        for element in forwarded.replace(",", ";").split(";"):
            name, sep, value = element.partition("=")
            proto = value.strip().strip('"').lower()
            if sep and name.strip().lower() == "proto" and proto in ("https", "wss"):
                return True
    return False


def is_local_plain_http(
    scheme: str,
    host: str | None,
    *,
    x_forwarded_proto: str | None = None,
    forwarded: str | None = None,
) -> bool:
    """The one case where the cookie is not Secure: plain http to a development or test
    host, with no proxy saying the client came over https."""
    return (
        scheme in ("http", "ws")
        and is_development_host(host)
        and not proxy_says_https(x_forwarded_proto, forwarded)
    )


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


def cookie_is_secure(
    options: CookieOptions,
    scheme: str,
    host: str | None,
    *,
    x_forwarded_proto: str | None = None,
    forwarded: str | None = None,
) -> bool:
    """Whether the Set-Cookie gets ``Secure`` (the rule is in docs/security.md).

    An explicit ``secure=`` wins; ``same_site="none"`` and ``partitioned`` need Secure;
    otherwise every request is Secure except plain http to a development or test host
    that no proxy marks as https. Under- or mis-reporting proxies err towards Secure:
    the forwarded headers can only add it.
    """
    if options.secure is not None:
        return options.secure
    if options.same_site == "none" or options.partitioned:
        return True
    return not is_local_plain_http(
        scheme, host, x_forwarded_proto=x_forwarded_proto, forwarded=forwarded
    )

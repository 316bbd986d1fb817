"""The session cookie: attributes, the Secure rule, and reading IDs from Cookie headers."""

from __future__ import annotations

import pytest

from hostsessions import CookieOptions, SessionConfigError
from hostsessions.cookies import (
    cookie_is_secure,
    expire_cookie_header,
    is_local_plain_http,
    session_id_from_cookie_header,
    set_cookie_header,
)
from hostsessions.ids import new_session_id

SID = new_session_id()


def test_default_cookie_is_httponly_lax_root_path() -> None:
    header = set_cookie_header(CookieOptions(), SID, secure=True)
    assert header == f"hostsessions={SID}; Path=/; HttpOnly; SameSite=Lax; Secure"


def test_every_option_reaches_the_header() -> None:
    options = CookieOptions(
        name="sid",
        domain="example.com",
        path="/shop",
        same_site="strict",
        max_age=3600,
        partitioned=True,
    )
    header = set_cookie_header(options, SID, secure=True)
    assert header == (
        f"sid={SID}; Max-Age=3600; Path=/shop; HttpOnly; SameSite=Strict; "
        "Domain=example.com; Secure; Partitioned"
    )


def test_expiring_cookie_clears_value_with_the_same_scope() -> None:
    header = expire_cookie_header(CookieOptions(name="sid", path="/shop"), secure=False)
    assert header.startswith("sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/shop")


@pytest.mark.parametrize(
    ("scheme", "host", "secure"),
    [
        ("http", "localhost:8000", False),
        ("http", "127.0.0.1", False),
        ("http", "[::1]:8000", False),
        ("http", "app.localhost", False),
        ("https", "localhost", True),
        ("http", "shop.example.com", True),
        ("http", "localhost.example.com", True),
        ("http", None, True),
        ("ws", "localhost", False),
        ("http", "testserver", False),
        ("http", "testserver.local", False),
        ("http", "shop.test:8000", False),
        ("http", "127.0.0.2:8000", False),
        ("http", "::1", False),
        ("https", "testserver", True),
        ("wss", "testserver", True),
        ("http", "testserver.example.com", True),
        ("http", "mytestserver", True),
        ("http", "10.0.0.7", True),
        ("http", "192.168.1.20:8000", True),
        ("http", "shop.local", True),
    ],
)
def test_secure_unless_plain_http_to_a_development_host(
    scheme: str, host: str | None, secure: bool
) -> None:
    assert cookie_is_secure(CookieOptions(), scheme, host) is secure
    assert is_local_plain_http(scheme, host) is not secure


@pytest.mark.parametrize(
    ("x_forwarded_proto", "forwarded"),
    [
        ("https", None),
        ("HTTPS", None),
        ("https, http", None),
        (None, "for=192.0.2.60;proto=https;by=203.0.113.43"),
        (None, 'for="[2001:db8::1]";proto="https"'),
        (None, "for=192.0.2.43, for=198.51.100.17;proto=https"),
    ],
)
def test_a_proxy_reporting_https_makes_a_development_host_secure(
    x_forwarded_proto: str | None, forwarded: str | None
) -> None:
    assert cookie_is_secure(
        CookieOptions(),
        "http",
        "localhost",
        x_forwarded_proto=x_forwarded_proto,
        forwarded=forwarded,
    )


@pytest.mark.parametrize(
    ("x_forwarded_proto", "forwarded"),
    [("http", None), (None, "for=192.0.2.60;proto=http"), ("", ""), (None, "proto")],
)
def test_a_proxy_reporting_http_keeps_a_development_host_plain(
    x_forwarded_proto: str | None, forwarded: str | None
) -> None:
    assert not cookie_is_secure(
        CookieOptions(),
        "http",
        "testserver",
        x_forwarded_proto=x_forwarded_proto,
        forwarded=forwarded,
    )


def test_forwarded_headers_never_remove_secure_from_a_public_host() -> None:
    assert cookie_is_secure(CookieOptions(), "http", "shop.example.com", x_forwarded_proto="http")


def test_explicit_secure_setting_wins() -> None:
    assert cookie_is_secure(CookieOptions(secure=True), "http", "localhost") is True
    assert cookie_is_secure(CookieOptions(secure=False), "https", "example.com") is False


def test_same_site_none_and_partitioned_are_always_secure() -> None:
    assert cookie_is_secure(CookieOptions(same_site="none"), "http", "localhost") is True
    assert cookie_is_secure(CookieOptions(partitioned=True), "http", "localhost") is True
    with pytest.raises(SessionConfigError, match="Secure"):
        CookieOptions(partitioned=True, secure=False)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        (f"hostsessions={SID}", SID),
        (f"other={SID}", None),
        (f"hostsessions_x={SID}", None),
        (f"xhostsessions={SID}", None),
        (f"hostsessions=bad; hostsessions={SID}", SID),
    ],
)
def test_reading_the_id_from_a_cookie_header(header: str | None, expected: str | None) -> None:
    assert session_id_from_cookie_header(header, "hostsessions") == expected

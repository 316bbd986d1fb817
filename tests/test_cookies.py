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
    ],
)
def test_secure_unless_plain_http_to_localhost(scheme: str, host: str | None, secure: bool) -> None:
    assert cookie_is_secure(CookieOptions(), scheme, host) is secure
    assert is_local_plain_http(scheme, host) is not secure


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

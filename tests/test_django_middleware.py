"""hostsessions.django.SessionMiddleware: Django's SessionMiddleware for the hostsessions
engine, at less cost. Every response must be what Django's own middleware sends (the
cookie byte for byte, Vary, the cookie expired when the session ends empty, no save on a
5xx), and the admin and auth must accept it.

The engine's behaviour under both middlewares, with the test clients and under gunicorn
and uvicorn, is in tests/test_django.py (its ``store`` fixture and its servers run with
both)."""

from __future__ import annotations

import asyncio
import pickle
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings

from hostsessions.django import SessionMiddleware, SessionStore
from hostsessions.drivers.memory_driver import MemoryDriver
from tests.django_site import short_sessions
from tests.helpers import CountingDriver
from tests.test_django import (
    ADMIN,
    COOKIE,
    DJANGO_MIDDLEWARE,
    HOSTSESSIONS_MIDDLEWARE,
    session_id,
    site_db,  # noqa: F401 - the site's database, migrated (an autouse fixture)
    stored,
    with_session_middleware,
)

OURS = {"MIDDLEWARE": with_session_middleware(HOSTSESSIONS_MIDDLEWARE)}
DJANGOS = {"MIDDLEWARE": with_session_middleware(DJANGO_MIDDLEWARE)}


@pytest.fixture
def store() -> Iterator[MemoryDriver]:
    driver = MemoryDriver()
    with override_settings(HOSTSESSIONS={"driver": driver}):
        yield driver


def responses(path: str, middleware: dict[str, Any], **settings: Any) -> list[HttpResponse]:
    """The responses to ``/set/a``, ``path`` and ``/dump`` through a fresh test client."""
    with override_settings(**middleware, **settings):
        client = Client(raise_request_exception=False)
        return [client.get("/set/a"), client.get(path), client.get("/dump")]


def set_cookie(response: HttpResponse) -> str | None:
    morsel = response.cookies.get(COOKIE)
    return None if morsel is None else morsel.OutputString()


def without_the_id(cookie: str | None, response: HttpResponse) -> str | None:
    """The Set-Cookie text with the session ID (random) taken out."""
    morsel = response.cookies.get(COOKIE)
    return None if cookie is None or morsel is None else cookie.replace(morsel.value, "ID")


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_DOMAIN": ".example.com"},
        {"SESSION_COOKIE_HTTPONLY": False, "SESSION_COOKIE_SAMESITE": "Strict"},
        {"SESSION_COOKIE_SAMESITE": None, "SESSION_COOKIE_PATH": "/shop"},
        {"SESSION_EXPIRE_AT_BROWSER_CLOSE": True},
        {"SESSION_COOKIE_AGE": 300, "SESSION_COOKIE_NAME": "sid"},
    ],
    ids=["defaults", "secure-domain", "no-httponly-strict", "no-samesite-path", "browser", "age"],
)
def test_the_cookie_and_vary_are_what_djangos_middleware_sends(
    store: MemoryDriver, settings: dict[str, Any]
) -> None:
    name = settings.get("SESSION_COOKIE_NAME", COOKIE)
    theirs = responses("/set/b", DJANGOS, **settings)
    ours = responses("/set/b", OURS, **settings)
    for mine, django in zip(ours, theirs, strict=True):
        assert mine.status_code == django.status_code == 200
        assert mine.get("Vary") == django.get("Vary")
        mine_cookie, django_cookie = mine.cookies.get(name), django.cookies.get(name)
        assert (mine_cookie is None) == (django_cookie is None)
        if mine_cookie is not None and django_cookie is not None:
            assert dict(mine_cookie) == dict(django_cookie) | {"expires": mine_cookie["expires"]}
            assert mine_cookie.OutputString().replace(mine_cookie.value, "ID") == (
                django_cookie.OutputString()
                .replace(django_cookie.value, "ID")
                .replace(django_cookie["expires"], mine_cookie["expires"])
            )
            # the header line as Django's WSGI handler writes it
            assert mine_cookie.output(header="").replace(mine_cookie.value, "ID") == (
                django_cookie.output(header="")
                .replace(django_cookie.value, "ID")
                .replace(django_cookie["expires"], mine_cookie["expires"])
            )
    assert ours[-1].json()["items"] == {"a": True, "b": True}


def test_a_cookie_changed_by_later_code_is_written_as_changed(store: MemoryDriver) -> None:
    with override_settings(**OURS):
        response = Client().get("/set/a")
        morsel = response.cookies[COOKIE]
        morsel["samesite"] = "Strict"
        assert "SameSite=Strict" in morsel.OutputString()
        assert "SameSite=Strict" in response.cookies.output()


def test_a_response_with_the_cookie_pickles_as_djangos_cache_middleware_needs(
    store: MemoryDriver,
) -> None:
    with override_settings(**OURS):
        response = Client().get("/set/a")
    again = pickle.loads(pickle.dumps(response.cookies))
    assert again.output() == response.cookies.output()
    assert again[COOKIE].value == response.cookies[COOKIE].value


def test_set_expiry_gives_the_cookie_its_max_age(store: MemoryDriver) -> None:
    with override_settings(**OURS):
        session = SessionStore()
        session["a"] = 1
        session.set_expiry(300)
        session.save()
        client = Client()
        client.cookies[COOKIE] = session.session_key or ""
        response = client.get("/set/b")
        assert response.cookies[COOKIE]["max-age"] == 300
        assert stored(store, session_id(client)) == {"a": 1, "b": True, "_session_expiry": 300}


@pytest.mark.parametrize("middleware", [OURS, DJANGOS], ids=["hostsessions", "django"])
def test_an_engine_subclass_with_its_own_lifetime_sets_cookie_and_record_by_it(
    store: MemoryDriver, middleware: dict[str, Any]
) -> None:
    with override_settings(**middleware, SESSION_ENGINE="tests.django_site.short_sessions"):
        client = Client()
        before = time.time()
        response = client.get("/set/a")
    assert response.cookies[COOKIE]["max-age"] == short_sessions.LIFETIME
    record = store.read(session_id(client) or "")
    assert record is not None
    assert record.expires_at is not None
    lifetime = short_sessions.LIFETIME
    assert before + lifetime - 1 <= record.expires_at <= time.time() + lifetime


def test_a_session_emptied_expires_the_cookie_as_djangos_does(store: MemoryDriver) -> None:
    mine = responses("/destroy", OURS)[1]
    django = responses("/destroy", DJANGOS)[1]
    assert set_cookie(mine) == set_cookie(django)
    assert mine.cookies[COOKIE]["max-age"] == 0
    assert mine.get("Vary") == django.get("Vary") == "Cookie"


def test_an_existing_vary_header_is_extended(store: MemoryDriver) -> None:
    def view(request: HttpRequest) -> HttpResponse:
        request.session["a"] = 1
        response = HttpResponse("ok")
        response["Vary"] = "Accept-Encoding"
        return response

    response = SessionMiddleware(view)(RequestFactory().get("/"))
    assert response["Vary"] == "Accept-Encoding, Cookie"


def test_a_5xx_response_saves_nothing() -> None:
    def failing_view(request: HttpRequest) -> HttpResponse:
        request.session["a"] = 1
        return HttpResponse("broken", status=503)

    driver = CountingDriver()
    with override_settings(HOSTSESSIONS={"driver": driver}):
        response = SessionMiddleware(failing_view)(RequestFactory().get("/"))
    assert response.status_code == 503
    assert COOKIE not in response.cookies
    assert driver.calls == {}


def test_with_another_engine_it_is_djangos_middleware() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        request.session["a"] = 1
        return HttpResponse("ok")

    engine = "django.contrib.sessions.backends.signed_cookies"
    with override_settings(SESSION_ENGINE=engine):
        response = SessionMiddleware(view)(RequestFactory().get("/"))
    assert COOKIE in response.cookies
    assert response.cookies[COOKIE].value.count(":") >= 2, "a signed cookie, not an ID"


def test_the_admin_checks_accept_it() -> None:
    with override_settings(**OURS):
        call_command("check", "--fail-level", "ERROR")


def test_async_client_under_the_middleware(store: MemoryDriver) -> None:
    async def scenario() -> None:
        with override_settings(**OURS):
            client = AsyncClient()
            await client.get("/async/set/before")
            before = session_id(client)
            response = await client.post("/async/login", ADMIN)
            assert response.status_code == 200
            after = session_id(client)
            assert after not in (None, before)
            assert (await client.get("/async/whoami")).content == b"admin"
            await client.post("/async/logout")
            assert (await client.get("/async/whoami")).status_code == 401

    asyncio.run(scenario())

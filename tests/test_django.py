"""Django on hostsessions (SESSION_ENGINE = "hostsessions.django"): request.session, auth,
the admin and messages through Django's test clients (sync and async), ``manage.py test``,
gunicorn (WSGI) and uvicorn (ASGI); the full API from views; expiry, errors, outages and
the core's concurrency rules through the engine."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The site's settings for this process only: the environment is put back after setup, so
# that Django projects other tests start in subprocesses do not inherit them. The database's
# folder lives as long as this module and is removed when the test process exits.
_SITE_DIR = tempfile.TemporaryDirectory(prefix="django-site-")
SITE_DB = os.path.join(_SITE_DIR.name, "db.sqlite3")
_saved_environ = dict(os.environ)
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.django_site.settings"
os.environ["DJANGO_SITE_DB"] = SITE_DB

import django  # noqa: E402

django.setup()
os.environ.clear()
os.environ.update(_saved_environ)

import httpx  # noqa: E402
import pytest  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import AsyncClient, Client, override_settings  # noqa: E402

from hostsessions import (  # noqa: E402
    SessionSerializationError,
    SessionStorageError,
    SessionTooLargeError,
)
from hostsessions.django import SessionStore  # noqa: E402
from hostsessions.drivers.memory_driver import MemoryDriver  # noqa: E402
from hostsessions.ids import new_session_id  # noqa: E402
from hostsessions.state import decode_entries  # noqa: E402
from hostsessions.testing import holds_no_session  # noqa: E402
from hostsessions.testing.server import (  # noqa: E402
    check_concurrent_keys_at,
    check_concurrent_updates_at,
    check_no_resurrection_at,
)
from tests.helpers import CountingDriver  # noqa: E402
from tests.servers import ROOT, gunicorn, uvicorn  # noqa: E402

COOKIE = "sessionid"
ADMIN = {"username": "admin", "password": "s3cret-pass"}


@pytest.fixture(scope="module", autouse=True)
def site_db() -> None:
    """The site's database, migrated, with one superuser (shared with the servers)."""
    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", ADMIN["password"])


DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
HOSTSESSIONS_MIDDLEWARE = "hostsessions.django.SessionMiddleware"


def with_session_middleware(middleware: str) -> list[str]:
    """The site's MIDDLEWARE with ``middleware`` in place of its session middleware."""
    return [middleware if m == settings.SESSION_MIDDLEWARE else m for m in settings.MIDDLEWARE]


@pytest.fixture(params=[DJANGO_MIDDLEWARE, HOSTSESSIONS_MIDDLEWARE], ids=["django", "hostsessions"])
def store(request: pytest.FixtureRequest) -> Iterator[MemoryDriver]:
    """A memory store for the engine, under Django's session middleware and under
    hostsessions' (each test that takes it runs with both)."""
    driver = MemoryDriver()
    middleware = with_session_middleware(request.param)
    with override_settings(HOSTSESSIONS={"driver": driver}, MIDDLEWARE=middleware):
        yield driver


def stored(store: Any, sid: str | None) -> dict[str, Any]:
    assert sid is not None
    record = store.read(sid)
    assert record is not None, "no record in the store"
    entries = decode_entries(record.payload)
    assert entries is not None
    return {key: slot.value for key, slot in entries.items()}


def session_id(client: Client | AsyncClient) -> str | None:
    cookie = client.cookies.get(COOKIE)
    return cookie.value if cookie is not None and cookie.value else None


def admin_login(client: Client) -> None:
    response = client.post("/admin/login/?next=/admin/", {**ADMIN, "next": "/admin/"}, follow=False)
    assert response.status_code == 302, response.content[:500]
    assert "Site administration" in client.get("/admin/").content.decode()


# ---- Django's test client --------------------------------------------------------------


def test_request_session_is_kept_in_the_hostsessions_store(store: MemoryDriver) -> None:
    client = Client()
    for expected in (1, 2):
        client.get("/set/a")
        assert client.get("/dump").json()["items"] == {"a": True}
        assert stored(store, session_id(client)) == {"a": True}, expected


def test_admin_login_rotates_the_id_and_logout_destroys_it(store: MemoryDriver) -> None:
    client = Client()
    client.get("/set/before-login")
    anonymous_id = session_id(client)
    admin_login(client)
    logged_in_id = session_id(client)
    assert logged_in_id is not None
    assert logged_in_id != anonymous_id
    assert holds_no_session(store.read(anonymous_id or "")), "login must retire the old record"
    data = stored(store, logged_in_id)
    assert data["_auth_user_id"] == str(User.objects.get(username="admin").pk)
    assert data["before-login"] is True
    response = client.post("/admin/logout/")
    assert response.status_code == 200
    assert holds_no_session(store.read(logged_in_id)), "logout must delete the session"
    assert session_id(client) is None
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "storage",
    [
        "django.contrib.messages.storage.session.SessionStorage",
        "django.contrib.messages.storage.fallback.FallbackStorage",
    ],
)
def test_messages_round_trip(store: MemoryDriver, storage: str) -> None:
    # 5000 random characters do not fit the fallback's cookie: they go to the session
    text = secrets.token_hex(2500)
    with override_settings(MESSAGE_STORAGE=storage):
        client = Client()
        response = client.get(f"/messages/add?text={text}")
        assert response.status_code == 302
        assert "_messages" in stored(store, session_id(client))
        assert client.get(response["Location"]).json() == [text]
        assert client.get("/messages/").json() == []


def test_full_api_from_a_view(store: MemoryDriver) -> None:
    client = Client()
    first = client.get("/api").json()
    assert first == {"visits": 1, "short": "lived", "id": session_id(client)}
    second = client.get("/api?regenerate=1").json()
    assert second["visits"] == 2
    assert second["id"] == session_id(client) != first["id"]
    assert holds_no_session(store.read(first["id"]))
    time.sleep(1.1)
    assert client.get("/dump").json()["items"] == {"visits": 2}, "short expired after 1 s"


def test_in_place_changes_are_saved(store: MemoryDriver) -> None:
    session = SessionStore()
    session["cart"] = []
    session["cart"].append("apple")
    session.save()
    again = SessionStore(session.session_key)
    again["cart"].append("pear")
    again.modified = True
    again.save()
    assert SessionStore(session.session_key)["cart"] == ["apple", "pear"]


def test_session_expiry_becomes_the_keys_ttl(store: MemoryDriver) -> None:
    session = SessionStore()
    session["a"] = 1
    session.save()
    record = store.read(session.session_key)
    assert record is not None
    assert record.expires_at == pytest.approx(time.time() + settings.SESSION_COOKIE_AGE, abs=5)
    session.set_expiry(60)
    session.save()
    record = store.read(session.session_key)
    assert record is not None
    assert record.expires_at == pytest.approx(time.time() + 60, abs=5), (
        "set_expiry must shorten the stored session too, not only the cookie"
    )
    assert SessionStore(session.session_key).get_expiry_age() == 60


def test_every_save_renews_the_whole_sessions_lifetime(store: MemoryDriver) -> None:
    # Django's rule: a session lives SESSION_COOKIE_AGE from its last save, login keys too
    with override_settings(SESSION_COOKIE_AGE=2):
        client = Client()
        client.get("/set/early")
        time.sleep(1.2)
        client.get("/set/later")  # a save: "early" gets two more seconds as well
        time.sleep(1.2)
        assert client.get("/dump").json()["items"] == {"early": True, "later": True}
        time.sleep(1.0)
        assert client.get("/dump").json()["items"] == {}


def test_save_every_request_renews_without_changes(store: MemoryDriver) -> None:
    with override_settings(SESSION_COOKIE_AGE=2, SESSION_SAVE_EVERY_REQUEST=True):
        client = Client()
        client.get("/set/a")
        for _ in range(3):
            time.sleep(0.8)
            assert client.get("/dump").json()["items"] == {"a": True}


@pytest.mark.parametrize("middleware", [DJANGO_MIDDLEWARE, HOSTSESSIONS_MIDDLEWARE])
def test_save_every_request_writes_nothing_within_a_second_of_the_last_renewal(
    middleware: str,
) -> None:
    # the whole second is the renewal's unit: a request that changes nothing, less than a
    # second after the session's last save, has nothing to renew
    driver = CountingDriver()
    with override_settings(
        HOSTSESSIONS={"driver": driver},
        SESSION_SAVE_EVERY_REQUEST=True,
        MIDDLEWARE=with_session_middleware(middleware),
    ):
        client = Client()
        client.get("/set/a")
        driver.reset()
        assert client.get("/dump").json()["items"] == {"a": True}
        assert driver.calls == {"read": 1}
        time.sleep(1.05)
        client.get("/dump")
        assert driver.calls == {"read": 2, "write": 1}, "a second later, the save renews"


def test_expiry_in_the_past_ends_the_session(store: MemoryDriver) -> None:
    session = SessionStore()
    session["a"] = 1
    session.set_expiry(-10)
    session.save()
    time.sleep(0.01)  # a date in the past is stored as expiring one millisecond later
    assert dict(SessionStore(session.session_key).items()) == {}


def test_unsupported_value_names_the_key(store: MemoryDriver) -> None:
    session = SessionStore()
    with pytest.raises(SessionSerializationError, match="'when'"):
        session["when"] = object()


def test_oversized_session_fails_and_nothing_is_written() -> None:
    driver = MemoryDriver(max_payload_bytes=300)
    with override_settings(HOSTSESSIONS={"driver": driver}):
        session = SessionStore()
        session["small"] = True
        session.save()
        session["blob"] = "x" * 1000
        with pytest.raises(SessionTooLargeError):
            session.save()
        assert stored(driver, session.session_key) == {"small": True}


class FailingWrites(MemoryDriver):
    failing = False

    def write(self, key: str, payload: str, **kwargs: Any) -> str:
        if self.failing:
            raise SessionStorageError("the session store is unreachable")
        return super().write(key, payload, **kwargs)


def test_store_outage_is_a_500_and_the_session_is_untouched() -> None:
    driver = FailingWrites()
    with override_settings(HOSTSESSIONS={"driver": driver}):
        client = Client(raise_request_exception=False)
        client.get("/set/kept")
        driver.failing = True
        assert client.get("/set/lost").status_code == 500
        driver.failing = False
        assert stored(driver, session_id(client)) == {"kept": True}


def test_unknown_session_id_is_never_adopted(store: MemoryDriver) -> None:
    forged = new_session_id()
    client = Client()
    client.cookies[COOKIE] = forged
    client.get("/set/a")
    assert session_id(client) not in (None, forged)
    assert holds_no_session(store.read(forged))


def test_untouched_session_costs_no_storage_call() -> None:
    driver = CountingDriver()
    with override_settings(HOSTSESSIONS={"driver": driver}):
        client = Client()
        client.get("/set/a")
        driver.reset()
        response = client.get("/plain")
        assert driver.calls == {}
        assert "Set-Cookie" not in str(response.cookies)
        client.get("/set/b")
        assert driver.calls == {"read": 1, "write": 1}


def test_clearsessions_sweeps_a_filesystem_store(tmp_path: Path) -> None:
    base = tmp_path / "sessions"
    with override_settings(HOSTSESSIONS={"driver": "fs", "options": {"base": str(base)}}):
        for expiry in (-10, 3600):
            session = SessionStore()
            session["a"] = 1
            session.set_expiry(expiry)
            session.save()
        assert len(list(base.rglob("*.session"))) == 2
        time.sleep(0.01)
        call_command("clearsessions")
        assert len(list(base.rglob("*.session"))) == 1


def test_async_client_login_logout_and_async_views(store: MemoryDriver) -> None:
    async def scenario() -> None:
        client = AsyncClient()
        assert (await client.get("/async/whoami")).status_code == 401
        await client.get("/async/set/before")
        before = session_id(client)
        response = await client.post("/async/login", ADMIN)
        assert response.status_code == 200
        after = session_id(client)
        assert after not in (None, before), "alogin must rotate the ID (acycle_key)"
        assert (await client.get("/async/whoami")).content == b"admin"
        assert (await client.get("/async/incr")).json() == 1
        dump = (await client.get("/async/dump")).json()
        assert dump["items"]["before"] is True
        assert dump["items"]["n"] == 1
        await client.post("/async/logout")
        assert holds_no_session(store.read(after or "")), "alogout must delete the session (aflush)"
        assert (await client.get("/async/whoami")).status_code == 401

    asyncio.run(scenario())


def test_async_test_client_login_helper(store: MemoryDriver) -> None:
    async def scenario() -> None:
        client = AsyncClient()
        assert await client.alogin(**ADMIN)
        assert (await client.get("/async/whoami")).content == b"admin"
        session = await client.asession()
        assert await session.aget("_auth_user_id") is not None

    asyncio.run(scenario())


def test_manage_py_test_runs_the_sites_test_cases(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/django_site/manage.py"),
            "test",
            "tests.django_site.cases",
            "-v",
            "2",
        ],
        cwd=tmp_path,
        env={**os.environ, "DJANGO_SITE_DB": str(tmp_path / "db.sqlite3")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Ran 4 tests" in result.stderr
    assert (tmp_path / ".hostsessions" / "sessions").exists(), "zero config: the local store"


# ---- real servers: gunicorn (WSGI) and uvicorn (ASGI), with each session middleware ------


def admin_round_trip(url: str) -> None:
    """Admin login, a page only staff see, logout, the page refused; and messages."""
    with httpx.Client(base_url=url) as client:
        page = client.get("/admin/login/?next=/admin/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert match, page.text[:500]
        response = client.post(
            "/admin/login/?next=/admin/",
            data={**ADMIN, "next": "/admin/", "csrfmiddlewaretoken": match.group(1)},
        )
        assert response.status_code == 302, response.text[:500]
        assert "Site administration" in client.get("/admin/").text
        token = client.cookies["csrftoken"]
        assert client.post("/admin/logout/", data={"csrfmiddlewaretoken": token}).status_code == 200
        assert client.get("/admin/").status_code == 302
        response = client.get("/messages/add?text=hello")
        assert response.status_code == 302
        assert client.get("/messages/").json() == ["hello"]
        assert client.get("/messages/").json() == []


SESSION_MIDDLEWARES = pytest.mark.parametrize(
    "session_middleware",
    [DJANGO_MIDDLEWARE, HOSTSESSIONS_MIDDLEWARE],
    ids=["django", "hostsessions"],
    indirect=True,
)


@pytest.fixture(scope="module")
def session_middleware(request: pytest.FixtureRequest) -> str:
    """The session middleware the servers' site runs with (both, by SESSION_MIDDLEWARES)."""
    return str(request.param)


def server_env(session_middleware: str) -> dict[str, str]:
    return {"DJANGO_SITE_DB": SITE_DB, "DJANGO_SITE_SESSION_MIDDLEWARE": session_middleware}


@pytest.fixture(scope="module")
def wsgi_url(tmp_path_factory: pytest.TempPathFactory, session_middleware: str) -> Iterator[str]:
    cwd = tmp_path_factory.mktemp("django-gunicorn")
    env = server_env(session_middleware)
    with gunicorn("tests.django_site.wsgi:application", cwd=cwd, env=env) as url:
        yield url


@pytest.fixture(scope="module")
def asgi_url(tmp_path_factory: pytest.TempPathFactory, session_middleware: str) -> Iterator[str]:
    cwd = tmp_path_factory.mktemp("django-uvicorn")
    env = server_env(session_middleware)
    with uvicorn("tests.django_site.asgi:application", cwd=cwd, env=env) as url:
        yield url


@SESSION_MIDDLEWARES
def test_gunicorn_admin_login_and_messages(wsgi_url: str) -> None:
    admin_round_trip(wsgi_url)


@SESSION_MIDDLEWARES
def test_uvicorn_admin_login_and_messages(asgi_url: str) -> None:
    admin_round_trip(asgi_url)


@SESSION_MIDDLEWARES
def test_gunicorn_fifty_concurrent_updates(wsgi_url: str) -> None:
    check_concurrent_updates_at(wsgi_url, COOKIE, n=50)


@SESSION_MIDDLEWARES
def test_gunicorn_fifty_concurrent_keys(wsgi_url: str) -> None:
    check_concurrent_keys_at(wsgi_url, COOKIE, n=50)


@SESSION_MIDDLEWARES
def test_gunicorn_no_resurrection_after_destroy(wsgi_url: str) -> None:
    # Django answers the late request 400 (SessionInterrupted), as with its own backends
    check_no_resurrection_at(wsgi_url, COOKIE, late_statuses=(400,))


@SESSION_MIDDLEWARES
def test_uvicorn_fifty_concurrent_updates(asgi_url: str) -> None:
    check_concurrent_updates_at(f"{asgi_url}/async", COOKIE, n=50)


@SESSION_MIDDLEWARES
def test_uvicorn_fifty_concurrent_keys(asgi_url: str) -> None:
    check_concurrent_keys_at(f"{asgi_url}/async", COOKIE, n=50)


@SESSION_MIDDLEWARES
def test_uvicorn_no_resurrection_after_destroy(asgi_url: str) -> None:
    check_no_resurrection_at(f"{asgi_url}/async", COOKIE, late_statuses=(400,))

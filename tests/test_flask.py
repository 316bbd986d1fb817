"""Flask on hostsessions: ``flask.session``, ``flash`` and Flask-Login through Flask's own
test client and through gunicorn, with no SECRET_KEY; the full API from a view; the
core's concurrency rules through the integration."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask, session
from flask.testing import FlaskClient

from hostsessions import (
    SessionConfig,
    SessionSerializationError,
    SessionStorageError,
    SessionTooLargeError,
)
from hostsessions.drivers.memory_driver import MemoryDriver
from hostsessions.flask import HostSessions, get_session
from hostsessions.ids import is_valid_session_id
from hostsessions.state import GONE_KEY, decode_entries
from hostsessions.testing import holds_no_session
from hostsessions.testing.server import (
    check_concurrent_keys_at,
    check_concurrent_updates_at,
    check_no_resurrection_at,
)
from tests.flask_site import PASSWORDS, create_app
from tests.helpers import CountingDriver, load_module
from tests.servers import gunicorn

COOKIE = "hostsessions"
ADA = {"name": "ada", "password": PASSWORDS["ada"]}


@pytest.fixture
def store() -> MemoryDriver:
    return MemoryDriver()


@pytest.fixture
def app(store: MemoryDriver) -> Flask:
    app = create_app(SessionConfig(driver=store))
    app.testing = True
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def session_id(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return None if cookie is None else cookie.value


def stored(store: MemoryDriver, sid: str | None) -> dict[str, Any]:
    assert sid is not None
    record = store.read(sid)
    assert record is not None, "no record in the store"
    entries = decode_entries(record.payload)
    assert entries is not None
    return {key: slot.value for key, slot in entries.items()}


def test_flask_session_works_without_a_secret_key(store: MemoryDriver) -> None:
    app = Flask(__name__)
    HostSessions(app, SessionConfig(driver=store))

    @app.get("/")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    client = app.test_client()
    assert app.secret_key is None
    assert [client.get("/").text for _ in range(3)] == ["1", "2", "3"]
    # the cookie carries only the opaque ID; the data is in the store
    sid = session_id(client)
    assert is_valid_session_id(sid)
    assert stored(store, sid) == {"n": 3}


def test_flask_login_login_protected_logout_refused(client: FlaskClient) -> None:
    assert client.get("/protected").status_code == 401
    response = client.post("/login", data=ADA, follow_redirects=True)
    assert response.json == [["message", "welcome, ada"]]
    assert client.get("/protected").text == "hello ada"
    response = client.post("/logout", follow_redirects=True)
    assert response.json == [["message", "logged out"]]
    assert client.get("/protected").status_code == 401


def test_wrong_password_is_refused(client: FlaskClient) -> None:
    assert client.post("/login", data={**ADA, "password": "nope"}).status_code == 403
    assert client.get("/protected").status_code == 401


def test_login_gives_the_session_a_new_id(client: FlaskClient, store: MemoryDriver) -> None:
    client.get("/set/before")
    before = session_id(client)
    client.post("/login", data=ADA)
    after = session_id(client)
    assert after is not None
    assert after != before
    assert holds_no_session(store.read(before or "")), "the pre-login record must be gone"
    assert stored(store, after)["before"] is True, "the data moves to the new ID"


def test_flash_survives_a_redirect_once(client: FlaskClient) -> None:
    response = client.post("/flash", data={"message": "saved", "category": "info"})
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).json == [["info", "saved"]]
    assert client.get("/messages").json == []


def test_in_place_changes_are_saved(app: Flask, client: FlaskClient) -> None:
    @app.get("/cart/<item>")
    def add(item: str) -> Any:
        session.setdefault("cart", []).append(item)
        return session["cart"]

    assert client.get("/cart/apple").json == ["apple"]
    assert client.get("/cart/pear").json == ["apple", "pear"]


def test_full_api_from_a_view(app: Flask, client: FlaskClient, store: MemoryDriver) -> None:
    @app.get("/api")
    def api() -> Any:
        core = get_session()
        core.set("short", "lived", ttl=1)
        count = core.update("visits", lambda n: n + 1, default=0)
        return {"visits": count, "short": session.get("short"), "id": core.id}

    @app.get("/regenerate")
    def regenerate() -> Any:
        old = get_session().id
        get_session().regenerate()
        return {"old": old, "new": get_session().id}

    @app.get("/read")
    def read() -> Any:
        return {"short": session.get("short"), "visits": session.get("visits")}

    first = client.get("/api").json
    assert first == {"visits": 1, "short": "lived", "id": session_id(client)}
    assert client.get("/api").json["visits"] == 2  # type: ignore[index]
    ids = client.get("/regenerate").json
    assert ids is not None
    assert ids["old"] != ids["new"] == session_id(client)
    assert holds_no_session(store.read(ids["old"]))
    time.sleep(1.1)
    assert client.get("/read").json == {"short": None, "visits": 2}
    client.get("/destroy")
    assert session_id(client) is None
    assert holds_no_session(store.read(ids["new"]))


def test_async_views_use_the_same_session(app: Flask, client: FlaskClient) -> None:
    @app.get("/async-count")
    async def async_count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(get_session().update("m", lambda m: m + 1, default=0) + session["n"])

    assert [client.get("/async-count").text for _ in range(2)] == ["2", "4"]


def test_unsupported_value_names_the_key(app: Flask, client: FlaskClient) -> None:
    @app.get("/bad")
    def bad() -> str:
        session["when"] = object()
        return "unreachable"

    with pytest.raises(SessionSerializationError, match="'when'"):
        client.get("/bad")


def test_oversized_session_fails_and_keeps_the_stored_one() -> None:
    store = MemoryDriver(max_payload_bytes=200)
    app = create_app(SessionConfig(driver=store))
    app.testing = True

    @app.get("/big")
    def big() -> str:
        session["blob"] = "x" * 500
        return "unreachable"

    client = app.test_client()
    client.get("/set/small")
    with pytest.raises(SessionTooLargeError):
        client.get("/big")
    assert stored(store, session_id(client)) == {"small": True}


class FailingWrites(MemoryDriver):
    """A store that reads but is down for writes."""

    failing = False

    def write(self, key: str, payload: str, **kwargs: Any) -> str:
        if self.failing:
            raise SessionStorageError("the session store is unreachable")
        return super().write(key, payload, **kwargs)


def test_store_outage_is_a_500_and_the_session_is_untouched() -> None:
    store = FailingWrites()
    app = create_app(SessionConfig(driver=store))
    client = app.test_client()
    client.get("/set/kept")
    store.failing = True
    response = client.get("/set/lost")
    assert response.status_code == 500
    store.failing = False
    assert stored(store, session_id(client)) == {"kept": True}


def test_permanent_session_cookie_gets_max_age(app: Flask, client: FlaskClient) -> None:
    @app.get("/remember")
    def remember() -> str:
        session.permanent = True
        return "ok"

    plain = client.get("/set/x").headers["Set-Cookie"]
    assert "Max-Age" not in plain
    cookie = client.get("/remember").headers["Set-Cookie"]
    assert f"Max-Age={int(app.permanent_session_lifetime.total_seconds())}" in cookie


def test_untouched_session_costs_no_storage_call_and_no_cookie() -> None:
    store = CountingDriver()
    app = Flask(__name__)
    HostSessions(app, SessionConfig(driver=store))

    @app.get("/plain")
    def plain() -> str:
        return "ok"

    @app.get("/count")
    def count() -> str:
        session["n"] = session.get("n", 0) + 1
        return str(session["n"])

    client = app.test_client()
    client.get("/count")
    store.reset()
    response = client.get("/plain")
    assert store.calls == {}
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    client.get("/count")
    assert store.calls == {"read": 1, "write": 1}


# ---- through a real server ------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with zero configuration under gunicorn: sessions go to the local
    filesystem store under the server's working directory."""
    cwd = tmp_path_factory.mktemp("flask-gunicorn")
    with gunicorn("tests.flask_site:create_app()", cwd=cwd) as url:
        yield url
    assert any((Path(cwd) / ".hostsessions" / "sessions").rglob("*")), "no session files"


def test_gunicorn_flask_login_round_trip(served: str) -> None:
    with httpx.Client(base_url=served, follow_redirects=True) as client:
        assert client.get("/protected").status_code == 401
        assert client.post("/login", data=ADA).json() == [["message", "welcome, ada"]]
        assert client.get("/protected").text == "hello ada"
        assert client.post("/logout").json() == [["message", "logged out"]]
        assert client.get("/protected").status_code == 401


def test_gunicorn_flash_across_a_redirect(served: str) -> None:
    with httpx.Client(base_url=served) as client:
        response = client.post("/flash", data={"message": "hi", "category": "info"})
        assert response.status_code == 302
        assert client.get(response.headers["location"]).json() == [["info", "hi"]]
        assert client.get("/messages").json() == []


def test_gunicorn_fifty_concurrent_updates(served: str) -> None:
    check_concurrent_updates_at(served, COOKIE, n=50)


def test_gunicorn_fifty_concurrent_keys(served: str) -> None:
    check_concurrent_keys_at(served, COOKIE, n=50)


def test_gunicorn_no_resurrection_after_destroy(served: str) -> None:
    check_no_resurrection_at(served, COOKIE)


# ---- the app of docs/flask.md, as written ------------------------------------------------


def test_the_flask_guide_app_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "flask.md").read_text()
    blocks = re.findall(r"^<!-- test -->\n```python\n(.*?)^```$", page, re.M | re.S)
    assert len(blocks) == 1
    (tmp_path / "app.py").write_text(blocks[0])
    monkeypatch.chdir(tmp_path)  # zero config: the local store under the working directory
    app = load_module(tmp_path / "app.py", "flask_guide_app").app
    client = app.test_client()

    client.post("/cart", data={"item": "tea"})
    assert client.get("/").json == {"cart": ["tea"], "messages": ["added tea"]}
    assert client.get("/account").status_code == 401
    login = {"name": "ada", "password": "correct horse battery staple"}
    assert client.post("/login", data=login).status_code == 302
    assert client.get("/account").text == "hello ada, visit 1"
    assert client.get("/account").text == "hello ada, visit 2"
    store = tmp_path / ".hostsessions" / "sessions"
    assert _live_records(store) == 1  # the login's; the pre-login ID is a tombstone
    assert client.get("/").json == {"cart": ["tea"], "messages": []}
    client.post("/logout")
    assert client.get("/account").status_code == 401
    assert client.get("/").json == {"cart": [], "messages": []}
    assert _live_records(store) == 0


def _live_records(store: Path) -> int:
    """Record files that hold a session, not the tombstones regenerate() and destroy()
    leave for a minute (docs/concurrency.md)."""
    gone = GONE_KEY.encode()
    return sum(gone not in path.read_bytes() for path in store.rglob("*.session"))


def test_session_transaction_prepares_the_session(client: FlaskClient) -> None:
    with client.session_transaction() as prepared:
        prepared["cart"] = ["tea"]
    assert client.get("/dump").json["items"] == {"cart": ["tea"]}  # type: ignore[index]
    with client.session_transaction() as prepared:
        assert prepared["cart"] == ["tea"]


def test_flask_login_test_client_logs_a_user_in(app: Flask) -> None:
    from flask_login import FlaskLoginClient

    from tests.flask_site import User

    app.test_client_class = FlaskLoginClient
    client = app.test_client(user=User("ada"))
    assert client.get("/protected").text == "hello ada"

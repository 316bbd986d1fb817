"""Bad input never hurts: every case gets a fresh session, a clear exception at the call
that caused it, or a clear start-up error; never a 500 from the middleware, a lost or
leaked session, or a file outside the store's folder."""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hostsessions import (
    CookieOptions,
    SessionConfig,
    SessionConfigError,
    SessionSerializationError,
)
from hostsessions.drivers import FsDriver
from hostsessions.ids import new_session_id
from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware

COOKIE = "sid"


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session = environ[ENVIRON_KEY]
    path = environ["PATH_INFO"]
    if path == "/set-bad":
        try:
            session.set("handle", open)  # a function: not storable
        except SessionSerializationError as exc:
            start_response("400 Bad Request", [])
            return [str(exc).encode()]
    elif path == "/write":
        session.set("cart", ["book"])
    body = repr(sorted(session.items())).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


@dataclass
class Response:
    status: int
    body: str
    set_cookie: str | None

    @property
    def new_id(self) -> str | None:
        if not self.set_cookie or not self.set_cookie.startswith(f"{COOKIE}="):
            return None
        return self.set_cookie.split(";", 1)[0].split("=", 1)[1] or None


def call(middleware: Any, path: str = "/", cookie: str | None = None) -> Response:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
    }
    if cookie is not None:
        environ["HTTP_COOKIE"] = cookie
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"] = int(status.split()[0])
        captured["headers"] = headers
        return lambda data: None

    body_iter = middleware(environ, start_response)
    body = b"".join(body_iter)
    body_iter.close()
    cookies = [v for k, v in captured["headers"] if k.lower() == "set-cookie"]
    return Response(captured["status"], body.decode(), cookies[0] if cookies else None)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store" / "sessions"


@pytest.fixture
def middleware(store: Path) -> SessionMiddleware:
    return SessionMiddleware(
        app, SessionConfig(driver="fs", options={"base": str(store)}, cookie=COOKIE)
    )


@pytest.fixture
def stored_id(middleware: SessionMiddleware) -> str:
    response = call(middleware, "/write")
    assert response.new_id is not None
    return response.new_id


def files_outside(root: Path, store: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and store not in p.parents]


# ---- cookies: (name, cookie header given the stored ID) ---------------------------------

FRESH_SESSION_COOKIES: list[tuple[str, Callable[[str], str]]] = [
    ("empty value", lambda sid: f"{COOKIE}="),
    ("too short", lambda sid: f"{COOKIE}=abc"),
    ("path traversal", lambda sid: f"{COOKIE}=../../etc/passwd"),
    ("path traversal padded to ID length", lambda sid: f"{COOKIE}=" + ("../" * 15)[:43]),
    ("absolute path", lambda sid: f"{COOKIE}=/etc/passwd"),
    ("NUL byte", lambda sid: f"{COOKIE}=" + "a" * 20 + "\x00" + "a" * 22),
    ("one character too long", lambda sid: f"{COOKIE}={sid}x"),
    ("wrong alphabet", lambda sid: f"{COOKIE}=" + "+" * 43),
    ("forged but well formed", lambda sid: f"{COOKIE}={new_session_id()}"),
    ("oversized cookie", lambda sid: f"{COOKIE}=" + "a" * 20_000),
    (
        "oversized header hiding a valid ID",
        lambda sid: "junk=" + "j" * 20_000 + f"; {COOKIE}={sid}",
    ),
    ("non-ASCII", lambda sid: f"{COOKIE}=" + "é" * 43),
    ("two forged IDs", lambda sid: f"{COOKIE}={new_session_id()}; {COOKIE}={new_session_id()}"),
    ("garbage header", lambda sid: ";;;=;=;" + COOKIE),
]


@pytest.mark.parametrize(
    ("case", "cookie"), FRESH_SESSION_COOKIES, ids=[c[0] for c in FRESH_SESSION_COOKIES]
)
def test_bad_cookie_gets_a_fresh_session(
    case: str,
    cookie: Callable[[str], str],
    middleware: SessionMiddleware,
    stored_id: str,
    store: Path,
    tmp_path: Path,
) -> None:
    response = call(middleware, "/write", cookie(stored_id))
    assert response.status == 200, case
    assert response.body == "[('cart', ['book'])]", f"{case}: data leaked from another session"
    assert response.new_id not in (None, stored_id), case
    assert not files_outside(tmp_path, store), case
    # the original session is intact
    assert call(middleware, "/", f"{COOKIE}={stored_id}").body == "[('cart', ['book'])]"


GOOD_COOKIES: list[tuple[str, Callable[[str], str]]] = [
    ("plain", lambda sid: f"{COOKIE}={sid}"),
    ("quoted", lambda sid: f'{COOKIE}="{sid}"'),
    ("bad copy first, valid second", lambda sid: f"{COOKIE}=../x; {COOKIE}={sid}"),
    ("among other cookies", lambda sid: f"theme=dark; {COOKIE}={sid}; lang=en"),
    ("spaces", lambda sid: f"  {COOKIE} = {sid} "),
]


@pytest.mark.parametrize(("case", "cookie"), GOOD_COOKIES, ids=[c[0] for c in GOOD_COOKIES])
def test_valid_cookie_in_odd_form_keeps_its_session(
    case: str, cookie: Callable[[str], str], middleware: SessionMiddleware, stored_id: str
) -> None:
    response = call(middleware, "/", cookie(stored_id))
    assert response.status == 200
    assert response.body == "[('cart', ['book'])]", case
    assert response.set_cookie is None, case


# ---- stored records: (name, bytes written over the record file) -------------------------


def record_file(store: Path, session_id: str) -> Path:
    # the fs driver names a record by the SHA-256 of its ID (see hostsessions/drivers/fs_driver.py)
    digest = hashlib.sha256(session_id.encode()).hexdigest()
    matches = [p for p in store.rglob("*") if p.is_file() and p.name.startswith(digest)]
    assert len(matches) == 1, f"expected one file for the session, found {matches}"
    return matches[0]


def fs_record(payload: bytes, *, length: int | None = None) -> bytes:
    header = {
        "format": "hostsessions-fs/1",
        "version": "1",
        "expires_at": None,
        "length": len(payload) if length is None else length,
    }
    return json.dumps(header).encode() + b"\n" + payload


BAD_RECORDS: list[tuple[str, bytes]] = [
    ("empty file", b""),
    ("not a record", b"\x00\xff garbage"),
    ("header of the wrong shape", b'{"unexpected": true}\n[[1]]'),
    ("truncated payload", fs_record(b'[["Map",1,2]', length=400)),
    ("payload that is not devalue", fs_record(b"hello")),
    ("devalue that is not a session map", fs_record(b"[[1,2],3,4]")),
    ("session map with entries of the wrong shape", fs_record(b'[["Map",1,2],"cart",5]')),
    ("devalue with an unknown type tag", fs_record(b'[["Pickle","x"]]')),
    ("a key expiring at NaN", fs_record(b'[["Map",1,2],"n",{"data":3,"expires":-3},1]')),
    ("a key expiring at Infinity", fs_record(b'[["Map",1,2],"n",{"data":3,"expires":-4},1]')),
    (
        "devalue nested past the depth bound",
        fs_record(("[" + ",".join(f"[{i + 1}]" for i in range(50_000)) + ",[]]").encode()),
    ),
]


@pytest.mark.parametrize(("case", "content"), BAD_RECORDS, ids=[c[0] for c in BAD_RECORDS])
def test_corrupted_record_gives_fresh_session_not_500(
    case: str, content: bytes, middleware: SessionMiddleware, stored_id: str, store: Path
) -> None:
    record_file(store, stored_id).write_bytes(content)
    response = call(middleware, "/", f"{COOKIE}={stored_id}")
    assert response.status == 200, case
    assert response.body == "[]", case
    again = call(middleware, "/write", f"{COOKIE}={stored_id}")
    assert again.status == 200
    assert again.new_id not in (None, stored_id), (
        f"{case}: a corrupted record's ID must not be reused"
    )


def test_directory_where_the_record_should_be_gives_fresh_session_not_500(
    middleware: SessionMiddleware, stored_id: str, store: Path
) -> None:
    path = record_file(store, stored_id)
    path.unlink()
    (path / "inside").mkdir(parents=True)
    response = call(middleware, "/", f"{COOKIE}={stored_id}")
    assert response.status == 200
    assert response.body == "[]"
    again = call(middleware, "/write", f"{COOKIE}={stored_id}")
    assert again.status == 200
    assert again.new_id not in (None, stored_id)
    assert (path / "inside").is_dir(), "what someone put there is left alone"
    assert FsDriver(store).sweep(now=4e9) == 0  # nothing expired; the directory is no record
    assert (path / "inside").is_dir()


# ---- values and configuration --------------------------------------------------------------


def test_unsupported_value_fails_at_the_set_call(middleware: SessionMiddleware) -> None:
    response = call(middleware, "/set-bad")
    assert response.status == 400
    assert "'handle'" in response.body
    assert "builtin_function_or_method" in response.body


BAD_CONFIGS: list[tuple[str, Callable[[], Any]]] = [
    ("cookie name with space", lambda: SessionConfig(cookie="my sid")),
    ("cookie name with semicolon", lambda: CookieOptions(name="sid;")),
    ("empty cookie name", lambda: CookieOptions(name="")),
    ("bad same_site", lambda: CookieOptions(same_site="sometimes")),  # type: ignore[arg-type]
    ("same_site none without Secure", lambda: CookieOptions(same_site="none", secure=False)),
    ("negative max_age", lambda: CookieOptions(max_age=-1)),
    ("cookie path without slash", lambda: CookieOptions(path="app")),
    ("negative ttl", lambda: SessionConfig(ttl=-5)),
    ("infinite ttl", lambda: SessionConfig(ttl=float("inf"))),
    ("NaN retry budget", lambda: SessionConfig(retry_budget=float("nan"))),
    ("boolean retry budget", lambda: SessionConfig(retry_budget=True)),
    ("options beside a driver object", lambda: SessionConfig(driver=object(), options={"a": 1})),
    ("unknown driver", lambda: SessionMiddleware(app, SessionConfig(driver="redis-cluster"))),
    (
        "cloud driver without adapter",
        lambda: SessionMiddleware(app, SessionConfig(driver="nosuch-cloud")),
    ),
    ("object that is not a driver", lambda: SessionMiddleware(app, SessionConfig(driver=object()))),
    ("malformed entrypoint", lambda: SessionConfig(driver="fs", options=["not", "a", "mapping"])),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("case", "make"), BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_configuration_is_a_clear_start_up_error(case: str, make: Callable[[], Any]) -> None:
    with pytest.raises(SessionConfigError) as error:
        make()
    assert len(str(error.value)) > 20, f"{case}: the message should say what is wrong"


def test_driver_rejecting_its_options_is_a_clear_error(tmp_path: Path) -> None:
    middleware = SessionMiddleware(app, SessionConfig(driver="fs", options={"colour": "blue"}))
    with pytest.raises(SessionConfigError, match="rejected its options"):
        call(middleware, "/write")


def test_store_folder_stays_private(
    middleware: SessionMiddleware, store: Path, stored_id: str
) -> None:
    path = record_file(store, stored_id)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)
    assert os.path.commonpath([path, store]) == str(store)

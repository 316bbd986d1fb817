"""Cold starts matter on serverless hosts: importing the core loads no SDK and no framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "boto3",
    "botocore",
    "google",
    "grpc",
    "azure",
    "aiohttp",
    "starlette",
    "fastapi",
    "flask",
    "django",
    "uvicorn",
    "httpx",
    "pytest",
    "pickle",
    "redis",
)


def modules_after(code: str) -> set[str]:
    """Modules loaded by ``code`` beyond what a bare interpreter loads at start-up (site
    hooks such as namespace-package .pth files load a few before any import of ours)."""

    def loaded_by(body: str) -> set[str]:
        probe = f"import sys, json\n{body}\nprint(json.dumps(sorted(sys.modules)))"
        result = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        )
        return set(json.loads(result.stdout))

    return loaded_by(code) - loaded_by("")


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize(
    "module", ["hostsessions", "hostsessions.asgi", "hostsessions.wsgi", "hostsessions.drivers"]
)
def test_import_pulls_in_no_sdk_or_framework(module: str) -> None:
    offenders = heavy_among(modules_after(f"import {module}"))
    assert not offenders, f"import {module} loaded {offenders}"


def test_choosing_the_driver_with_every_adapter_installed_imports_no_sdk() -> None:
    code = (
        "from hostsessions import SessionConfig\n"
        "from hostsessions.adapters import choose_driver\n"
        "choose_driver(SessionConfig(), {})"
    )
    offenders = heavy_among(modules_after(code))
    assert not offenders, f"asking the installed adapters loaded {offenders}"


def test_naming_the_redis_driver_imports_no_redis_client_until_a_session_needs_it() -> None:
    code = (
        "from hostsessions import SessionConfig\n"
        "from hostsessions.manager import SessionManager\n"
        "SessionManager(SessionConfig(driver='redis'), {})"
    )
    offenders = heavy_among(modules_after(code))
    assert not offenders, f"choosing the redis driver loaded {offenders}"


# asyncio (which loads ssl) and concurrent.futures cost a WSGI app's cold start more than
# the rest of hostsessions together; only the ASGI side and async drivers need them.
ASYNC_MACHINERY = ("asyncio", "ssl", "concurrent.futures")


def async_machinery_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m in ASYNC_MACHINERY or m.startswith("asyncio."))


@pytest.mark.parametrize("module", ["hostsessions", "hostsessions.wsgi"])
def test_import_loads_no_asyncio_ssl_or_thread_pool(module: str) -> None:
    offenders = async_machinery_among(modules_after(f"import {module}"))
    assert not offenders, f"import {module} loaded {offenders}"


def test_a_wsgi_request_on_the_filesystem_store_loads_no_asyncio(tmp_path: Path) -> None:
    code = (
        "from hostsessions import SessionConfig\n"
        "from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware\n"
        "def app(environ, start_response):\n"
        "    environ[ENVIRON_KEY].set('n', 1)\n"
        "    start_response('200 OK', [])\n"
        "    return [b'ok']\n"
        f"config = SessionConfig(driver='fs', options={{'base': {str(tmp_path)!r}}})\n"
        "mw = SessionMiddleware(app, config)\n"
        "environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/', 'SERVER_NAME': 'localhost',\n"
        "           'SERVER_PORT': '80', 'wsgi.url_scheme': 'http', 'HTTP_HOST': 'localhost'}\n"
        "b''.join(mw(environ, lambda status, headers, exc_info=None: None))\n"
    )
    offenders = async_machinery_among(modules_after(code))
    assert not offenders, f"a WSGI request loaded {offenders}"
    assert any(tmp_path.iterdir()), "the request should have stored its session"

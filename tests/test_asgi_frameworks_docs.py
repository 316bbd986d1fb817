"""The apps of docs/starlette.md (Starlette, Litestar, Quart) and docs/fastapi.md run as
written, with zero configuration, through each framework's own test client and uvicorn."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient as LitestarTestClient

from hostsessions.testing.server import serve_asgi

from .helpers import asgi_client

DOCS = Path(__file__).resolve().parent.parent / "docs"
MARKER = re.compile(r"^<!-- test -->\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def examples(page: str) -> list[str]:
    return [match.group(1) for match in MARKER.finditer((DOCS / page).read_text())]


def app_from(page: str, index: int, folder: Path) -> Any:
    """Import the block as a user imports their app.py (registered, as Litestar needs)."""
    path = folder / f"docs_{Path(page).stem}_example_{index}.py"
    path.write_text(examples(page)[index])
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module.app


@pytest.fixture(autouse=True)
def forget_example_modules() -> Iterator[None]:
    yield
    for name in [name for name in sys.modules if name.startswith("docs_")]:
        if name.removeprefix("docs_").split("_example_")[0] in ("starlette", "fastapi"):
            del sys.modules[name]


@pytest.fixture(autouse=True)
def in_a_fresh_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples configure nothing: their sessions go to ./.hostsessions/sessions."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOSTSESSIONS_DRIVER", raising=False)


def test_the_pages_mark_their_runnable_examples() -> None:
    assert [len(examples("starlette.md")), len(examples("fastapi.md"))] == [3, 1]


@pytest.fixture(params=["testclient", "uvicorn"])
def serve(request: pytest.FixtureRequest) -> Any:
    return lambda app: asgi_client(app, request.param)


def test_starlette_cart_with_login(serve: Any, tmp_path: Path) -> None:
    with serve(app_from("starlette.md", 0, tmp_path)) as browser:
        assert browser.post("/cart/tea").json() == {"cart": ["tea"]}
        before = browser.cookies["hostsessions"]
        page = browser.post("/login?user=ada", follow_redirects=True)
        assert page.json() == {"user": "ada", "cart": ["tea"]}
        assert browser.cookies["hostsessions"] != before, "login regenerated the ID"
        page = browser.post("/logout", follow_redirects=True)
        assert page.json() == {"user": None, "cart": []}
    assert (tmp_path / ".hostsessions" / "sessions").is_dir(), "the zero-config store"


def test_fastapi_cart_with_login(serve: Any, tmp_path: Path) -> None:
    with serve(app_from("fastapi.md", 0, tmp_path)) as browser:
        assert browser.post("/cart/tea").json() == ["tea"]
        assert browser.post("/cart/mug").json() == ["tea", "mug"]
        assert browser.delete("/cart/tea").json() == ["mug"]  # the def endpoint
        assert browser.post("/login", json={"user": "ada"}).json() == {"user": "ada"}
        assert browser.get("/cart").json() == {"user": "ada", "cart": ["mug"]}
        assert browser.post("/logout").json() == {"user": None}
        assert browser.get("/cart").json() == {"user": None, "cart": []}


def test_litestar_count_through_its_test_client(tmp_path: Path) -> None:
    with LitestarTestClient(app=app_from("starlette.md", 1, tmp_path)) as client:
        assert [client.get("/count").json()["visits"] for _ in range(3)] == [1, 2, 3]


def test_litestar_count_through_uvicorn(tmp_path: Path) -> None:
    app = app_from("starlette.md", 1, tmp_path)
    with serve_asgi(app) as url, httpx.Client(base_url=url) as client:
        assert [client.get("/count").json()["visits"] for _ in range(3)] == [1, 2, 3]


def test_quart_count_through_its_test_client(tmp_path: Path) -> None:
    app = app_from("starlette.md", 2, tmp_path)

    async def visits() -> list[int]:
        client = app.test_client()
        return [(await (await client.get("/count")).get_json())["visits"] for _ in range(3)]

    assert asyncio.run(visits()) == [1, 2, 3]


def test_quart_count_through_uvicorn(tmp_path: Path) -> None:
    app = app_from("starlette.md", 2, tmp_path)
    with serve_asgi(app) as url, httpx.Client(base_url=url) as client:
        assert [client.get("/count").json()["visits"] for _ in range(3)] == [1, 2, 3]

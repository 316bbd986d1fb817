"""The apps in the user documentation run as written.

Every Python block that follows a ``<!-- test -->`` line in the pages below is saved as
a module, imported as a user would import their ``app.py``, served on 127.0.0.1 by a
real server (uvicorn for ASGI, a threaded stdlib server for WSGI) and driven with a real
HTTP client that keeps cookies, through the story the page tells.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hostsessions.testing.processes import free_port, stop_process
from hostsessions.testing.server import serve_asgi, serve_wsgi

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ("index.md", "getting-started.md")
MARKER = re.compile(r"^<!-- test -->\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
# Where the zero-configuration default keeps sessions, relative to the working directory.
DEFAULT_STORE = Path(".hostsessions") / "sessions"


@dataclass(frozen=True)
class Example:
    page: str
    line: int
    code: str

    @property
    def label(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def module_name(self) -> str:
        return f"docs_example_{Path(self.page).stem.replace('-', '_')}_{self.line}"


def marked_examples(page: str) -> list[Example]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [
        Example(page, text.count("\n", 0, match.start(1)) + 1, match.group(1))
        for match in MARKER.finditer(text)
    ]


EXAMPLES = [example for page in PAGES for example in marked_examples(page)]


def test_the_pages_mark_their_runnable_examples() -> None:
    counts = {page: len(marked_examples(page)) for page in PAGES}
    assert counts == {"index.md": 1, "getting-started.md": 5}, (
        f"a <!-- test --> marker was added or lost: update this count deliberately ({counts})"
    )


def import_example(example: Example, folder: Path) -> Any:
    """Save the block as a module and import it; return the ``app`` it defines."""
    name = example.module_name
    path = folder / f"{name}.py"
    path.write_text(example.code, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # as a real import would, for frameworks that look it up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module.app


def is_asgi(app: Any) -> bool:
    """ASGI apps are coroutine functions, or objects whose ``__call__`` is one."""
    call = app if inspect.isfunction(app) else type(app).__call__
    return inspect.iscoroutinefunction(call)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    server = serve_asgi if is_asgi(app) else serve_wsgi
    with server(app) as url:
        yield url


def cart_story(client: httpx.Client) -> None:
    """Fill a cart, log in (the ID changes, the cart stays), log out (all gone)."""
    first = client.get("/cart")
    assert first.json() == {"user": None, "cart": []}
    assert "set-cookie" not in first.headers, "reading a session that does not exist sets nothing"

    assert client.post("/cart/tea").json() == {"cart": ["tea"]}
    assert client.post("/cart/mug").json() == {"cart": ["tea", "mug"]}
    before_login = dict(client.cookies)
    assert len(before_login) == 1

    assert client.post("/login", json={"user": "ada"}).json() == {"user": "ada"}
    after_login = dict(client.cookies)
    assert after_login.keys() == before_login.keys()
    assert after_login != before_login, "login must issue a new session ID"
    assert client.get("/cart").json() == {"user": "ada", "cart": ["tea", "mug"]}

    stale = httpx.get(client.base_url.join("/cart"), cookies=before_login)
    assert stale.json() == {"user": None, "cart": []}, "the pre-login ID must be dead"

    assert client.post("/logout").json() == {"user": None}
    assert not client.cookies, "logout must expire the cookie"
    assert client.get("/cart").json() == {"user": None, "cart": []}
    remembered = httpx.get(client.base_url.join("/cart"), cookies=after_login)
    assert remembered.json() == {"user": None, "cart": []}, "logout must delete the session"


def counter_story(client: httpx.Client) -> None:
    """Each visitor counts their own visits."""
    assert client.get("/").text == "visit number 1"
    assert client.get("/").text == "visit number 2"
    assert client.get("/").text == "visit number 3"
    assert httpx.get(client.base_url.join("/")).text == "visit number 1", (
        "a new visitor starts at 1"
    )


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.label for example in EXAMPLES])
def test_documented_app_behaves_as_the_page_says(
    example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The examples use the zero-configuration default: a filesystem store under the
    # working directory. Run them in a fresh one, with no driver named by the environment.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOSTSESSIONS_DRIVER", raising=False)
    app = import_example(example, tmp_path)
    story = cart_story if "/cart" in example.code else counter_story
    try:
        with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            story(client)
    finally:
        sys.modules.pop(example.module_name, None)
    assert (tmp_path / DEFAULT_STORE).is_dir(), (
        "the sessions should be files under ./.hostsessions/sessions, the default store"
    )


# ---- the curl sessions and the Django project, run as written ----------------------------

CURL_TRANSCRIPT = re.compile(
    r"^<!-- test: curl(?P<django> django)? -->\n```console\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
DJANGO_FILE = re.compile(
    r"^<!-- test: django (?P<path>\S+)(?P<append> append)? -->\n```python\n(?P<code>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
RUN_WITH = re.compile(r"^# (?P<file>[\w.]+\.py): run with `(?P<command>[^`]+)`")
DOCUMENTED_ADDRESS = "localhost:8000"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Transcript:
    """A console block: the server it starts (a line ending in ``&``), then commands and
    the output the page shows for each."""

    server: str
    steps: tuple[tuple[str, str], ...]


def transcripts(page: str, *, django: bool) -> list[Transcript]:
    text = (DOCS / page).read_text(encoding="utf-8")
    found = []
    for match in CURL_TRANSCRIPT.finditer(text):
        if bool(match.group("django")) != django:
            continue
        server = ""
        steps: list[tuple[str, list[str]]] = []
        for line in match.group("body").splitlines():
            if line.startswith("$ ") and line.endswith(" &"):
                server = line[2:-2]
            elif line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        assert server, "a transcript starts its server with a line ending in ' &'"
        found.append(Transcript(server, tuple((c, "\n".join(out)) for c, out in steps)))
    return found


def wait_until_serving(port: int, process: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until *this* server says it listens on ``port`` and the port answers: another
    process may hold the port (the machine is shared), and must not be mistaken for it."""
    assert process.stdout is not None
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True)
    reader.start()
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            reader.join(timeout=5)
            raise AssertionError(f"the server exited with {process.returncode}:\n{''.join(output)}")
        if any(address in line for line in output):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    time.sleep(0.2)  # a server that lost the port to another exits now
                    if process.poll() is None:
                        return
            except OSError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not listen on {address} within {timeout:.0f}s")


def same_output(shown: str, printed: str) -> bool:
    """JSON is compared as data (Flask sorts keys, Starlette does not); text as text."""
    try:
        return bool(json.loads(shown) == json.loads(printed))
    except ValueError:
        return shown.strip() == printed.strip()


def run_transcript(transcript: Transcript, port: int, cwd: Path) -> None:
    for command, shown in transcript.steps:
        actual = command.replace(DOCUMENTED_ADDRESS, f"127.0.0.1:{port}")
        result = subprocess.run(  # a shell, as the reader's: $(...) and quotes as written
            ["bash", "-c", actual],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"},
        )
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert same_output(shown, result.stdout), (
            f"$ {command}\nthe page shows: {shown}\nit printed:     {result.stdout}"
        )


@contextmanager
def started(argv: list[str], cwd: Path, port: int) -> Iterator[None]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTSESSIONS_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env["PYTHONUNBUFFERED"] = "1"  # the "listening on" line arrives as it is printed
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_until_serving(port, process)
        yield
    finally:
        stop_process(process)


CART_APPS = [example for example in EXAMPLES if '"/login"' in example.code]


def test_the_curl_session_is_marked_and_the_cart_apps_found() -> None:
    assert len(transcripts("getting-started.md", django=False)) == 1
    assert len(CART_APPS) == 3, [example.label for example in CART_APPS]


@pytest.mark.parametrize("example", CART_APPS, ids=[example.label for example in CART_APPS])
def test_the_curl_session_runs_as_written_against_each_cart_app(
    example: Example, tmp_path: Path
) -> None:
    """Each cart app, started with the command its first line names, answers the page's
    curl commands with what the page shows."""
    (transcript,) = transcripts(example.page, django=False)
    run_with = RUN_WITH.match(example.code)
    assert run_with, f"{example.label} should start with '# app.py: run with `...`'"
    (tmp_path / run_with["file"]).write_text(example.code, encoding="utf-8")
    port = free_port()
    argv = [*shlex.split(run_with["command"]), "--port", str(port)]
    with started([str(BIN / argv[0]), *argv[1:]], tmp_path, port):
        run_transcript(transcript, port, tmp_path)
    assert (tmp_path / DEFAULT_STORE).is_dir()


def test_the_django_project_runs_as_written(tmp_path: Path) -> None:
    """django-admin startproject, the page's files, runserver, then the page's curl
    commands: the CSRF token is echoed as Django documents, and the cart survives."""
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    subprocess.run([str(BIN / "django-admin"), "startproject", "mysite"], cwd=tmp_path, check=True)
    project = tmp_path / "mysite"
    files = list(DJANGO_FILE.finditer(text))
    assert {m["path"] for m in files} == {
        "mysite/settings.py",
        "mysite/views.py",
        "mysite/urls.py",
    }
    for match in files:
        target = project / match["path"]
        if match["append"]:
            target.write_text(target.read_text() + "\n" + match["code"], encoding="utf-8")
        else:
            target.write_text(match["code"], encoding="utf-8")
    (transcript,) = transcripts("getting-started.md", django=True)
    assert transcript.server == "python manage.py runserver"
    port = free_port()
    runserver = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    with started(runserver, project, port):
        run_transcript(transcript, port, project)
        refused = httpx.post(f"http://127.0.0.1:{port}/cart/tea/")
        assert refused.status_code == 403, "a POST without the CSRF token must be refused"
        assert "CSRF" in refused.text
    assert (project / DEFAULT_STORE).is_dir(), "the sessions should be files of the fs store"


# ---- links between the pages ------------------------------------------------------------

LINKED_PAGES = (
    "index.md",
    "getting-started.md",
    "configuration.md",
    "api.md",
    "concurrency.md",
    "security.md",
    "astro.md",
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```$", re.MULTILINE | re.DOTALL)


def heading_anchors(page: str) -> set[str]:
    """The anchors GitHub gives a page's headings."""
    text = FENCE.sub("", (DOCS / page).read_text(encoding="utf-8"))
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", LINKED_PAGES)
def test_every_link_to_another_page_or_heading_resolves(page: str) -> None:
    text = FENCE.sub("", (DOCS / page).read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        file = file or page
        if not (DOCS / file).is_file():
            broken.append(f"{target} (no such page)")
        elif anchor and anchor not in heading_anchors(file):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page} links to {broken}"

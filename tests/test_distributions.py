"""The four distributions are ready for the package index.

Each is built from its sdist as the index's users would build it (``uv build`` makes the
sdist, then the wheel from the unpacked sdist), checked with ``twine check --strict``,
then installed from the built files into a clean virtual environment, where an app
keeps a session across requests and ``hostsessions doctor`` recognises hosts through the
installed adapters.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = {
    "hostsessions": (ROOT, "hostsessions"),
    "hostsessions-aws": (ROOT / "adapters" / "aws", "hostsessions_aws"),
    "hostsessions-gcp": (ROOT / "adapters" / "gcp", "hostsessions_gcp"),
    "hostsessions-azure": (ROOT / "adapters" / "azure", "hostsessions_azure"),
}
SUPPORTED_PYTHONS = ("3.11", "3.12", "3.13")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def pyproject(name: str) -> dict[str, object]:
    with (PROJECTS[name][0] / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if found is None:
        pytest.fail("uv is missing: scripts/bootstrap installs it into .venv")
    return found


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path

    def metadata(self) -> Message:
        with zipfile.ZipFile(self.wheel) as wheel:
            name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
            return email.message_from_bytes(wheel.read(name), policy=email.policy.compat32)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    out = tmp_path_factory.mktemp("dist")
    result: dict[str, Built] = {}
    for name, (folder, _package) in PROJECTS.items():
        subprocess.run(
            [uv(), "build", "--quiet", "--out-dir", str(out / name), str(folder)],
            check=True,
            cwd=ROOT,
        )
        (sdist,) = (out / name).glob("*.tar.gz")
        (wheel,) = (out / name).glob("*.whl")
        result[name] = Built(sdist, wheel)
    return result


def test_twine_check_strict_passes_for_every_file(built: dict[str, Built]) -> None:
    files = [str(path) for b in built.values() for path in (b.sdist, b.wheel)]
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", PROJECTS)
def test_every_sdist_and_wheel_carries_the_mit_license(built: dict[str, Built], name: str) -> None:
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    with tarfile.open(built[name].sdist) as sdist:
        member = next(m for m in sdist.getmembers() if m.name.endswith("/LICENSE"))
        extracted = sdist.extractfile(member)
        assert extracted is not None
        assert extracted.read().decode() == license_text
    with zipfile.ZipFile(built[name].wheel) as wheel:
        licenses = [n for n in wheel.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
        assert licenses, f"{name}'s wheel has no LICENSE"
        assert wheel.read(licenses[0]).decode() == license_text
    metadata = built[name].metadata()
    assert metadata["License-Expression"] == "MIT"


@pytest.mark.parametrize("name", PROJECTS)
def test_each_sdist_holds_only_its_own_package(built: dict[str, Built], name: str) -> None:
    package = PROJECTS[name][1]
    with tarfile.open(built[name].sdist) as sdist:
        names = [m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name]
    top_level = {n.split("/", 1)[0] for n in names}
    assert top_level == {
        package,
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "PKG-INFO",
        ".gitignore",
    }, f"{name}'s sdist holds {sorted(top_level)}"


@pytest.mark.parametrize("name", PROJECTS)
def test_index_page_metadata(built: dict[str, Built], name: str) -> None:
    metadata = built[name].metadata()
    urls = dict(value.split(", ", 1) for value in metadata.get_all("Project-URL") or [])
    assert {"Homepage", "Documentation", "Repository", "Issues"} <= urls.keys()
    assert all(url.startswith("https://") for url in urls.values())
    assert metadata["Author"] or metadata["Author-email"]
    classifiers = set(metadata.get_all("Classifier") or [])
    for version in SUPPORTED_PYTHONS:
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert any(c.startswith("Development Status :: ") for c in classifiers)
    assert "Typing :: Typed" in classifiers
    assert metadata["Requires-Python"] == ">=3.11"


@pytest.mark.parametrize("name", PROJECTS)
def test_readme_on_the_index_page_links_only_to_absolute_urls(
    built: dict[str, Built], name: str
) -> None:
    description = built[name].metadata().get_payload()
    assert isinstance(description, str)
    assert description.strip(), f"{name} has no long description"
    relative = [
        link
        for link in MARKDOWN_LINK.findall(description)
        if not link.startswith(("https://", "http://", "#"))
    ]
    assert not relative, f"{name}'s README links break on the index page: {relative}"


def test_core_and_adapters_require_compatible_versions_of_each_other() -> None:
    core_version = str(pyproject("hostsessions")["version"])
    major, minor, _patch = (int(part) for part in core_version.split("."))
    compatible = f">={core_version},<{major}.{minor + 1}"
    extras = pyproject("hostsessions")["optional-dependencies"]
    assert isinstance(extras, dict)
    for name in ("hostsessions-aws", "hostsessions-gcp", "hostsessions-azure"):
        assert pyproject(name)["version"] == core_version, "the four are released together"
        cloud = name.rsplit("-", 1)[1]
        assert extras[cloud] == [f"{name}{compatible}"]
        dependencies = pyproject(name)["dependencies"]
        assert isinstance(dependencies, list)
        assert f"hostsessions{compatible}" in dependencies


# ---- installed from the built files into a clean virtual environment ---------------------

APP = """
import http.cookiejar, json, threading, urllib.request
from wsgiref.simple_server import make_server, WSGIRequestHandler

from hostsessions import SessionConfig, SessionKey
from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware

VISITS = SessionKey("visits", int)

def app(environ, start_response):
    session = environ[ENVIRON_KEY]
    visits = session.update(VISITS, lambda n: (n or 0) + 1)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(visits).encode()]

class Quiet(WSGIRequestHandler):
    def log_message(self, *args): pass

server = make_server(
    "127.0.0.1", 0, SessionMiddleware(app, SessionConfig(cookie="sid")), handler_class=Quiet
)
threading.Thread(target=server.serve_forever, daemon=True).start()
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
url = f"http://127.0.0.1:{server.server_address[1]}/"
print(json.dumps([opener.open(url).read().decode() for _ in range(3)]))
server.shutdown()
"""


@pytest.fixture(scope="module")
def clean_venv(built: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("clean") / "venv"
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(folder)], check=True)
    python = folder / "bin" / "python"
    wheels = {name: b.wheel for name, b in built.items()}
    # The four come from the built files; their third-party dependencies from the index.
    subprocess.run(
        [
            uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            f"hostsessions[aws,gcp,azure] @ {wheels['hostsessions'].as_uri()}",
            *(str(wheels[name]) for name in wheels if name != "hostsessions"),
        ],
        check=True,
    )
    return folder


def run_in(venv: Path, *args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    clean_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HOSTSESSIONS_", "PYTHON"))
    }
    result = subprocess.run(
        args,
        cwd=cwd,
        env={**clean_env, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", **(env or {})},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_installed_from_built_files_the_packages_come_from_those_files(
    clean_venv: Path, tmp_path: Path
) -> None:
    code = (
        "import importlib.metadata as m, json, sys\n"
        "print(json.dumps({d: m.distribution(d).read_text('direct_url.json') or ''"
        " for d in sys.argv[1:]}))"
    )
    out = run_in(
        clean_venv, str(clean_venv / "bin" / "python"), "-c", code, *PROJECTS, cwd=tmp_path
    )
    for name, origin in json.loads(out).items():
        assert ".whl" in origin, f"{name} was not installed from its built wheel: {origin!r}"


def test_an_app_keeps_its_session_in_the_clean_install(clean_venv: Path, tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    out = run_in(clean_venv, str(clean_venv / "bin" / "python"), "app.py", cwd=tmp_path)
    assert out.strip() == '["1", "2", "3"]'
    assert (tmp_path / ".hostsessions" / "sessions").is_dir()


def test_doctor_in_the_clean_install_sees_the_installed_adapters(
    clean_venv: Path, tmp_path: Path
) -> None:
    laptop = run_in(clean_venv, "hostsessions", "doctor", cwd=tmp_path)
    assert "adapter:   aws (not this environment)" in laptop
    assert "adapter:   gcp (not this environment)" in laptop
    assert "adapter:   azure (not this environment)" in laptop
    assert "FsDriver" in laptop
    cloud_run = run_in(
        clean_venv,
        "hostsessions",
        "doctor",
        cwd=tmp_path,
        env={"K_SERVICE": "shop", "K_REVISION": "shop-1", "K_CONFIGURATION": "shop"},
    )
    assert "host:      Cloud Run" in cloud_run
    assert "firestore" in cloud_run.lower()

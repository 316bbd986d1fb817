"""Google's Cloud Firestore emulator, run on 127.0.0.1 from tests.

The pytest fixtures over it are in :mod:`hostsessions_gcp.testing` (the plugin pytest
loads), which imports this module only when a fixture is used.

The emulator is a Java program shipped with the Google Cloud CLI (Debian package
``google-cloud-cli-firestore-emulator``, or ``gcloud components install
cloud-firestore-emulator``). It is found in the standard gcloud locations, or where
``FIRESTORE_EMULATOR_JAR`` points. When it (or Java) is missing, starting it raises
:class:`EmulatorNotFoundError` with the command that installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from hostsessions.testing.processes import free_port, stop_process

__all__ = [
    "DEFAULT_DATABASE",
    "EMULATOR_HOST_VAR",
    "INSTALL_HINT",
    "JAR_VAR",
    "PROJECT_VAR",
    "TEST_PROJECT",
    "EmulatorNotFoundError",
    "FirestoreEmulator",
    "find_emulator_jar",
    "find_java",
]

JAR_VAR = "FIRESTORE_EMULATOR_JAR"
EMULATOR_HOST_VAR = "FIRESTORE_EMULATOR_HOST"
PROJECT_VAR = "GOOGLE_CLOUD_PROJECT"
#: The project ID tests use; any ID works with the emulator.
TEST_PROJECT = "hostsessions-test"
DEFAULT_DATABASE = "(default)"

_JAR_IN_SDK = Path("platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar")
_SDK_ROOTS = (
    "/usr/lib/google-cloud-sdk",  # Debian and Ubuntu packages
    "/usr/share/google-cloud-sdk",
    "/opt/google-cloud-sdk",
    "/usr/local/google-cloud-sdk",
    "/snap/google-cloud-cli/current",
    "/snap/google-cloud-sdk/current",
    "~/google-cloud-sdk",  # the interactive installer
)
_MAIN_CLASS = "com.google.cloud.datastore.emulator.firestore.CloudFirestore"

INSTALL_HINT = (
    "Install the Cloud Firestore emulator (it needs Java 11 or later):\n"
    "  Debian/Ubuntu: sudo apt-get install google-cloud-cli-firestore-emulator \\\n"
    "                 default-jre-headless\n"
    "    (from Google's apt repository, https://cloud.google.com/sdk/docs/install#deb;\n"
    "     in the hostsessions repository: bash scripts/setup.d/40-firestore-emulator.sh)\n"
    "  gcloud installed another way: gcloud components install cloud-firestore-emulator\n"
    f"  or set {JAR_VAR} to the path of cloud-firestore-emulator.jar"
)


class EmulatorNotFoundError(RuntimeError):
    """The emulator or Java is missing; the message says how to install it."""


def find_emulator_jar(environ: Mapping[str, str] | None = None) -> Path | None:
    """The emulator's jar: ``FIRESTORE_EMULATOR_JAR``, else beside gcloud or in an SDK folder."""
    environ = os.environ if environ is None else environ
    explicit = environ.get(JAR_VAR)
    if explicit:
        path = Path(explicit).expanduser()
        return path if path.is_file() else None
    roots = [Path(root).expanduser() for root in _SDK_ROOTS]
    if environ.get("CLOUDSDK_ROOT_DIR"):
        roots.insert(0, Path(environ["CLOUDSDK_ROOT_DIR"]))
    gcloud = shutil.which("gcloud")
    if gcloud:
        # <sdk>/bin/gcloud, often behind a symlink such as /usr/bin/gcloud.
        roots.insert(0, Path(gcloud).resolve().parent.parent)
    for root in roots:
        if (root / _JAR_IN_SDK).is_file():
            return root / _JAR_IN_SDK
    return None


def find_java(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``java`` to run the emulator with: ``$JAVA``, ``$JAVA_HOME/bin/java`` or PATH."""
    environ = os.environ if environ is None else environ
    if environ.get("JAVA") and shutil.which(environ["JAVA"]):
        return shutil.which(environ["JAVA"])
    if environ.get("JAVA_HOME"):
        candidate = Path(environ["JAVA_HOME"], "bin", "java")
        if candidate.is_file():
            return str(candidate)
    return shutil.which("java")


class FirestoreEmulator:
    """One Cloud Firestore emulator process on 127.0.0.1.

    ``with FirestoreEmulator() as emulator:`` starts it and waits until it answers;
    :meth:`reset` deletes every document of a project's database; leaving the block stops
    the process by its PID.
    """

    def __init__(
        self, *, port: int | None = None, jar: Path | None = None, java: str | None = None
    ) -> None:
        self.port = port or free_port()
        self.jar = jar
        self.java = java
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the value for ``FIRESTORE_EMULATOR_HOST``."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 90.0) -> FirestoreEmulator:
        """Start the emulator and wait until ``GET /`` answers ``Ok``."""
        jar = self.jar or find_emulator_jar()
        if jar is None:
            raise EmulatorNotFoundError(
                f"the Cloud Firestore emulator was not found.\n{INSTALL_HINT}"
            )
        java = self.java or find_java()
        if java is None:
            raise EmulatorNotFoundError(
                "Java was not found; the Cloud Firestore emulator needs Java 11 or later: "
                "sudo apt-get install default-jre-headless (or set JAVA_HOME)"
            )
        self._log = tempfile.NamedTemporaryFile(prefix="firestore-emulator-", suffix=".log")  # noqa: SIM115 - lives as long as the process
        command = [
            java,
            "-Duser.language=en",
            "-cp",
            str(jar),
            _MAIN_CLASS,
            "start",
            "--host=127.0.0.1",
            f"--port={self.port}",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list, no shell
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the Firestore emulator exited with {self.process.returncode}:\n"
                    + self.log_tail()
                )
            if self._answers():
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"the Firestore emulator did not answer within {timeout:.0f}s:\n{self.log_tail()}"
        )

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/", timeout=1) as response:  # noqa: S310 - our own http URL
                return bool(response.read().strip() == b"Ok")
        except (OSError, urllib.error.URLError):
            return False

    def reset(self, project: str = TEST_PROJECT, database: str = DEFAULT_DATABASE) -> None:
        """Delete every document in ``project``'s ``database``."""
        path = "/emulator/v1/projects/{}/databases/{}/documents".format(
            urllib.parse.quote(project, safe=""), urllib.parse.quote(database, safe="()")
        )
        request = urllib.request.Request(self.url + path, method="DELETE")  # noqa: S310 - our own http URL
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def environ(self, project: str = TEST_PROJECT) -> dict[str, str]:
        """The variables that point Google's client libraries at this emulator."""
        return {EMULATOR_HOST_VAR: self.host, PROJECT_VAR: project}

    def log_tail(self, lines: int = 30) -> str:
        """The end of the emulator's output, for error messages."""
        if self._log is None:
            return ""
        self._log.flush()
        text = Path(self._log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the emulator process (by its PID) and wait for it."""
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, timeout=15)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> FirestoreEmulator:
        return self.start() if self.process is None else self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

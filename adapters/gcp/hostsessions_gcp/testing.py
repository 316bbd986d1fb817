"""A pytest plugin: Google's Cloud Firestore emulator, started and stopped from pytest.

Installed with ``pip install 'hostsessions-gcp[testing]'``, it is loaded by pytest
automatically and offers:

``firestore_emulator`` (session scope)
    One emulator process on 127.0.0.1 for the whole test session, stopped by its PID at
    the end. Fails (never skips) with the install command when the emulator or Java is
    missing.

``firestore_project``
    For one test: the emulator emptied, ``FIRESTORE_EMULATOR_HOST`` and
    ``GOOGLE_CLOUD_PROJECT`` set (clients then use anonymous credentials), and the project
    ID returned.

``firestore_session_config``
    A :class:`~hostsessions.SessionConfig` that stores sessions in that emptied project.

pytest imports this module in every run of every project that installs the adapter, so
it imports nothing but pytest: the emulator runner (:mod:`hostsessions_gcp.emulator`),
the core and Google's client load only when a fixture is used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hostsessions.config import SessionConfig

    from .emulator import FirestoreEmulator

__all__ = ["firestore_emulator", "firestore_project", "firestore_session_config"]

#: The emulator runner's public names, still importable from here as before.
_FROM_EMULATOR = frozenset(
    {
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
    }
)


def __getattr__(name: str) -> Any:
    if name in _FROM_EMULATOR:
        from . import emulator

        return getattr(emulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@pytest.fixture(scope="session")
def firestore_emulator() -> Iterator[FirestoreEmulator]:
    """One Firestore emulator for the test session; fails with the install command if missing."""
    from .emulator import EmulatorNotFoundError, FirestoreEmulator

    emulator = FirestoreEmulator()
    try:
        emulator.start()
    except EmulatorNotFoundError as missing:
        pytest.fail(str(missing), pytrace=False)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def firestore_project(
    firestore_emulator: FirestoreEmulator, monkeypatch: pytest.MonkeyPatch
) -> str:
    """An empty emulated project for one test, with the variables that point clients at it."""
    from .emulator import TEST_PROJECT

    firestore_emulator.reset(TEST_PROJECT)
    for name, value in firestore_emulator.environ(TEST_PROJECT).items():
        monkeypatch.setenv(name, value)
    return TEST_PROJECT


@pytest.fixture
def firestore_session_config(firestore_project: str) -> SessionConfig:
    """A SessionConfig on the emulator's emptied project (collection ``hostsessions``)."""
    from hostsessions.config import SessionConfig

    return SessionConfig(driver="firestore", options={"project": firestore_project})

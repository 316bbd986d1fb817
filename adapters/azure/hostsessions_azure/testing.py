"""A pytest plugin: Azurite's table service, a throwaway local Azure Table storage.

Installed with ``pip install 'hostsessions-azure[testing]'`` (Azurite itself comes from
npm: ``npm install azurite``), it is loaded by pytest automatically and offers:

``azurite`` (session scope)
    One ``azurite-table`` process on 127.0.0.1, in memory, for the whole test session,
    stopped by its PID at the end. The executable is the one ``AZURITE_TABLE`` names, else
    ``azurite-table`` on PATH, else under ``node_modules/.bin`` or
    ``.tools/azurite/node_modules/.bin`` of the pytest root folder. Fails (never skips)
    with the install command when it is missing.

``azure_tables_session_config``
    A :class:`~hostsessions.SessionConfig` that stores sessions in an empty table of
    their own in that Azurite.

pytest imports this module in every run of every project that installs the adapter, so
it imports nothing but pytest: the Azurite runner (:mod:`hostsessions_azure.azurite`),
the core and the Azure SDK load only when a fixture is used.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hostsessions.config import SessionConfig

    from .azurite import Azurite

__all__ = [
    "EXECUTABLE_VAR",
    "INSTALL",
    "azure_tables_session_config",
    "azurite",
    "find_azurite_table",
]

EXECUTABLE_VAR = "AZURITE_TABLE"
INSTALL = "npm install azurite (or set AZURITE_TABLE to its azurite-table executable)"

#: The Azurite runner's public names, still importable from here as before.
_FROM_AZURITE = frozenset(
    {"DEV_ACCOUNT", "DEV_ACCOUNT_KEY", "START_TIMEOUT", "Azurite", "free_port", "run_azurite"}
)


def __getattr__(name: str) -> Any:
    if name in _FROM_AZURITE:
        from . import azurite

        return getattr(azurite, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def find_azurite_table(root: Path) -> Path | None:
    """The ``azurite-table`` executable to run, or None (see the ``azurite`` fixture)."""
    explicit = os.environ.get(EXECUTABLE_VAR)
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    on_path = shutil.which("azurite-table")
    if on_path:
        return Path(on_path)
    for folder in (root / "node_modules", root / ".tools" / "azurite" / "node_modules"):
        candidate = folder / ".bin" / "azurite-table"
        if candidate.is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def azurite(request: pytest.FixtureRequest) -> Iterator[Azurite]:
    """Azurite's table service on 127.0.0.1, in memory, stopped by PID at the end."""
    from .azurite import run_azurite

    executable = find_azurite_table(request.config.rootpath)
    if executable is None:
        pytest.fail(f"Azurite's azurite-table was not found: {INSTALL}", pytrace=False)
    with run_azurite(executable) as running:
        yield running


@pytest.fixture
def azure_tables_session_config(azurite: Azurite) -> SessionConfig:
    """A SessionConfig on an empty table of its own in the test session's Azurite."""
    from hostsessions.config import SessionConfig

    table = "t" + uuid.uuid4().hex[:20]  # Azure table names are alphanumeric
    return SessionConfig(
        driver="azure-tables",
        options={"connection_string": azurite.connection_string, "table": table},
    )

"""Fixtures for the Azure adapter's tests: one Azurite table service per test session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostsessions_azure import AzureTablesDriver, azure_tables
from hostsessions_azure.testing import Azurite, run_azurite

ROOT = Path(__file__).resolve().parents[2]
AZURITE_TABLE = ROOT / ".tools" / "azurite" / "node_modules" / ".bin" / "azurite-table"


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    """Azurite's table service on 127.0.0.1, in memory, stopped by PID at the end."""
    if not AZURITE_TABLE.exists():
        pytest.fail(
            f"Azurite is missing at {AZURITE_TABLE}: run bash scripts/setup.d/30-azurite.sh"
        )
    with run_azurite(AZURITE_TABLE) as running:
        yield running


def fresh_table_name() -> str:
    """A table no other test uses (Azure table names are alphanumeric)."""
    return "t" + uuid.uuid4().hex[:20]


@pytest.fixture
def table_name() -> str:
    return fresh_table_name()


@pytest.fixture
def azure_driver(azurite: Azurite, table_name: str) -> AzureTablesDriver:
    """A sync driver on an empty table of its own."""
    return azure_tables(connection_string=azurite.connection_string, table=table_name)

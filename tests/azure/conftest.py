"""Fixtures for the Azure adapter's tests: one Azurite table service per test session."""

from __future__ import annotations

import uuid

import pytest
from hostsessions_azure import AzureTablesDriver, azure_tables
from hostsessions_azure.azurite import Azurite

# Azurite itself comes from the adapter's pytest plugin (hostsessions_azure.testing), which
# finds scripts/setup.d/30-azurite.sh's install under .tools/azurite.


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

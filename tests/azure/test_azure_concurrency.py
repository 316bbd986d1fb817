"""The core's concurrency guarantees through real servers, with sessions in Azurite.
ASGI runs the async driver (no thread hop), WSGI the sync one."""

from __future__ import annotations

import pytest
from hostsessions_azure.driver import AzureTablesDriver

from hostsessions import SessionConfig
from hostsessions.testing.concurrency import ConcurrencyConformance


class TestAzureTablesConcurrency(ConcurrencyConformance):
    @pytest.fixture
    def session_config(self, azure_driver: AzureTablesDriver) -> SessionConfig:
        return SessionConfig(driver=azure_driver)

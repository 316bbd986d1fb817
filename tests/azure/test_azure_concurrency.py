"""The core's concurrency guarantees through real servers, with sessions in Azurite.
ASGI runs the async driver (no thread hop), WSGI the sync one."""

from __future__ import annotations

import pytest
from hostsessions_azure.driver import AzureTablesDriver

from hostsessions import SessionConfig
from hostsessions.testing.concurrency import ConcurrencyConformance


class TestAzureTablesConcurrency(ConcurrencyConformance):
    # Azurite on a busy 2-core machine answers far slower than Azure Table storage; as for
    # moto and the Firestore emulator, the budget is emulator-sized (no change may be lost).
    retry_budget = 60.0

    # The emulator allowance DynamoDB's and Firestore's suites have: Azurite on a busy
    # 2-core machine answers far slower than Table storage, and 50 writers on one entity
    # ran out of the default 5 s (SessionStorageError, so 500s) at a load average of 10.
    retry_budget = 60.0

    @pytest.fixture
    def session_config(self, azure_driver: AzureTablesDriver) -> SessionConfig:
        return SessionConfig(driver=azure_driver)

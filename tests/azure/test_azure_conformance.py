"""The driver conformance suite, for the sync and the async azure-tables driver, on Azurite.

payload_limit is None here, though the driver has a limit (just under Azure's 1 MiB
entity size): Azurite refuses updates whose JSON body, binary values base64-encoded,
exceeds 1 MiB (payloads over about 780 KB), which real Azure accepts. test_azure_layout.py
checks the limit against Azure's size formula, and test_azure_driver.py that an oversized
session fails before any call and that a 600 KB session round-trips.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from hostsessions_azure import AsyncAzureTablesDriver, AzureTablesDriver

from hostsessions.testing import AsyncDriverConformance, DriverConformance, MinimalDriverConformance


class TestAzureTablesDriver(DriverConformance):
    payload_limit = None
    supports_sweep = True

    @pytest.fixture
    def driver(self, azure_driver: AzureTablesDriver) -> AzureTablesDriver:
        return azure_driver


class TestAzureTablesDriverMinimalProtocol(MinimalDriverConformance):
    payload_limit = None

    @pytest.fixture
    def driver(self, azure_driver: AzureTablesDriver) -> AzureTablesDriver:
        return azure_driver


class TestAsyncAzureTablesDriver(AsyncDriverConformance):
    payload_limit = None

    @pytest.fixture
    def async_driver_factory(
        self, azure_driver: AzureTablesDriver
    ) -> Callable[[], Awaitable[AsyncAzureTablesDriver]]:
        async def make() -> AsyncAzureTablesDriver:
            return azure_driver.to_async()

        return make

"""The driver conformance suite, for the sync and the async azure-tables driver, on Azurite.

payload_limit is None here: the driver's real limit (just under Azure's 1 MiB entity
size) is over what Azurite accepts, because Azurite measures the base64-inflated JSON
request body against 1 MiB. test_limits.py checks the limit itself.
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

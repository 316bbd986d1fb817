"""The core's concurrency checks through real servers, with sessions in Azurite."""

from __future__ import annotations

import pytest
from hostsessions_azure.driver import AzureTablesDriver

from hostsessions import SessionConfig
from hostsessions.testing.server import (
    check_concurrent_keys,
    check_concurrent_updates,
    check_no_resurrection_after_destroy,
)


@pytest.fixture
def config(azure_driver: AzureTablesDriver) -> SessionConfig:
    return SessionConfig(driver=azure_driver)


def test_concurrent_requests_setting_different_keys_keep_them_all_under_asgi(
    config: SessionConfig,
) -> None:
    check_concurrent_keys(config, n=50, interface="asgi")


def test_concurrent_updates_never_lose_an_increment_under_asgi(config: SessionConfig) -> None:
    check_concurrent_updates(config, n=50, interface="asgi")


def test_late_save_does_not_bring_back_a_destroyed_session_under_asgi(
    config: SessionConfig,
) -> None:
    check_no_resurrection_after_destroy(config, interface="asgi")


def test_concurrent_updates_never_lose_an_increment_under_wsgi(config: SessionConfig) -> None:
    check_concurrent_updates(config, n=50, interface="wsgi")

"""Zero config on Azure: which storage account the adapter picks from the app settings."""

from __future__ import annotations

import secrets

import pytest
from hostsessions_azure.adapter import adapter
from hostsessions_azure.azurite import Azurite
from hostsessions_azure.driver import AzureTablesDriver

from hostsessions import DriverConfig, SessionConfig, SessionConfigError
from hostsessions.adapters import build_driver, choose_driver

FUNCTIONS = {"FUNCTIONS_WORKER_RUNTIME": "python", "FUNCTIONS_EXTENSION_VERSION": "~4"}
APP_SERVICE = {"WEBSITE_SITE_NAME": "shop", "WEBSITE_INSTANCE_ID": "abc"}
ACCOUNT_KEY_STRING = (
    "DefaultEndpointsProtocol=https;AccountName=shopfn;AccountKey=a2V5;"
    "EndpointSuffix=core.windows.net"
)


def test_function_app_uses_its_azurewebjobsstorage_connection_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    environ = {**FUNCTIONS, "AzureWebJobsStorage": ACCOUNT_KEY_STRING}
    assert adapter.detect(environ)
    config = adapter.default_driver(environ)
    # The setting is named, not copied: `hostsessions doctor` prints options, never the key.
    assert config == DriverConfig(
        "hostsessions_azure:azure_tables",
        {"connection_string_setting": "AzureWebJobsStorage", "table": "hostsessions"},
    )
    monkeypatch.setenv("AzureWebJobsStorage", ACCOUNT_KEY_STRING)
    assert build_driver(config).settings.connection_string == ACCOUNT_KEY_STRING


def test_hostsessions_azure_table_names_another_table() -> None:
    environ = {
        **FUNCTIONS,
        "AzureWebJobsStorage": ACCOUNT_KEY_STRING,
        "HOSTSESSIONS_AZURE_TABLE": "shopsessions",
    }
    assert adapter.default_driver(environ).options["table"] == "shopsessions"


def test_identity_based_host_storage_uses_the_account_table_endpoint() -> None:
    environ = {
        **FUNCTIONS,
        "AzureWebJobsStorage__accountName": "shopfn",
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": "7f1c0000-0000-0000-0000-000000000001",
    }
    options = adapter.default_driver(environ).options
    assert options == {
        "endpoint": "https://shopfn.table.core.windows.net",
        "table": "hostsessions",
        "credential": "managedidentity",
        "client_id": "7f1c0000-0000-0000-0000-000000000001",
    }
    driver = build_driver(adapter.default_driver(environ))
    assert isinstance(driver, AzureTablesDriver)
    assert driver.settings.location == (
        "table 'hostsessions' at https://shopfn.table.core.windows.net"
    )


def test_identity_based_table_service_uri_wins_over_the_account_name() -> None:
    environ = {
        **FUNCTIONS,
        "AzureWebJobsStorage__accountName": "shopfn",
        "AzureWebJobsStorage__tableServiceUri": "https://shopfn.table.core.chinacloudapi.cn",
    }
    options = adapter.default_driver(environ).options
    assert options["endpoint"] == "https://shopfn.table.core.chinacloudapi.cn"


def test_development_storage_points_at_the_local_emulator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FUNCTIONS_WORKER_RUNTIME", "python")
    monkeypatch.setenv("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    driver = build_driver(choose_driver(SessionConfig()).driver)
    assert driver.settings.connection_string == "UseDevelopmentStorage=true"
    assert "UseDevelopmentStorage=true" in driver.settings.location


def test_app_service_without_a_store_fails_at_start_up_with_the_fix() -> None:
    with pytest.raises(SessionConfigError) as caught:
        choose_driver(SessionConfig(), APP_SERVICE)
    message = str(caught.value)
    assert "Azure App Service" in message
    assert "HOSTSESSIONS_AZURE_CONNECTION_STRING" in message
    assert "HOSTSESSIONS_DRIVER" in message


def test_function_app_without_host_storage_fails_at_start_up_naming_azurewebjobsstorage() -> None:
    with pytest.raises(SessionConfigError, match="AzureWebJobsStorage"):
        choose_driver(SessionConfig(), FUNCTIONS)


def test_app_service_with_a_connection_string_stores_sessions_there(
    azurite: Azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in APP_SERVICE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOSTSESSIONS_AZURE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("HOSTSESSIONS_AZURE_TABLE", "t" + secrets.token_hex(8))
    choice = choose_driver(SessionConfig())
    assert choice.adapter == "azure"
    driver = build_driver(choice.driver)
    session_id = secrets.token_urlsafe(32)
    version = driver.write(session_id, "cart", expires_at=None, expected_version=None)
    assert driver.read(session_id).version == version


def test_our_connection_string_wins_over_the_function_apps_storage() -> None:
    environ = {
        **FUNCTIONS,
        "AzureWebJobsStorage": ACCOUNT_KEY_STRING,
        "HOSTSESSIONS_AZURE_CONNECTION_STRING": "UseDevelopmentStorage=true",
    }
    assert adapter.default_driver(environ).options["connection_string_setting"] == (
        "HOSTSESSIONS_AZURE_CONNECTION_STRING"
    )


def test_explicit_driver_name_uses_the_app_settings_when_given_no_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", ACCOUNT_KEY_STRING)
    choice = choose_driver(SessionConfig(driver="azure-tables"), {})
    driver = build_driver(choice.driver)
    assert driver.settings.location == "table 'hostsessions' at https://shopfn.table.core.windows.net"


def test_a_named_setting_that_is_not_set_is_a_config_error() -> None:
    with pytest.raises(SessionConfigError, match="MY_SESSIONS_STORAGE"):
        build_driver(
            DriverConfig(
                "hostsessions_azure:azure_tables",
                {"connection_string_setting": "MY_SESSIONS_STORAGE"},
            )
        )


def test_elsewhere_the_adapter_stands_aside() -> None:
    assert not adapter.detect({"HOME": "/home/dev", "AzureWebJobsStorage": ACCOUNT_KEY_STRING})


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"connection_string": ACCOUNT_KEY_STRING, "table": "my-sessions"}, "invalid Azure table"),
        ({"connection_string": ACCOUNT_KEY_STRING, "endpoint": "https://x"}, "not both"),
        ({"endpoint": "https://x.table.core.windows.net", "credential": "key"}, "not understood"),
    ],
)
def test_bad_options_fail_with_a_config_error(options: dict[str, str], complaint: str) -> None:
    with pytest.raises(SessionConfigError, match=complaint):
        build_driver(DriverConfig("hostsessions_azure:azure_tables", options))

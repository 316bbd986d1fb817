"""What the azure-tables driver does on a real table service (Azurite)."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.data.tables import TableClient, TableServiceClient
from hostsessions_azure import azure_tables, layout
from hostsessions_azure.azurite import DEV_ACCOUNT, DEV_ACCOUNT_KEY, Azurite, free_port
from hostsessions_azure.driver import AzureTablesDriver

from hostsessions import SessionStorageError, SessionTooLargeError, drivers
from hostsessions.cli import main as hostsessions_cli

from .conftest import fresh_table_name

# About 600 KB of mixed 1- to 4-byte characters: ten 64 KiB chunks.
LARGE_PAYLOAD = "session data: é € 😀 " * 23_077  # 26 UTF-8 bytes a time: 600,002 bytes


def raw_entity(azurite: Azurite, table: str, session_id: str) -> dict[str, object]:
    with TableClient.from_connection_string(azurite.connection_string, table) as client:
        return dict(client.get_entity(session_id, ""))


def table_names(azurite: Azurite) -> set[str]:
    with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        return {table.name for table in service.list_tables()}


def test_600_kb_session_round_trips_through_chunked_binary_properties(
    azurite: Azurite, azure_driver: AzureTablesDriver, table_name: str
) -> None:
    session_id = secrets.token_urlsafe(32)
    size = len(LARGE_PAYLOAD.encode("utf-8"))
    assert size == 600_002
    version = azure_driver.write(session_id, LARGE_PAYLOAD, expires_at=None, expected_version=None)
    record = azure_driver.read(session_id)
    assert record is not None
    assert record.payload == LARGE_PAYLOAD
    assert record.version == version
    stored = raw_entity(azurite, table_name, session_id)
    assert stored["chunks"] == 10
    assert all(len(stored[f"payload_{i}"]) == 65536 for i in range(9))  # type: ignore[arg-type]
    # And a conditional rewrite of the whole thing.
    reversed_payload = LARGE_PAYLOAD[::-1]
    azure_driver.write(session_id, reversed_payload, expires_at=None, expected_version=version)
    assert azure_driver.read(session_id).payload == reversed_payload  # type: ignore[union-attr]


def test_async_driver_round_trips_the_same_600_kb_session(
    azure_driver: AzureTablesDriver,
) -> None:
    session_id = secrets.token_urlsafe(32)

    async def scenario() -> None:
        driver = azure_driver.to_async()
        try:
            version = await driver.write(
                session_id, LARGE_PAYLOAD, expires_at=time.time() + 60, expected_version=None
            )
            record = await driver.read(session_id)
            assert record is not None
            assert record.payload == LARGE_PAYLOAD
            assert record.version == version
        finally:
            await driver.aclose()

    asyncio.run(scenario())
    # Both flavours share one layout: the sync driver reads what the async one wrote.
    assert azure_driver.read(session_id) is not None


def test_endpoint_with_a_credential_object_works_for_both_flavours(
    azurite: Azurite, table_name: str
) -> None:
    driver = drivers.azure_tables(
        endpoint=azurite.endpoint,
        credential=AzureNamedKeyCredential(DEV_ACCOUNT, DEV_ACCOUNT_KEY),
        table=table_name,
    )
    session_id = secrets.token_urlsafe(32)
    driver.write(session_id, "from WSGI", expires_at=None, expected_version=None)

    async def read_async() -> str | None:
        async_driver = driver.to_async()
        try:
            record = await async_driver.read(session_id)
            return None if record is None else record.payload
        finally:
            await async_driver.aclose()

    assert asyncio.run(read_async()) == "from WSGI"


def test_oversized_session_fails_before_any_call_to_the_store() -> None:
    # Nothing listens on this port: any call would fail with SessionStorageError instead.
    unreachable = azure_tables(
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey=a2V5;"
            f"TableEndpoint=http://127.0.0.1:{free_port()}/{DEV_ACCOUNT};"
        ),
        table="sessions",
    )
    limit = layout.max_payload_bytes(secrets.token_urlsafe(32), has_expires=False)
    with pytest.raises(SessionTooLargeError) as caught:
        unreachable.write(
            secrets.token_urlsafe(32), "x" * (limit + 1), expires_at=None, expected_version=None
        )
    assert caught.value.limit == limit


def test_first_write_creates_the_missing_table_and_reads_create_nothing(
    azurite: Azurite,
) -> None:
    table = fresh_table_name()
    driver = azure_tables(connection_string=azurite.connection_string, table=table)
    assert driver.read(secrets.token_urlsafe(32)) is None
    assert driver.sweep() == 0
    assert table not in table_names(azurite)
    driver.write(secrets.token_urlsafe(32), "first", expires_at=None, expected_version=None)
    assert table in table_names(azurite)


def test_hostsessions_gc_deletes_expired_sessions_from_the_configured_table(
    azurite: Azurite, table_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOSTSESSIONS_AZURE_CONNECTION_STRING", azurite.connection_string)
    monkeypatch.setenv("HOSTSESSIONS_AZURE_TABLE", table_name)
    driver = azure_tables()
    expired, live = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    driver.write(expired, "old", expires_at=time.time() - 5, expected_version=None)
    driver.write(live, "new", expires_at=time.time() + 3600, expected_version=None)

    assert hostsessions_cli(["gc", "--driver", "azure-tables"]) == 0

    with TableClient.from_connection_string(azurite.connection_string, table_name) as client:
        remaining = {entity["PartitionKey"] for entity in client.list_entities()}
    assert remaining == {live}


def test_wrong_account_key_is_a_storage_error_that_says_so(azurite: Azurite) -> None:
    wrong_key = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    driver = azure_tables(connection_string=wrong_key, table=fresh_table_name())
    with pytest.raises(SessionStorageError, match="account key or SAS token was refused"):
        driver.write(secrets.token_urlsafe(32), "x", expires_at=None, expected_version=None)


def test_unreachable_account_is_a_storage_error_naming_the_table_and_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/{DEV_ACCOUNT}"
    driver = azure_tables(
        connection_string=(
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey=a2V5;"
            f"TableEndpoint={endpoint};"
        ),
        table="sessions",
    )
    with pytest.raises(SessionStorageError) as caught:
        driver.read(secrets.token_urlsafe(32))
    message = str(caught.value)
    assert "'sessions'" in message
    assert endpoint in message
    assert "could not be reached" in message
    assert "a2V5" not in message  # never the key

"""A write the store applied whose reply was lost is applied once: a TCP proxy in front
of the emulator forwards the write, lets the store answer, and cuts the connection; the
SDK retries, the retry fails its condition, and the core finds its own write token in the
record instead of replaying the update (docs/concurrency.md). Azure Tables through
Azurite and Firestore through its emulator, under ASGI (uvicorn) and WSGI; DynamoDB
through the moto server is in tests/aws/test_aws_lost_replies.py."""

from __future__ import annotations

from typing import Any

import pytest

from hostsessions import SessionConfig, drivers

from .faults import COUNTER, ReplyDroppingProxy, check_lost_reply_applied_once


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_azure_tables_applies_an_update_whose_reply_was_lost_once(
    azurite: Any, interface: str
) -> None:
    from hostsessions_azure.azurite import DEV_ACCOUNT, DEV_ACCOUNT_KEY

    # An update is a PUT with If-Match (a create is a POST, which azure-core never resends)
    with ReplyDroppingProxy(azurite.port, lambda chunk: b"If-Match" in chunk) as proxy:
        connection_string = (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
            f"AccountKey={DEV_ACCOUNT_KEY};"
            f"TableEndpoint=http://127.0.0.1:{proxy.port}/{DEV_ACCOUNT};"
        )
        driver = drivers.azure_tables(connection_string=connection_string, table="lost" + interface)
        check_lost_reply_applied_once(SessionConfig(driver=driver), proxy, interface)


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_firestore_applies_an_update_whose_reply_was_lost_once(
    firestore_project: str,
    firestore_emulator: Any,
    monkeypatch: pytest.MonkeyPatch,
    interface: str,
) -> None:
    port = int(firestore_emulator.host.rsplit(":", 1)[1])
    marker = COUNTER.encode()
    # gRPC frames cannot be told apart on the wire: cut once the commit had time to land
    with ReplyDroppingProxy(port, lambda chunk: marker in chunk, settle=0.5) as proxy:
        monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", f"127.0.0.1:{proxy.port}")
        driver = drivers.firestore(collection="lost" + interface, timeout=20)
        check_lost_reply_applied_once(SessionConfig(driver=driver), proxy, interface)

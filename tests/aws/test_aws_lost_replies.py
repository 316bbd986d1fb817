"""A PutItem the table applied whose reply was lost is applied once (see
tests/test_lost_replies.py): the moto server behind a TCP proxy that cuts the connection
after the write; botocore resends it, the condition fails, and the conflict carries the
item (ALL_OLD) with the core's own write token in it. ASGI (uvicorn) and WSGI."""

from __future__ import annotations

import pytest

from hostsessions import SessionConfig, drivers

from ..faults import COUNTER, ReplyDroppingProxy, check_lost_reply_applied_once
from .support import REGION, MotoServer


@pytest.mark.parametrize("interface", ["asgi", "wsgi"])
def test_dynamodb_applies_an_update_whose_reply_was_lost_once(
    moto_server: MotoServer, interface: str
) -> None:
    port = int(moto_server.url.rsplit(":", 1)[1])
    marker = COUNTER.encode()
    with ReplyDroppingProxy(port, lambda chunk: b"PutItem" in chunk and marker in chunk) as proxy:
        driver = drivers.dynamodb(
            table=moto_server.new_table(),
            region=REGION,
            endpoint_url=f"http://127.0.0.1:{proxy.port}",
        )
        check_lost_reply_applied_once(SessionConfig(driver=driver), proxy, interface)

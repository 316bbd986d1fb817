"""docs/aws.md's local recipe: a moto server, `python -m hostsessions_aws create-table`, then
the demo with HOSTSESSIONS_DRIVER-style settings from the environment only."""

from __future__ import annotations

import uuid

import httpx
import pytest
from hostsessions_aws.__main__ import main
from hostsessions_aws.client import shared_client

from hostsessions.demo import build
from hostsessions.testing.server import serve_wsgi

from .support import REGION, MotoServer


def test_demo_keeps_its_cart_in_a_table_on_a_local_moto_server(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = f"demo-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_server.url)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("HOSTSESSIONS_DYNAMODB_TABLE", table)
    assert main(["create-table"]) == 0

    with serve_wsgi(build("dynamodb")) as url, httpx.Client(base_url=url) as browser:
        added = browser.post("/cart/add", data={"product": "tea"}, follow_redirects=True)
        cart = browser.get("/cart")

    assert added.status_code == 200
    assert "Green tea" in cart.text
    items = shared_client(REGION).scan(TableName=table)["Items"]
    assert len(items) == 1
    assert "tea" in items[0]["payload"]["S"]

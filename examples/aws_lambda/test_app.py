"""How a user tests this app with no AWS account: the ``dynamodb_session_config`` fixture
of ``hostsessions-aws[testing]`` runs each test against a fresh table in moto.

    pip install 'hostsessions-aws[testing]' httpx
    pytest test_app.py
"""

from __future__ import annotations

from app import create_app
from starlette.testclient import TestClient

from hostsessions import SessionConfig


def shop(config: SessionConfig) -> TestClient:
    # https: the session cookie is Secure everywhere but plain-http localhost.
    return TestClient(create_app(config), base_url="https://shop.example")


def test_cart_is_kept_between_requests(dynamodb_session_config: SessionConfig) -> None:
    client = shop(dynamodb_session_config)

    client.post("/cart/apple")
    client.post("/cart/pear")

    assert client.get("/cart").json() == {"cart": ["apple", "pear"]}


def test_each_visitor_has_their_own_cart(dynamodb_session_config: SessionConfig) -> None:
    alice, bob = shop(dynamodb_session_config), shop(dynamodb_session_config)

    alice.post("/cart/apple")

    assert bob.get("/cart").json() == {"cart": []}


def test_emptying_the_cart_removes_the_session(dynamodb_session_config: SessionConfig) -> None:
    client = shop(dynamodb_session_config)
    client.post("/cart/apple")

    client.delete("/cart")

    assert client.get("/cart").json() == {"cart": []}

"""The Azure Functions examples, driven in-process the way the Functions Python worker
calls them: azure.functions.HttpRequest in, HttpResponse out, against Azurite.

Only the function app's own settings (FUNCTIONS_WORKER_RUNTIME and AzureWebJobsStorage)
configure the store; the examples name no driver.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from http.cookies import SimpleCookie
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func
import pytest
from azure.data.tables import TableClient
from hostsessions_azure import azure_tables
from hostsessions_azure.azurite import Azurite

from ..helpers import load_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE_URL = "http://localhost:7071"


@pytest.fixture
def function_app_settings(
    azurite: Azurite, clean_host_environment: pytest.MonkeyPatch
) -> Azurite:
    """The app settings Azure Functions gives every Python function app, and nothing else."""
    monkeypatch = clean_host_environment
    monkeypatch.setenv("FUNCTIONS_WORKER_RUNTIME", "python")
    monkeypatch.setenv("FUNCTIONS_EXTENSION_VERSION", "~4")
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    return azurite


def load_function_app(folder: str) -> ModuleType:
    """Import examples/<folder>/function_app.py afresh, as the worker does at start-up."""
    path = EXAMPLES / folder / "function_app.py"
    return load_module(path, f"{folder}_function_app_{secrets.token_hex(4)}")


def function_named(module: ModuleType, name: str) -> Callable[..., Any]:
    for function in module.app.get_functions():
        if function.get_function_name() == name:
            user_function: Callable[..., Any] = function.get_user_function()
            return user_function
    raise AssertionError(f"the function app has no function {name!r}")


def request(method: str, path: str, cookie: str | None = None) -> func.HttpRequest:
    headers = {"host": "localhost:7071"}
    if cookie is not None:
        headers["cookie"] = cookie
    return func.HttpRequest(method, BASE_URL + path, headers=headers, body=b"")


def session_cookie(response: func.HttpResponse) -> str:
    set_cookie = response.headers.get("set-cookie")
    assert set_cookie, f"no Set-Cookie in {dict(response.headers)}"
    morsel = SimpleCookie(set_cookie)["hostsessions"]
    assert "httponly" in set_cookie.lower()
    return f"hostsessions={morsel.value}"


def stored_session_ids(azurite: Azurite) -> set[str]:
    with TableClient.from_connection_string(azurite.connection_string, "hostsessions") as client:
        return {entity["PartitionKey"] for entity in client.list_entities(select=["PartitionKey"])}


async def shut_down(app: func.AsgiFunctionApp) -> None:
    """Send the ASGI shutdown the Functions host sends when the worker stops.

    Left to the garbage collector, AsgiFunctionApp.__del__ calls asyncio.run() for it,
    which fails when the collection happens inside another test's running event loop.
    """
    if app.startup_task_done:
        await app.middleware.notify_shutdown()
        app.startup_task_done = False


def test_asgi_function_app_keeps_the_cart_in_the_function_apps_own_storage(
    function_app_settings: Azurite,
) -> None:
    module = load_function_app("azure_functions")
    http_function = function_named(module, "http_app_func")

    async def visit() -> tuple[func.HttpResponse, func.HttpResponse, str]:
        try:
            added = await http_function(request("POST", "/cart/items?item=book"), None)
            cookie = session_cookie(added)
            shown = await http_function(request("GET", "/cart", cookie), None)
            return added, shown, cookie
        finally:
            await shut_down(module.app)

    added, shown, cookie = asyncio.run(visit())
    assert added.status_code == 200
    assert json.loads(added.get_body()) == {"cart": ["book"]}
    assert json.loads(shown.get_body()) == {"cart": ["book"]}
    assert cookie.split("=", 1)[1] in stored_session_ids(function_app_settings)


def test_wsgi_function_app_keeps_the_cart_in_the_function_apps_own_storage(
    function_app_settings: Azurite,
) -> None:
    module = load_function_app("azure_functions_wsgi")
    http_function = function_named(module, "http_app_func")

    added = http_function(request("POST", "/cart/items?item=pen"), None)
    cookie = session_cookie(added)
    again = http_function(request("POST", "/cart/items?item=ink", cookie), None)
    shown = http_function(request("GET", "/cart", cookie), None)

    assert json.loads(again.get_body()) == {"cart": ["pen", "ink"]}
    assert json.loads(shown.get_body()) == {"cart": ["pen", "ink"]}
    assert cookie.split("=", 1)[1] in stored_session_ids(function_app_settings)


def test_timer_function_sweeps_expired_sessions(function_app_settings: Azurite) -> None:
    module = load_function_app("azure_functions")
    store = azure_tables(connection_string=function_app_settings.connection_string)
    expired, live = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    store.write(expired, "old", expires_at=time.time() - 5, expected_version=None)
    store.write(live, "new", expires_at=time.time() + 3600, expected_version=None)

    function_named(module, "sweep_expired_sessions")(None)

    remaining = stored_session_ids(function_app_settings)
    assert expired not in remaining
    assert live in remaining

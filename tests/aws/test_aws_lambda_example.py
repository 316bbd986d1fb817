"""examples/aws_lambda, invoked the way Lambda runs it: API Gateway events into Mangum's handler.

Nothing configures the store but Lambda's own variables; DynamoDB is moto's, in-process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from http.cookies import SimpleCookie
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from hostsessions import SessionConfig

from ..helpers import load_module
from .support import LAMBDA_ENVIRON, REPO

EXAMPLE = REPO / "examples" / "aws_lambda"
HOST = "abc123.execute-api.us-east-1.amazonaws.com"
CONTEXT = SimpleNamespace(function_name="shop", aws_request_id="req-1", memory_limit_in_mb=512)


@pytest.fixture
def lambda_app(
    dynamodb_session_config: SessionConfig, clean_host_environment: pytest.MonkeyPatch
) -> ModuleType:
    """The example module, imported as Lambda's init phase would, with Lambda's variables only."""
    monkeypatch = clean_host_environment
    for name, value in {**LAMBDA_ENVIRON, "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    return load_module(EXAMPLE / "app.py", "aws_lambda_example_app")


def http_api_event(method: str, path: str, cookies: list[str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) event, as a function URL sends it too."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": HOST, "x-forwarded-proto": "https", "x-forwarded-port": "443"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": HOST,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.7",
                "userAgent": "pytest",
            },
            "requestId": "r-2",
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": 1_767_225_600_000,
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    return event


def rest_api_event(method: str, path: str, cookie: str | None = None) -> dict[str, Any]:
    """An API Gateway REST API (payload format 1.0) proxy event."""
    headers = {"Host": HOST, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    if cookie:
        headers["Cookie"] = cookie
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "path": f"/prod{path}",
            "stage": "prod",
            "identity": {"sourceIp": "203.0.113.7"},
            "requestId": "r-1",
        },
        "body": None,
        "isBase64Encoded": False,
    }


def session_cookie(set_cookie_lines: list[str]) -> str:
    """The ``name=value`` of the session cookie among a response's Set-Cookie lines."""
    (line,) = [line for line in set_cookie_lines if line.startswith("hostsessions=")]
    morsel = SimpleCookie(line)["hostsessions"]
    assert morsel["httponly"], line
    assert morsel["secure"], line
    return f"hostsessions={morsel.value}"


def test_http_api_returns_the_cookie_in_its_cookies_list_and_reads_it_back(
    lambda_app: ModuleType,
) -> None:
    first = lambda_app.handler(http_api_event("POST", "/cart/apple"), CONTEXT)

    assert first["statusCode"] == 200
    assert "set-cookie" not in {name.lower() for name in first.get("headers", {})}
    cookie = session_cookie(first["cookies"])
    second = lambda_app.handler(http_api_event("POST", "/cart/pear", [cookie]), CONTEXT)
    shown = lambda_app.handler(http_api_event("GET", "/cart", [cookie]), CONTEXT)

    assert json.loads(second["body"]) == {"cart": ["apple", "pear"]}
    assert json.loads(shown["body"]) == {"cart": ["apple", "pear"]}
    assert "cookies" not in shown  # a read that changes nothing sets no cookie


def test_rest_api_returns_the_cookie_as_a_header_and_reads_it_back(
    lambda_app: ModuleType,
) -> None:
    first = lambda_app.handler(rest_api_event("POST", "/cart/apple"), CONTEXT)

    assert first["statusCode"] == 200
    lines = first["multiValueHeaders"].get("set-cookie", [])
    if "set-cookie" in first["headers"]:
        lines = [*lines, first["headers"]["set-cookie"]]
    cookie = session_cookie(lines)
    shown = lambda_app.handler(rest_api_event("GET", "/cart", cookie), CONTEXT)

    assert json.loads(shown["body"]) == {"cart": ["apple"]}


def test_sessions_of_the_lambda_app_live_in_the_dynamodb_table(lambda_app: ModuleType) -> None:
    import boto3

    first = lambda_app.handler(http_api_event("POST", "/cart/apple"), CONTEXT)
    session_id = session_cookie(first["cookies"]).split("=", 1)[1]

    item = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName="hostsessions", Key={"id": {"S": session_id}}, ConsistentRead=True
    )
    assert "apple" in item["Item"]["payload"]["S"]
    assert lambda_app.app.manager.choice.adapter == "aws"


def test_documented_user_test_of_the_example_passes() -> None:
    # docs/aws.md shows this file as the way to test one's own app with the plugin.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(EXAMPLE / "test_app.py"),
        ],
        capture_output=True,
        text=True,
        cwd=EXAMPLE,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_docs_show_the_tested_file_as_it_is() -> None:
    page = (REPO / "docs" / "aws.md").read_text(encoding="utf-8")

    assert (EXAMPLE / "test_app.py").read_text(encoding="utf-8") in page

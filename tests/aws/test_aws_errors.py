"""What a user sees when DynamoDB fails: retried when it may pass, then a clear error.

moto never throttles, so throttling comes from a small endpoint of our own on 127.0.0.1
that answers like DynamoDB does; botocore's real retry logic runs against it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hostsessions_aws.layout import item_size, number_size

from hostsessions import SessionConfig, SessionStorageError, drivers

from .support import free_port

Answer = tuple[int, dict[str, str]]
THROTTLED: Answer = (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"})
UNAVAILABLE: Answer = (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"})
EMPTY_GET_ITEM: Answer = (200, {})


@contextmanager
def dynamodb_endpoint(answers: list[Answer]) -> Iterator[tuple[str, list[str]]]:
    """An endpoint that gives ``answers`` in turn (the last one forever); yields its URL and
    the operations it received."""
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            received.append(self.headers.get("x-amz-target", "").rpartition(".")[2])
            status, body = answers[min(len(received), len(answers)) - 1]
            data = json.dumps({**body, "message": "from the test endpoint"}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/x-amz-json-1.0")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.mark.usefixtures("fake_credentials")
def test_persistent_throttling_ends_in_a_storage_error_after_the_retries() -> None:
    with dynamodb_endpoint([THROTTLED]) as (url, received):
        driver = drivers.dynamodb(
            table="shop", region="eu-west-1", endpoint_url=url, max_attempts=2
        )

        with pytest.raises(SessionStorageError) as raised:
            driver.read("k" * 43)

    assert received == ["GetItem", "GetItem"]
    message = str(raised.value)
    for expected in ("throttled", "GetItem", "'shop'", "eu-west-1", "2 attempts", "on-demand"):
        assert expected in message


@pytest.mark.usefixtures("fake_credentials")
def test_transient_server_error_is_retried_and_the_read_succeeds() -> None:
    with dynamodb_endpoint([UNAVAILABLE, EMPTY_GET_ITEM]) as (url, received):
        driver = drivers.dynamodb(
            table="shop", region="eu-west-1", endpoint_url=url, max_attempts=2
        )

        assert driver.read("k" * 43) is None

    assert received == ["GetItem", "GetItem"]


@pytest.mark.usefixtures("fake_credentials")
def test_unreachable_endpoint_is_a_storage_error_naming_it() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    driver = drivers.dynamodb(table="shop", region="eu-west-1", endpoint_url=url, max_attempts=1)

    with pytest.raises(SessionStorageError) as raised:
        driver.write("k" * 43, "payload", expires_at=None, expected_version=None)

    assert url in str(raised.value)
    assert "PutItem" in str(raised.value)


def test_missing_permission_names_the_actions_the_role_needs(
    dynamodb_session_config: SessionConfig,
) -> None:
    import boto3
    from moto.core import set_initial_no_auth_action_count

    @set_initial_no_auth_action_count(2)
    def read_as_a_user_without_dynamodb_rights() -> None:
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="app")
        key = iam.create_access_key(UserName="app")["AccessKey"]
        client = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        drivers.dynamodb(client=client, **dynamodb_session_config.options).read("k" * 43)

    with pytest.raises(SessionStorageError) as raised:
        read_as_a_user_without_dynamodb_rights()

    message = str(raised.value)
    for expected in (
        "dynamodb:GetItem, dynamodb:PutItem, dynamodb:DeleteItem",
        "'hostsessions'",
        "us-east-1",
        "infra/aws/template.yaml",
    ):
        assert expected in message


@pytest.mark.parametrize(
    ("number", "size"),
    [
        ("1767225600", 5),  # 8 significant digits once trailing zeros go: 4 + 1
        ("1767225601", 6),
        ("0", 2),
        ("-12.500", 3),  # 125
        ("0.0001", 2),
    ],
)
def test_number_size_counts_one_byte_per_two_significant_digits_plus_one(
    number: str, size: int
) -> None:
    assert number_size(number) == size


def test_item_size_counts_utf8_names_and_values() -> None:
    item = {"id": {"S": "abc"}, "payload": {"S": "é€😀"}, "naïve": {"N": "42"}}

    # id: 2 + 3; payload: 7 + (2 + 3 + 4); naïve: 6 + (1 + 1)
    assert item_size(item) == 5 + 16 + 8

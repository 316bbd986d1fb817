"""The DynamoDB client: boto3 imported on first use, one client per process and place.

boto3 is imported when the driver makes its first call, not when this module is
imported, and every driver in a process that talks to the same region and endpoint
shares one client (clients are thread-safe, and creating one costs tens of milliseconds
of a cold start).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hostsessions.drivers.base import ClientCache
from hostsessions.errors import SessionConfigError

from .layout import create_table_request, time_to_live_request

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "CONNECT_TIMEOUT",
    "DEFAULT_MAX_ATTEMPTS",
    "MAX_POOL_CONNECTIONS",
    "READ_TIMEOUT",
    "create_table",
    "reset_clients",
    "shared_client",
]

# A web request should not hang on its session store: fail fast and let botocore retry.
# A call that gets no answer ends within max_attempts * (connect_timeout + read_timeout)
# plus botocore's backoff between attempts (under 1, 2, 4... s): about 12 s by default.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
DEFAULT_MAX_ATTEMPTS = 3
# The ASGI thread pool and a WSGI server's threads share the client: keep a connection each.
MAX_POOL_CONNECTIONS = 32

_clients: ClientCache[tuple[str | None, ...], DynamoDBClient] = ClientCache()


def shared_client(
    region: str | None = None,
    endpoint_url: str | None = None,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
) -> DynamoDBClient:
    """The process's DynamoDB client for this region and endpoint, created on first use.

    ``region`` defaults to ``AWS_REGION`` (Lambda sets it), then to boto3's own lookup;
    ``endpoint_url`` to boto3's (``AWS_ENDPOINT_URL_DYNAMODB``, for a local moto server).
    """
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    # The endpoint variables are part of the key so that a test (or a process) that points
    # them elsewhere gets a client for the new place rather than the old one.
    key = (
        region,
        endpoint_url,
        os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"),
        os.environ.get("AWS_ENDPOINT_URL"),
        str(max_attempts),
        str(connect_timeout),
        str(read_timeout),
    )
    return _clients.get(
        key,
        lambda: _new_client(region, endpoint_url, max_attempts, connect_timeout, read_timeout),
    )


def _new_client(
    region: str | None,
    endpoint_url: str | None,
    max_attempts: int,
    connect_timeout: float,
    read_timeout: float,
) -> DynamoDBClient:
    import boto3.session
    from botocore.config import Config
    from botocore.exceptions import NoRegionError

    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )
    # A session of our own: boto3's default session is not safe to share across threads.
    session = boto3.session.Session()
    try:
        # boto3-stubs overloads client() for every AWS service and only the DynamoDB one
        # is installed, so the others' return types are unknown; this overload is typed.
        return session.client(  # pyright: ignore[reportUnknownMemberType]
            "dynamodb", region_name=region, endpoint_url=endpoint_url, config=config
        )
    except NoRegionError as exc:
        raise SessionConfigError(
            "the DynamoDB session store needs an AWS region: set AWS_REGION (Lambda sets it "
            "for you) or pass region=... (SessionConfig(driver='dynamodb', "
            "options={'region': 'eu-west-1'}))"
        ) from exc


def reset_clients() -> None:
    """Forget the shared clients, so the next call creates fresh ones (for test fixtures)."""
    _clients.clear()


def create_table(client: DynamoDBClient, table: str) -> bool:
    """Create the sessions table (on demand, TTL on ``expires``) unless it exists.

    Waits until the table is active. Returns True when this call created it. Meant for
    local development and tests; deployments create the table with the template.
    """
    try:
        client.describe_table(TableName=table)
        return False
    except client.exceptions.ResourceNotFoundException:
        pass
    try:
        client.create_table(**create_table_request(table))
    except client.exceptions.ResourceInUseException:
        # Another process created it between our two calls: that is what we wanted.
        client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
        return False
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    client.update_time_to_live(**time_to_live_request(table))
    return True

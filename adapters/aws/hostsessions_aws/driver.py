"""The DynamoDB driver: one item per session, conditional writes, strongly consistent reads.

boto3 is imported when the driver makes its first call, not when this module is
imported, and every driver in a process that talks to the same region and endpoint
shares one client (clients are thread-safe, and creating one costs tens of milliseconds
of a cold start). Under ASGI the core runs these blocking calls on worker threads.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from hostsessions.drivers.base import (
    ClientCache,
    DriverBase,
    Record,
    WriteConflict,
    check_size,
    is_expired,
    utf8_length,
    whole_seconds,
)
from hostsessions.errors import SessionConfigError, SessionStorageError

from .itemsize import ITEM_SIZE_LIMIT, item_size
from .table import (
    CREATE_TABLE_ACTIONS,
    EXPIRES_ATTRIBUTE,
    KEY_ATTRIBUTE,
    PAYLOAD_ATTRIBUTE,
    RUNTIME_ACTIONS,
    TABLE_ENV_VAR,
    TEMPLATE_PATH,
    TOKEN_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    create_table,
    table_name_from,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

TABLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")

# A web request should not hang on its session store: fail fast and let botocore retry.
# A call that gets no answer ends within max_attempts * (connect_timeout + read_timeout)
# plus botocore's backoff between attempts (under 1, 2, 4... s): about 12 s by default.
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
DEFAULT_MAX_ATTEMPTS = 3
# The ASGI thread pool and a WSGI server's threads share the client: keep a connection each.
MAX_POOL_CONNECTIONS = 32

THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }
)

# Expression attribute names: every attribute goes through one, so no name ever collides
# with DynamoDB's long list of reserved words.
NAMES = {
    "#id": KEY_ATTRIBUTE,
    "#version": VERSION_ATTRIBUTE,
    "#expires": EXPIRES_ATTRIBUTE,
}
# A record whose `expires` has passed is absent, even before DynamoDB's TTL deletes it
# (which may take days). So a new record may replace an expired one, and an update or a
# versioned delete needs a record that is both unexpired and at the version it read.
CREATE_CONDITION = "attribute_not_exists(#id) OR #expires <= :now"
UPDATE_CONDITION = "#version = :expected AND (attribute_not_exists(#expires) OR #expires > :now)"
DELETE_CONDITION = "attribute_not_exists(#id) OR #version = :expected OR #expires <= :now"

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
        return session.client(
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


class DynamoDBDriver(DriverBase):
    """Sessions in a DynamoDB table, one item per session ID (sync, versioned and minimal).

    ``table`` defaults to ``HOSTSESSIONS_DYNAMODB_TABLE``, then ``"hostsessions"``;
    ``region`` to ``AWS_REGION``; ``endpoint_url`` to boto3's default (DynamoDB itself, or
    ``AWS_ENDPOINT_URL_DYNAMODB``). ``client`` is a boto3 DynamoDB client to use instead of
    the shared one. ``create_table=True`` creates a missing table (on demand, TTL on
    ``expires``) at first use: for local development and tests, never needed in a
    deployment that used the template. ``max_attempts`` (3) bounds botocore's attempts
    at a throttled or failed call, ``connect_timeout`` (2 s) and ``read_timeout`` (3 s)
    each attempt's wait, so a store that does not answer fails a call with
    :class:`~hostsessions.SessionStorageError` within about ``max_attempts *
    (connect_timeout + read_timeout)`` plus botocore's backoff (:attr:`call_budget`).
    ``item_size_limit`` is DynamoDB's 400 KB; lower it only for a look-alike store that
    accepts less (moto refuses items from 405,000 bytes).
    """

    store_name: ClassVar[str] = "DynamoDB"

    def __init__(
        self,
        table: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
        create_table: bool = False,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        item_size_limit: int = ITEM_SIZE_LIMIT,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        table = table or table_name_from()
        if not isinstance(table, str) or not TABLE_NAME_PATTERN.match(table):
            raise SessionConfigError(
                f"invalid DynamoDB table name {table!r} (from table=... or {TABLE_ENV_VAR}): "
                "use 3 to 255 letters, digits, '_', '-' or '.'"
            )
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise SessionConfigError(
                f"max_attempts must be a whole number >= 1, not {max_attempts!r}"
            )
        for name, seconds in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
                raise SessionConfigError(
                    f"{name} must be a positive number of seconds, not {seconds!r}"
                )
        if (
            isinstance(item_size_limit, bool)
            or not isinstance(item_size_limit, int)
            or item_size_limit < 1
        ):
            raise SessionConfigError(
                f"item_size_limit must be a number of bytes, not {item_size_limit!r}"
            )
        self.table = table
        self._region = region
        self._endpoint_url = endpoint_url
        self._client: DynamoDBClient | None = client
        self._max_attempts = max_attempts
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.item_size_limit = item_size_limit
        self._table_checked = not create_table
        self._table_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DynamoDBDriver(table={self.table!r}, region={self.region!r})"

    @property
    def call_budget(self) -> float:
        """The longest, in seconds, that one call waits on a store that does not answer
        before it fails: every attempt's timeouts, plus botocore's backoff between them
        (standard mode: at most 2**n seconds before attempt n + 1)."""
        attempts = self._max_attempts
        backoff = sum(2.0**n for n in range(attempts - 1))
        return attempts * (self.connect_timeout + self.read_timeout) + backoff

    @property
    def region(self) -> str | None:
        """The region the driver talks to (known for sure once it has a client)."""
        if self._client is not None:
            return self._client.meta.region_name
        return self._region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")

    @property
    def client(self) -> DynamoDBClient:
        """The boto3 client, created (and boto3 imported) on first access."""
        client = self._client
        if client is None:
            client = shared_client(
                self._region,
                self._endpoint_url,
                max_attempts=self._max_attempts,
                connect_timeout=self.connect_timeout,
                read_timeout=self.read_timeout,
            )
            self._client = client
        if not self._table_checked:
            with self._table_lock:
                if not self._table_checked:
                    try:
                        create_table(client, self.table)
                    except Exception as exc:
                        self._fail("CreateTable", exc, actions=CREATE_TABLE_ACTIONS)
                    self._table_checked = True
        return client

    # The versioned protocol.

    def read(self, key: str) -> Record | None:
        """The session stored under ``key``, or None if absent or expired."""
        try:
            response = self.client.get_item(
                TableName=self.table, Key={KEY_ATTRIBUTE: {"S": key}}, ConsistentRead=True
            )
        except Exception as exc:
            self._fail("GetItem", exc)
        return self._record(key, response.get("Item"))

    def _record(self, key: str, item: Any) -> Record | None:
        """The record an item holds; None when there is no item or it has expired."""
        if not item:
            return None
        expires = item.get(EXPIRES_ATTRIBUTE)
        expires_at = float(expires["N"]) if expires is not None and "N" in expires else None
        if is_expired(expires_at, time.time()):
            return None
        payload = item.get(PAYLOAD_ATTRIBUTE, {}).get("S")
        if payload is None:
            raise SessionStorageError(
                f"the item {key[:8]}... in DynamoDB table {self.table!r} has no string "
                f"{PAYLOAD_ATTRIBUTE!r} attribute, so it was not written by hostsessions: "
                "give sessions a table of their own"
            )
        version = item.get(VERSION_ATTRIBUTE, {}).get("S", "")
        token = item.get(TOKEN_ATTRIBUTE, {}).get("S")
        return Record(payload, version, expires_at, token)

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        """Store ``payload`` if the record is absent (``expected_version=None``) or unchanged.

        Raises :class:`WriteConflict` when another write got there first, carrying the item
        DynamoDB returns with the failed condition (``ReturnValuesOnConditionCheckFailure``),
        so the core retries without reading it again. ``token`` is stored with the item.
        Raises :class:`SessionTooLargeError` (before any call) when the item would pass 400 KB.
        """
        version = secrets.token_urlsafe(12)
        item = self._item(key, payload, version, expires_at, token)
        now: AttributeValueTypeDef = {"N": str(math.floor(time.time()))}
        try:
            if expected_version is None:
                self.client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression=CREATE_CONDITION,
                    ExpressionAttributeNames={"#id": KEY_ATTRIBUTE, "#expires": EXPIRES_ATTRIBUTE},
                    ExpressionAttributeValues={":now": now},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            else:
                self.client.put_item(
                    TableName=self.table,
                    Item=item,
                    ConditionExpression=UPDATE_CONDITION,
                    ExpressionAttributeNames={
                        "#version": VERSION_ATTRIBUTE,
                        "#expires": EXPIRES_ATTRIBUTE,
                    },
                    ExpressionAttributeValues={":expected": {"S": expected_version}, ":now": now},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                current = self._current(key, exc)
                raise WriteConflict(key, expected_version, current=current) from None
            self._fail("PutItem", exc)
        return version

    def _current(self, key: str, conflict: Exception) -> Record | None:
        """The record a failed condition met: the item DynamoDB returned (none: no item)."""
        response = getattr(conflict, "response", None)
        item = response.get("Item") if isinstance(response, dict) else None
        return self._record(key, item)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the record; with ``expected_version``, only if it is still at that version.

        Deleting an absent or expired record succeeds; a record another request changed
        since it was read raises :class:`WriteConflict`.
        """
        try:
            if expected_version is None:
                self.client.delete_item(TableName=self.table, Key={KEY_ATTRIBUTE: {"S": key}})
            else:
                self.client.delete_item(
                    TableName=self.table,
                    Key={KEY_ATTRIBUTE: {"S": key}},
                    ConditionExpression=DELETE_CONDITION,
                    ExpressionAttributeNames=NAMES,
                    ExpressionAttributeValues={
                        ":expected": {"S": expected_version},
                        ":now": {"N": str(math.floor(time.time()))},
                    },
                )
        except Exception as exc:
            if _error_code(exc) == "ConditionalCheckFailedException":
                raise WriteConflict(key, expected_version) from None
            self._fail("DeleteItem", exc)

    # Helpers.

    def _item(
        self,
        key: str,
        payload: str,
        version: str,
        expires_at: float | None,
        token: str | None = None,
    ) -> dict[str, AttributeValueTypeDef]:
        item: dict[str, AttributeValueTypeDef] = {
            KEY_ATTRIBUTE: {"S": key},
            PAYLOAD_ATTRIBUTE: {"S": payload},
            VERSION_ATTRIBUTE: {"S": version},
        }
        if expires_at is not None:
            item[EXPIRES_ATTRIBUTE] = {"N": str(whole_seconds(expires_at))}
        if token:
            item[TOKEN_ATTRIBUTE] = {"S": token}
        # Reported in payload bytes, the part a user controls: the room is what the
        # 400 KB leave after the key, the version, the expiry and the token.
        payload_size = utf8_length(payload)
        room = self.item_size_limit - (item_size(item) - payload_size)
        check_size(self.store_name, payload_size, room)
        return item

    def _fail(
        self, action: str, exc: Exception, *, actions: tuple[str, ...] = RUNTIME_ACTIONS
    ) -> NoReturn:
        """Turn a botocore failure into a SessionStorageError that says what to do about it."""
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, SessionConfigError | SessionStorageError):
            raise exc
        if not isinstance(exc, BotoCoreError | ClientError):
            raise exc
        where = f"DynamoDB table {self.table!r} in region {self.region or '(unset)'}"
        code = _error_code(exc)
        message = (
            exc.response.get("Error", {}).get("Message", "") if isinstance(exc, ClientError) else ""
        ) or str(exc)
        # Some endpoints (moto's IAM checks among them) answer with an XML error document.
        if found := re.search(r"<Message>(.*?)</Message>", message, re.DOTALL):
            message = found.group(1)
        needed = ", ".join(actions)
        if code == "ResourceNotFoundException":
            text = (
                f"{where} does not exist ({action} failed). Create it with the CloudFormation "
                f"template {TEMPLATE_PATH} of hostsessions (on demand, TTL on "
                f"{EXPIRES_ATTRIBUTE!r}), or name an existing table with {TABLE_ENV_VAR} or "
                "table=...; for local development, create_table=True makes it. The role "
                f"needs {needed} on it."
            )
        elif code in ACCESS_CODES or _http_status(exc) == 403:
            text = (
                f"not allowed to call dynamodb:{action} on {where}: {message}. The function's "
                f"role needs {needed} on this table: attach the policy of {TEMPLATE_PATH} "
                "(hostsessions), or check the credentials in use."
            )
        elif code in THROTTLING_CODES:
            text = (
                f"DynamoDB throttled {action} on {where} through {self._max_attempts} attempts "
                f"({code}: {message}). Use on-demand capacity (as {TEMPLATE_PATH} does) or raise "
                "the table's provisioned capacity."
            )
        elif code == "NoCredentialsError":
            text = (
                f"no AWS credentials for {action} on {where}: on Lambda the function's role "
                "provides them; elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY."
            )
        elif code in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
            endpoint = self._client.meta.endpoint_url if self._client is not None else "DynamoDB"
            text = (
                f"could not reach {endpoint} for {action} on {where} after "
                f"{self._max_attempts} attempts: {message}"
            )
        else:
            text = f"DynamoDB {action} on {where} failed: {code}: {message}"
        raise SessionStorageError(text) from exc


def _http_status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return status if isinstance(status, int) else None
    return None


def _error_code(exc: BaseException) -> str:
    """A ClientError's service error code, or a botocore exception's class name."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(exc).__name__

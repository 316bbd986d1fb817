"""The DynamoDB driver: one item per session, conditional writes, strongly consistent reads.

It only maps the versioned protocol onto DynamoDB calls: the item and its size are
:mod:`.layout`'s, the client :mod:`.client`'s, the error messages :mod:`.errors`'.
Under ASGI the core runs these blocking calls on worker threads.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from hostsessions.checks import is_dict, is_positive_number, is_text, is_whole_number
from hostsessions.drivers.base import (
    DriverBase,
    Record,
    WriteConflict,
    check_size,
    is_expired,
    utf8_length,
    whole_seconds,
)
from hostsessions.errors import SessionConfigError, SessionStorageError

from .client import (
    CONNECT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    READ_TIMEOUT,
    create_table,
    shared_client,
)
from .errors import error_code, storage_error
from .layout import (
    EXPIRES_ATTRIBUTE,
    ITEM_SIZE_LIMIT,
    KEY_ATTRIBUTE,
    PAYLOAD_ATTRIBUTE,
    TOKEN_ATTRIBUTE,
    VERSION_ATTRIBUTE,
    item_size,
)
from .settings import (
    CREATE_TABLE_ACTIONS,
    RUNTIME_ACTIONS,
    TABLE_ENV_VAR,
    TABLE_NAME_PATTERN,
    table_name_from,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

__all__ = ["CREATE_CONDITION", "DELETE_CONDITION", "NAMES", "UPDATE_CONDITION", "DynamoDBDriver"]

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
        if not is_text(table) or not TABLE_NAME_PATTERN.match(table):
            raise SessionConfigError(
                f"invalid DynamoDB table name {table!r} (from table=... or {TABLE_ENV_VAR}): "
                "use 3 to 255 letters, digits, '_', '-' or '.'"
            )
        if not is_whole_number(max_attempts, minimum=1):
            raise SessionConfigError(
                f"max_attempts must be a whole number >= 1, not {max_attempts!r}"
            )
        for name, seconds in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
            if not is_positive_number(seconds):
                raise SessionConfigError(
                    f"{name} must be a positive number of seconds, not {seconds!r}"
                )
        if not is_whole_number(item_size_limit, minimum=1):
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
            if error_code(exc) == "ConditionalCheckFailedException":
                current = self._current(key, exc)
                raise WriteConflict(key, expected_version, current=current) from None
            self._fail("PutItem", exc)
        return version

    def _current(self, key: str, conflict: Exception) -> Record | None:
        """The record a failed condition met: the item DynamoDB returned (none: no item)."""
        response = getattr(conflict, "response", None)
        item = response.get("Item") if is_dict(response) else None
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
            if error_code(exc) == "ConditionalCheckFailedException":
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
        """Raise what a botocore failure means, with the fix (see :mod:`.errors`)."""
        endpoint = self._client.meta.endpoint_url if self._client is not None else "DynamoDB"
        where = f"DynamoDB table {self.table!r} in region {self.region or '(unset)'}"
        attempts = self._max_attempts
        error = storage_error(
            action, exc, where=where, attempts=attempts, endpoint=endpoint, actions=actions
        )
        if error is exc:
            raise exc
        raise error from exc

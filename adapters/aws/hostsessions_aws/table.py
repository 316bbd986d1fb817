"""The sessions table: its layout, and how to create it where no template did.

This is the one definition of the table in Python. ``infra/aws/template.yaml`` declares
the same table for CloudFormation, and a test checks that the two agree, so a table made
by :func:`create_table` (in tests, or with ``create_table=True``) is the table a deployment
gets.

Item layout (each item is one session):

- ``id`` (S): the session ID, the partition key;
- ``payload`` (S): the encoded session, never decoded by the driver;
- ``expires`` (N): epoch seconds as a whole number, the table's TTL attribute; absent
  when the session never expires;
- ``version`` (S): a random token replaced at every write (optimistic locking);
- ``token`` (S): the core's write tokens (absent on items written without one), so a write
  whose reply was lost, and whose retry then failed its condition, is known as done.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

DEFAULT_TABLE = "hostsessions"
TABLE_ENV_VAR = "HOSTSESSIONS_DYNAMODB_TABLE"

KEY_ATTRIBUTE = "id"
PAYLOAD_ATTRIBUTE = "payload"
EXPIRES_ATTRIBUTE = "expires"
VERSION_ATTRIBUTE = "version"
TOKEN_ATTRIBUTE = "token"  # noqa: S105 - an attribute name, not a secret

# On-demand capacity: sessions are spiky and small, and nobody should size a table for them.
BILLING_MODE = "PAY_PER_REQUEST"
KEY_SCHEMA: list[dict[str, str]] = [{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}]
ATTRIBUTE_DEFINITIONS: list[dict[str, str]] = [
    {"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}
]

# What the driver calls on the table in normal use, and what create_table=True adds.
RUNTIME_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
CREATE_TABLE_ACTIONS = (
    "dynamodb:DescribeTable",
    "dynamodb:CreateTable",
    "dynamodb:UpdateTimeToLive",
)
TEMPLATE_PATH = "infra/aws/template.yaml"


def table_name_from(environ: Mapping[str, str] | None = None) -> str:
    """The table named by ``HOSTSESSIONS_DYNAMODB_TABLE``, or ``hostsessions``."""
    environ = os.environ if environ is None else environ
    return environ.get(TABLE_ENV_VAR, "").strip() or DEFAULT_TABLE


def create_table_request(table: str) -> dict[str, Any]:
    """The CreateTable parameters of a sessions table called ``table``."""
    return {
        "TableName": table,
        "KeySchema": [dict(entry) for entry in KEY_SCHEMA],
        "AttributeDefinitions": [dict(entry) for entry in ATTRIBUTE_DEFINITIONS],
        "BillingMode": BILLING_MODE,
    }


def time_to_live_request(table: str) -> dict[str, Any]:
    """The UpdateTimeToLive parameters that let DynamoDB delete expired sessions itself."""
    return {
        "TableName": table,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": EXPIRES_ATTRIBUTE},
    }


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

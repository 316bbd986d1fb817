"""Which table holds the sessions, and what the driver needs to be allowed to do on it.

Plain data only, no SDK import: the adapter reads the table name from the function's
environment at start-up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

__all__ = [
    "CREATE_TABLE_ACTIONS",
    "DEFAULT_TABLE",
    "RUNTIME_ACTIONS",
    "TABLE_ENV_VAR",
    "TABLE_NAME_PATTERN",
    "TEMPLATE_PATH",
    "table_name_from",
]

DEFAULT_TABLE = "hostsessions"
TABLE_ENV_VAR = "HOSTSESSIONS_DYNAMODB_TABLE"
TABLE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")

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

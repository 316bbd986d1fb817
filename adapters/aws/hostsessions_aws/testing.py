"""A pytest plugin for testing an app that keeps its sessions in DynamoDB, with no AWS account.

Installed with ``pip install 'hostsessions-aws[testing]'`` (it needs moto), it is loaded
by pytest automatically and offers:

``dynamodb_session_config``
    Starts moto's ``mock_aws`` for the test, creates the sessions table in it from the
    same definition as ``infra/aws/template.yaml``, and gives a
    :class:`~hostsessions.SessionConfig` that stores sessions there. Every test starts with
    an empty table.

``dynamodb_session_table``
    The table's name (``"hostsessions"``); override this fixture to use another.

Importing this module imports neither moto, boto3 nor the core: pytest loads it in every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from .settings import DEFAULT_TABLE

if TYPE_CHECKING:
    from hostsessions.config import SessionConfig

__all__ = ["MOTO_INSTALL", "REGION", "dynamodb_session_config", "dynamodb_session_table"]

REGION = "us-east-1"
MOTO_INSTALL = "pip install 'hostsessions-aws[testing]'"


@pytest.fixture
def dynamodb_session_table() -> str:
    """The name of the sessions table the ``dynamodb_session_config`` fixture creates."""
    return DEFAULT_TABLE


@pytest.fixture
def dynamodb_session_config(
    dynamodb_session_table: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SessionConfig]:
    """A SessionConfig on a fresh DynamoDB sessions table inside moto's ``mock_aws``."""
    try:
        from moto import mock_aws
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise pytest.UsageError(
            f"the dynamodb_session_config fixture needs moto: {MOTO_INSTALL}"
        ) from exc
    from hostsessions.config import SessionConfig

    from .client import create_table, reset_clients, shared_client

    # An endpoint meant for a local server would take calls away from the in-process mock.
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        # Clients made outside this mock (or in another test's) must not be reused.
        reset_clients()
        try:
            create_table(shared_client(REGION), dynamodb_session_table)
            yield SessionConfig(
                driver="dynamodb", options={"table": dynamodb_session_table, "region": REGION}
            )
        finally:
            reset_clients()

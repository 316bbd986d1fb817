"""The AWS adapter of hostsessions: sessions in Amazon DynamoDB, zero configuration on Lambda.

Importing this package is cheap: boto3 is imported only when a driver makes its first
call. ``hostsessions.drivers.dynamodb(...)`` calls :func:`dynamodb` here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .settings import DEFAULT_TABLE, TABLE_ENV_VAR

if TYPE_CHECKING:
    from .driver import DynamoDBDriver

__all__ = ["DEFAULT_TABLE", "TABLE_ENV_VAR", "DynamoDBDriver", "dynamodb"]


def dynamodb(
    table: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    client: Any = None,
    create_table: bool = False,
    **options: Any,
) -> DynamoDBDriver:
    """A DynamoDB session driver.

    ``table`` defaults to ``HOSTSESSIONS_DYNAMODB_TABLE``, then ``"hostsessions"``;
    ``region`` to ``AWS_REGION``; ``endpoint_url`` to DynamoDB itself (or
    ``AWS_ENDPOINT_URL_DYNAMODB``, e.g. a local moto server); ``client`` replaces the
    shared boto3 client; ``create_table=True`` creates a missing table at first use (local
    development and tests). See :class:`~hostsessions_aws.driver.DynamoDBDriver`.
    """
    from .driver import DynamoDBDriver

    return DynamoDBDriver(
        table=table,
        region=region,
        endpoint_url=endpoint_url,
        client=client,
        create_table=create_table,
        **options,
    )


def __getattr__(name: str) -> Any:
    # The driver class is importable from the package without making the import eager.
    if name == "DynamoDBDriver":
        from .driver import DynamoDBDriver

        return DynamoDBDriver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

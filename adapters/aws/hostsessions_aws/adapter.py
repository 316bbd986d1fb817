"""The adapter object registered under ``hostsessions.adapters``: AWS Lambda -> DynamoDB."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hostsessions.config import DriverConfig
from hostsessions.hosts import detect_aws_lambda

from .settings import table_name_from

__all__ = ["DRIVER_NAME", "ENTRYPOINT", "AwsLambdaAdapter", "adapter"]

DRIVER_NAME = "dynamodb"
ENTRYPOINT = "hostsessions_aws:dynamodb"


class AwsLambdaAdapter:
    """On AWS Lambda, keep sessions in DynamoDB with nothing configured.

    The table is ``HOSTSESSIONS_DYNAMODB_TABLE`` or ``hostsessions``; the region is the
    function's own (``AWS_REGION``, which Lambda always sets).
    """

    name = "aws"
    drivers: Mapping[str, str] = {DRIVER_NAME: ENTRYPOINT}

    def detect(self, environ: Mapping[str, str]) -> bool:
        """True on AWS Lambda, recognised from the variables Lambda documents."""
        return detect_aws_lambda(environ) is not None

    def default_driver(self, environ: Mapping[str, str]) -> DriverConfig:
        """The DynamoDB driver for the function's region and the configured table."""
        options: dict[str, Any] = {"table": table_name_from(environ)}
        region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
        if region:
            options["region"] = region
        return DriverConfig(ENTRYPOINT, options)


adapter = AwsLambdaAdapter()

"""Zero configuration on Lambda, explicit configuration anywhere, and a cheap import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hostsessions_aws.adapter import adapter
from hostsessions_aws.driver import DynamoDBDriver

from hostsessions import DriverConfig, SessionConfig, drivers
from hostsessions.adapters import build_driver, choose_driver, installed_adapters

from .support import LAMBDA_ENVIRON, REPO


def test_adapter_is_registered_under_the_entry_point_group() -> None:
    names = {found.name for found in installed_adapters()}

    assert "aws" in names


def test_lambda_is_recognised_from_its_documented_variables() -> None:
    assert adapter.detect(LAMBDA_ENVIRON)
    assert not adapter.detect({"AWS_REGION": "eu-west-1", "HOME": "/home/someone"})


def test_on_lambda_sessions_go_to_dynamodb_with_no_configuration() -> None:
    choice = choose_driver(SessionConfig(), environ=LAMBDA_ENVIRON)

    assert choice.adapter == "aws"
    assert choice.driver == DriverConfig(
        "hostsessions_aws:dynamodb", {"table": "hostsessions", "region": "eu-west-1"}
    )
    assert "AWS Lambda" in choice.reason


def test_table_variable_names_another_table_on_lambda() -> None:
    environ = {**LAMBDA_ENVIRON, "HOSTSESSIONS_DYNAMODB_TABLE": "shop-sessions"}

    choice = choose_driver(SessionConfig(), environ=environ)

    assert isinstance(choice.driver, DriverConfig)
    assert choice.driver.options["table"] == "shop-sessions"


def test_lambda_choice_builds_a_driver_for_the_functions_region() -> None:
    choice = choose_driver(SessionConfig(), environ=LAMBDA_ENVIRON)

    driver = build_driver(choice.driver)

    assert isinstance(driver, DynamoDBDriver)
    assert (driver.table, driver.region) == ("hostsessions", "eu-west-1")


def test_driver_named_in_code_takes_its_options_anywhere() -> None:
    config = SessionConfig(driver="dynamodb", options={"table": "t-1", "region": "ap-south-1"})

    driver = build_driver(choose_driver(config, environ={}).driver)

    assert isinstance(driver, DynamoDBDriver)
    assert (driver.table, driver.region) == ("t-1", "ap-south-1")


def test_factory_of_the_core_builds_the_driver() -> None:
    driver = drivers.dynamodb(table="t-2", region="sa-east-1", endpoint_url="http://127.0.0.1:1")

    assert isinstance(driver, DynamoDBDriver)
    assert driver.table == "t-2"


def test_invalid_table_name_is_a_configuration_error() -> None:
    from hostsessions import SessionConfigError

    with pytest.raises(SessionConfigError, match="table name"):
        drivers.dynamodb(table="a b")


def test_boto3_is_imported_only_when_the_driver_makes_its_first_call() -> None:
    # A fresh interpreter: what importing and configuring costs before any session is used.
    script = """
import json, sys
import hostsessions_aws
from hostsessions import drivers
driver = drivers.dynamodb(table="hostsessions", region="us-east-1",
                          endpoint_url="http://127.0.0.1:9", max_attempts=1)
before = "boto3" in sys.modules or "botocore" in sys.modules
try:
    driver.read("x")
except Exception as error:
    failure = type(error).__name__
print(json.dumps({"before": before, "after": "boto3" in sys.modules, "failure": failure}))
"""
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout

    assert json.loads(output) == {"before": False, "after": True, "failure": "SessionStorageError"}

"""infra/aws/template.yaml: it lints, it declares the driver's table, and it deploys."""

from __future__ import annotations

import io
import json
import time
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from hostsessions_aws.layout import create_table_request, time_to_live_request
from hostsessions_aws.settings import RUNTIME_ACTIONS

from hostsessions import drivers

from .support import REGION, REPO

TEMPLATE = REPO / "infra" / "aws" / "template.yaml"
EXAMPLE = REPO / "examples" / "aws_lambda"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

    loaded: dict[str, Any] = json.loads(json.dumps(cfn_yaml.load(str(TEMPLATE))))
    return loaded


def test_template_passes_cfn_lint() -> None:
    from cfnlint.api import lint, lint_file  # type: ignore[import-untyped]

    matches = lint_file(TEMPLATE)

    assert matches == [], "\n".join(str(match) for match in matches)
    # The same linter does catch a broken table: the empty result above means something.
    broken = TEMPLATE.read_text().replace("PAY_PER_REQUEST", "PAY_AS_YOU_GO")
    assert lint(broken)


def test_template_declares_the_table_the_driver_creates(template: dict[str, Any]) -> None:
    declared = template["Resources"]["SessionsTable"]["Properties"]
    expected = create_table_request("any")

    assert declared["KeySchema"] == expected["KeySchema"]
    assert declared["AttributeDefinitions"] == expected["AttributeDefinitions"]
    assert declared["BillingMode"] == expected["BillingMode"]
    assert (
        declared["TimeToLiveSpecification"]
        == (time_to_live_request("any")["TimeToLiveSpecification"])
    )
    assert template["Parameters"]["TableName"]["Default"] == "hostsessions"


def test_policy_grants_only_what_the_driver_calls_on_the_table_alone(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    (statement,) = resources["SessionsPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == sorted(RUNTIME_ACTIONS)
    assert statement["Resource"] == {"Fn::GetAtt": ["SessionsTable", "Arn"]}
    role_policies = resources["ExampleFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert {"Ref": "SessionsPolicy"} in role_policies


def example_bundle() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.write(EXAMPLE / "app.py", "app.py")
    return buffer.getvalue()


@pytest.fixture
def deployed_stack() -> Iterator[dict[str, str]]:
    """The template deployed, with the example function, into moto's CloudFormation."""
    import boto3
    from hostsessions_aws.client import reset_clients
    from moto import mock_aws

    with mock_aws():
        reset_clients()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="example-code")
        s3.put_object(Bucket="example-code", Key="example.zip", Body=example_bundle())
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cloudformation.create_stack(
                StackName="sessions",
                TemplateBody=TEMPLATE.read_text(),
                Capabilities=["CAPABILITY_IAM"],
                Parameters=[
                    {"ParameterKey": "TableName", "ParameterValue": "shop-sessions"},
                    {"ParameterKey": "CodeBucket", "ParameterValue": "example-code"},
                    {"ParameterKey": "CodeKey", "ParameterValue": "example.zip"},
                ],
            )
        # moto's CloudFormation has no function URLs; everything else must be created.
        skipped = {str(w.message) for w in caught if "not supported by moto" in str(w.message)}
        assert all("AWS::Lambda::Url" in message for message in skipped), skipped
        (stack,) = cloudformation.describe_stacks(StackName="sessions")["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        yield {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
        reset_clients()


def test_stack_creates_the_sessions_table_and_sessions_round_trip(
    deployed_stack: dict[str, str],
) -> None:
    table = deployed_stack["SessionsTableName"]
    driver = drivers.dynamodb(table=table, region=REGION)

    version = driver.write("s" * 43, "payload", expires_at=time.time() + 60, expected_version=None)
    record = driver.read("s" * 43)

    assert table == "shop-sessions"
    assert record is not None
    assert (record.payload, record.version) == ("payload", version)
    description = driver.client.describe_table(TableName=table)["Table"]
    assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_stack_gives_the_function_its_table_and_a_least_privilege_policy(
    deployed_stack: dict[str, str],
) -> None:
    import boto3

    function = boto3.client("lambda", region_name=REGION).get_function_configuration(
        FunctionName=deployed_stack["ExampleFunctionName"]
    )
    iam = boto3.client("iam", region_name=REGION)
    policy = iam.get_policy(PolicyArn=deployed_stack["SessionsPolicyArn"])["Policy"]
    document = iam.get_policy_version(
        PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
    )["PolicyVersion"]["Document"]
    if isinstance(document, str):
        document = json.loads(document)

    assert function["Environment"]["Variables"] == {"HOSTSESSIONS_DYNAMODB_TABLE": "shop-sessions"}
    assert function["Handler"] == "app.handler"
    (statement,) = document["Statement"]
    assert sorted(statement["Action"]) == sorted(RUNTIME_ACTIONS)
    assert statement["Resource"] == deployed_stack["SessionsTableArn"]

"""The Bicep templates in infra/azure: they parse, and they give the function app what the
adapter needs (app settings it understands, and the role on the session table)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hostsessions_azure.adapter import adapter
from pycep import BicepParser

INFRA = Path(__file__).resolve().parents[2] / "infra" / "azure"
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"


def template(name: str) -> dict[str, Any]:
    return dict(BicepParser().parse(file_path=INFRA / name))


def evaluate(value: Any, names: dict[str, str]) -> str:
    """A literal, or `resource.name` looked up in ``names`` (enough for app settings)."""
    if isinstance(value, str):
        return value
    operands = value["operator"]["operands"]
    assert operands["operand_2"] == "name", value
    return names[operands["operand_1"]]


@pytest.mark.parametrize("name", ["main.bicep", "sessions-store.bicep"])
def test_template_grants_table_data_contributor_on_the_session_table(name: str) -> None:
    parsed = template(name)
    assert parsed["parameters"]["sessionTableName"]["default"] == "hostsessions"
    assert parsed["variables"]["storageTableDataContributor"]["value"] == TABLE_DATA_CONTRIBUTOR
    role = parsed["resources"]["sessionTableRole"]
    assert role["type"] == "Microsoft.Authorization/roleAssignments"
    assert role["config"]["scope"] == "sessionTable"
    assert parsed["resources"]["sessionTable"]["config"]["parent"] == "tableService"


def test_function_app_settings_lead_the_adapter_to_the_session_table() -> None:
    parsed = template("main.bicep")
    function_app = parsed["resources"]["functionApp"]["config"]
    assert function_app["identity"]["type"] == "SystemAssigned"
    names = {"storage": "stshopdemo", "sessionTable": "hostsessions"}
    settings = {
        setting["name"]: evaluate(setting["value"], names)
        for setting in function_app["properties"]["siteConfig"]["appSettings"]
    }
    # What the platform adds to every function app at run time.
    environ = {**settings, "FUNCTIONS_WORKER_RUNTIME": "python", "WEBSITE_SITE_NAME": "shop"}

    options = adapter.default_driver(environ).options

    assert options["endpoint"] == "https://stshopdemo.table.core.windows.net"
    assert options["table"] == "hostsessions"
    assert options["credential"] == "managedidentity"

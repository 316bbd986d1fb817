"""Installing an adapter costs other projects' pytest runs nothing: each adapter's pytest
plugin (``hostsessions_<cloud>.testing``, registered under ``pytest11``) imports nothing
but its own package and pytest until one of its fixtures is used. All three adapters
offer their test helpers the same way."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ADAPTERS = ("hostsessions_aws", "hostsessions_gcp", "hostsessions_azure")


def test_every_adapter_registers_its_testing_module_as_a_pytest_plugin() -> None:
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    for package in ADAPTERS:
        assert plugins.get(package) == f"{package}.testing"


@pytest.mark.parametrize("package", ADAPTERS)
def test_plugin_import_loads_nothing_beyond_pytest_and_its_own_package(package: str) -> None:
    probe = (
        "import sys, json\n"
        "import pytest\n"
        "before = set(sys.modules)\n"
        f"import {package}.testing\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    added = json.loads(result.stdout)
    foreign = [m for m in added if m.split(".")[0] != package]
    assert not foreign, f"{package}.testing loaded {foreign} at pytest start-up"
    sdk_code = (".emulator", ".azurite", ".driver", ".client", ".errors")
    runners = [m for m in added if m.endswith(sdk_code)]
    assert not runners, f"{package}.testing loaded its emulator or SDK code: {runners}"


def modules_in_a_pytest_run(folder: Path, *options: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return set(json.loads((folder / "modules.json").read_text()))


def test_a_pytest_run_of_an_unrelated_project_loads_only_the_plugins_themselves(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_other.py").write_text(
        "import json, sys\n"
        "def test_record_loaded_modules():\n"
        "    with open('modules.json', 'w') as out:\n"
        "        json.dump(sorted(sys.modules), out)\n"
    )
    with_plugins = modules_in_a_pytest_run(tmp_path)
    without = modules_in_a_pytest_run(tmp_path, *(f"-pno:{package}" for package in ADAPTERS))
    added = sorted(with_plugins - without)
    assert {f"{package}.testing" for package in ADAPTERS} <= set(added), added
    foreign = [m for m in added if m.split(".")[0] not in ADAPTERS]
    assert not foreign, f"the adapters' pytest plugins loaded {foreign}"

"""Importing the adapter (as the core's adapter discovery does on every start-up) and
building a driver load no Azure SDK: only the first storage call does."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_adapter_and_driver_construction_import_no_azure_sdk() -> None:
    script = textwrap.dedent(
        """
        import sys
        import hostsessions_azure
        from hostsessions_azure.adapter import adapter
        from hostsessions.adapters import build_driver
        environ = {"FUNCTIONS_WORKER_RUNTIME": "python", "AzureWebJobsStorage__accountName": "shop"}
        driver = build_driver(adapter.default_driver(environ))
        driver.to_async()
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("azure", "aiohttp")))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"

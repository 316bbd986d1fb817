"""Fixtures of the Google Cloud adapter's tests.

The Firestore emulator comes from the adapter's own pytest plugin
(``hostsessions_gcp.testing``): one process per test session, emptied before each test
by ``firestore_project``. Nothing here fakes Firestore.
"""

from __future__ import annotations

from typing import Any

import pytest

INSTALL = "bash scripts/bootstrap (or: pip install -e 'adapters/gcp[testing,dev]')"

try:
    import hostsessions_gcp.testing  # noqa: F401 - the plugin that provides the emulator fixtures
except ImportError as missing:  # pragma: no cover - a setup error, reported plainly
    raise ImportError(
        f"the Google Cloud tests need the hostsessions-gcp adapter: {INSTALL}"
    ) from missing

#: The variables Cloud Run sets in a service's container (container runtime contract).
CLOUD_RUN_SERVICE = {
    "K_SERVICE": "shop",
    "K_REVISION": "shop-00042-xyz",
    "K_CONFIGURATION": "shop",
    "PORT": "8080",
}
#: The variables a Cloud Run function (deployed with the Functions Framework) sees.
CLOUD_RUN_FUNCTION = {
    **CLOUD_RUN_SERVICE,
    "FUNCTION_TARGET": "handler",
    "FUNCTION_SIGNATURE_TYPE": "http",
}
@pytest.fixture
def on_cloud_run(firestore_project: str, clean_host_environment: pytest.MonkeyPatch) -> str:
    """The process looks like a Cloud Run service whose Firestore is the emulator."""
    for name, value in CLOUD_RUN_SERVICE.items():
        clean_host_environment.setenv(name, value)
    return firestore_project


@pytest.fixture
def raw_client(firestore_project: str) -> Any:
    """A plain ``firestore.Client`` on the emulator, to look at documents as they are stored."""
    from google.cloud import firestore

    return firestore.Client(project=firestore_project)

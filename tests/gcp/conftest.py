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
#: Variables a platform sets that would steer the driver choice if a test inherited them.
_PLATFORM_VARIABLES = (
    "K_SERVICE",
    "K_REVISION",
    "K_CONFIGURATION",
    "FUNCTION_TARGET",
    "FUNCTION_SIGNATURE_TYPE",
    "FUNCTION_NAME",
    "GCP_PROJECT",
    "X_GOOGLE_FUNCTION_NAME",
    "GAE_APPLICATION",
    "GAE_ENV",
    "GAE_SERVICE",
    "GAE_VERSION",
    "GAE_INSTANCE",
    "CLOUD_RUN_JOB",
    "CLOUD_RUN_EXECUTION",
    "AWS_LAMBDA_FUNCTION_NAME",
    "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION",
    "WEBSITE_SITE_NAME",
    "HOSTSESSIONS_DRIVER",
    "HOSTSESSIONS_FIRESTORE_COLLECTION",
    "HOSTSESSIONS_FIRESTORE_DATABASE",
)


@pytest.fixture
def clean_platform(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No platform variables inherited from the machine running the tests."""
    for name in _PLATFORM_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def on_cloud_run(firestore_project: str, clean_platform: pytest.MonkeyPatch) -> str:
    """The process looks like a Cloud Run service whose Firestore is the emulator."""
    for name, value in CLOUD_RUN_SERVICE.items():
        clean_platform.setenv(name, value)
    return firestore_project


@pytest.fixture
def raw_client(firestore_project: str) -> Any:
    """A plain ``firestore.Client`` on the emulator, to look at documents as they are stored."""
    from google.cloud import firestore

    return firestore.Client(project=firestore_project)

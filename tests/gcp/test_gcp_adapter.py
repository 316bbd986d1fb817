"""The Google Cloud adapter: which environments it recognises, what it chooses there, and
the commands a user runs (``hostsessions doctor`` and ``gc``)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hostsessions_gcp import FirestoreDriver
from hostsessions_gcp.adapter import adapter

from hostsessions import DriverConfig, SessionConfig
from hostsessions.adapters import build_driver, choose_driver, installed_adapters
from hostsessions.cli import main as hostsessions_command
from hostsessions.ids import new_session_id

from .conftest import CLOUD_RUN_FUNCTION, CLOUD_RUN_SERVICE

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# Each platform's variables, as Google documents them (values are examples).
GOOGLE_CLOUD_HOSTS: dict[str, dict[str, str]] = {
    "Cloud Run service": CLOUD_RUN_SERVICE,
    "Cloud Run function": CLOUD_RUN_FUNCTION,
    # Cloud Run functions and 1st gen functions on current runtimes: no K_CONFIGURATION.
    "function, documented variables only": {
        "FUNCTION_TARGET": "handler",
        "FUNCTION_SIGNATURE_TYPE": "http",
        "K_SERVICE": "handler",
        "K_REVISION": "3",
        "PORT": "8080",
    },
    "1st gen function, Python 3.7 runtime": {
        "ENTRY_POINT": "handler",
        "GCP_PROJECT": "shop-prod",
        "GCLOUD_PROJECT": "shop-prod",
        "FUNCTION_TRIGGER_TYPE": "HTTP_TRIGGER",
        "FUNCTION_NAME": "handler",
        "FUNCTION_MEMORY_MB": "256",
        "FUNCTION_TIMEOUT_SEC": "60",
        "FUNCTION_IDENTITY": "shop-prod@appspot.gserviceaccount.com",
        "FUNCTION_REGION": "europe-west1",
    },
    "App Engine standard": {
        "GAE_APPLICATION": "e~shop-prod",
        "GAE_DEPLOYMENT_ID": "455",
        "GAE_ENV": "standard",
        "GAE_INSTANCE": "00c61b117c",
        "GAE_MEMORY_MB": "256",
        "GAE_RUNTIME": "python312",
        "GAE_SERVICE": "default",
        "GAE_VERSION": "20260101t120000",
        "GOOGLE_CLOUD_PROJECT": "shop-prod",
        "PORT": "8081",
    },
    "App Engine flexible": {
        "GAE_INSTANCE": "aef-default-2026",
        "GAE_MEMORY_MB": "614",
        "GAE_SERVICE": "default",
        "GAE_VERSION": "20260101t120000",
        "GOOGLE_CLOUD_PROJECT": "shop-prod",
        "PORT": "8080",
    },
    "Cloud Run job (where hostsessions gc runs on a schedule)": {
        "CLOUD_RUN_JOB": "sweep-sessions",
        "CLOUD_RUN_EXECUTION": "sweep-sessions-x7k2p",
        "CLOUD_RUN_TASK_INDEX": "0",
        "CLOUD_RUN_TASK_ATTEMPT": "0",
        "CLOUD_RUN_TASK_COUNT": "1",
    },
}

ELSEWHERE: dict[str, dict[str, str]] = {
    "a laptop": {"HOME": "/home/dev", "PATH": "/usr/bin"},
    "a laptop with a default project": {"GOOGLE_CLOUD_PROJECT": "shop-dev"},
    "a local Functions Framework run": {
        "FUNCTION_TARGET": "handler",
        "FUNCTION_SIGNATURE_TYPE": "http",
        "PORT": "8080",
    },
    "the App Engine development server": {
        "GAE_APPLICATION": "dev~shop",
        "GAE_ENV": "localdev",
        "GAE_SERVICE": "default",
        "GAE_VERSION": "1",
        "GAE_INSTANCE": "local",
    },
    "AWS Lambda": {
        "AWS_LAMBDA_FUNCTION_NAME": "shop",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    },
}


def test_the_adapter_is_registered_under_its_entry_point() -> None:
    found = {candidate.name: candidate for candidate in installed_adapters()}
    assert found["gcp"] is adapter
    assert adapter.drivers == {"firestore": "hostsessions_gcp:firestore"}


@pytest.mark.parametrize("host", GOOGLE_CLOUD_HOSTS)
def test_google_cloud_hosts_are_recognised(host: str) -> None:
    assert adapter.detect(GOOGLE_CLOUD_HOSTS[host])


@pytest.mark.parametrize("place", ELSEWHERE)
def test_other_places_are_not_mistaken_for_google_cloud(place: str) -> None:
    assert not adapter.detect(ELSEWHERE[place])


def test_a_real_local_functions_framework_app_is_not_mistaken_for_the_cloud(
    clean_host_environment: pytest.MonkeyPatch,
) -> None:
    """The Functions Framework sets FUNCTION_TARGET and FUNCTION_SIGNATURE_TYPE itself."""
    import os

    from functions_framework import create_app

    create_app("handler", str(EXAMPLES / "gcp_function" / "main.py"))  # type: ignore[no-untyped-call]
    assert os.environ["FUNCTION_TARGET"] == "handler"
    assert not adapter.detect(os.environ)
    assert choose_driver(SessionConfig()).adapter == "local"


def test_on_google_cloud_sessions_go_to_the_hostsessions_collection() -> None:
    choice = choose_driver(SessionConfig(), CLOUD_RUN_SERVICE)
    assert choice.adapter == "gcp"
    assert choice.driver == DriverConfig(
        "hostsessions_gcp:firestore", {"collection": "hostsessions", "database": "(default)"}
    )
    assert "Cloud Run" in choice.reason


def test_the_environment_names_another_collection_and_database() -> None:
    environ = {
        **CLOUD_RUN_SERVICE,
        "HOSTSESSIONS_FIRESTORE_COLLECTION": "shop-sessions",
        "HOSTSESSIONS_FIRESTORE_DATABASE": "sessions",
    }
    assert adapter.default_driver(environ).options == {
        "collection": "shop-sessions",
        "database": "sessions",
    }


def test_options_in_code_refine_the_zero_config_choice() -> None:
    choice = choose_driver(SessionConfig(options={"timeout": 3}), CLOUD_RUN_SERVICE)
    assert isinstance(choice.driver, DriverConfig)
    assert choice.driver.options["timeout"] == 3
    assert choice.driver.options["collection"] == "hostsessions"


def test_driver_firestore_names_this_adapter_anywhere(firestore_project: str) -> None:
    choice = choose_driver(SessionConfig(driver="firestore", options={"collection": "s"}), {})
    driver = build_driver(choice.driver)
    assert isinstance(driver, FirestoreDriver)
    assert driver.collection == "s"


def test_doctor_on_cloud_run_names_firestore(
    on_cloud_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert hostsessions_command(["doctor"]) == 0
    printed = capsys.readouterr().out
    assert "Cloud Run (from K_SERVICE, K_REVISION, K_CONFIGURATION)" in printed
    assert "gcp (detects this environment); drivers: firestore" in printed
    assert "hostsessions_gcp:firestore(collection='hostsessions', database='(default)')" in printed


def test_gc_on_cloud_run_sweeps_the_firestore_collection(
    on_cloud_run: str, capsys: pytest.CaptureFixture[str]
) -> None:
    driver = build_driver(choose_driver(SessionConfig()).driver)
    live = new_session_id()
    driver.write(live, "live", expires_at=time.time() + 3600, expected_version=None)
    for _ in range(3):
        driver.write(new_session_id(), "old", expires_at=time.time() - 1, expected_version=None)

    assert hostsessions_command(["gc"]) == 0
    assert "removed 3 expired session(s) with FirestoreDriver" in capsys.readouterr().out
    assert driver.read(live) is not None

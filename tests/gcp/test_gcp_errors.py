"""What a user reads when Firestore cannot be used: what failed, where, and the fix.

The first-deploy failures (no database, no permission, API disabled, a Datastore mode
database) come from Google's service, which the emulator does not reproduce, so those
messages are checked on the exceptions Google's client raises, with the texts the service
sends. Missing credentials are produced for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.api_core import exceptions as api
from hostsessions_gcp import firestore
from hostsessions_gcp.errors import Target, explain

from hostsessions import SessionStorageError
from hostsessions.ids import new_session_id

TARGET = Target(project="shop-prod", database="(default)", collection="hostsessions")


def _message(kind: type[api.GoogleAPICallError], text: str) -> str:
    """The message for the error Google's client raises when the service answers ``text``."""
    error = kind(text)
    explained = explain(error, TARGET, "read")
    assert isinstance(explained, SessionStorageError)
    return str(explained)


def test_a_project_without_a_firestore_database_is_told_to_create_one() -> None:
    message = _message(
        api.NotFound,
        "The database (default) does not exist for project shop-prod Please visit "
        "https://console.cloud.google.com/datastore/setup?project=shop-prod to add a "
        "Cloud Datastore or Cloud Firestore database.",
    )
    assert "read on Firestore collection 'hostsessions'" in message
    assert "gcloud firestore databases create --database='(default)'" in message
    assert "--project=shop-prod" in message


def test_a_service_account_without_permission_is_told_which_role_to_grant() -> None:
    message = _message(api.PermissionDenied, "Missing or insufficient permissions.")
    assert "roles/datastore.user" in message
    assert "gcloud projects add-iam-policy-binding shop-prod" in message


def test_a_disabled_firestore_api_is_told_to_enable_it() -> None:
    message = _message(
        api.PermissionDenied,
        "Cloud Firestore API has not been used in project 1234 before or it is disabled. "
        "Enable it by visiting https://console.developers.google.com/apis/api/"
        "firestore.googleapis.com/overview?project=1234 then retry.",
    )
    assert "gcloud services enable firestore.googleapis.com --project=shop-prod" in message


def test_a_datastore_mode_database_is_told_to_use_a_native_one() -> None:
    message = _message(
        api.FailedPrecondition,
        "The Cloud Firestore API is not available for Firestore in Datastore Mode "
        "database projects/shop-prod/databases/(default).",
    )
    assert "Datastore mode" in message
    assert "HOSTSESSIONS_FIRESTORE_DATABASE" in message


def test_a_machine_without_credentials_is_told_how_to_log_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud login there
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # and not a Google Cloud machine
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "shop-dev")
    with pytest.raises(SessionStorageError, match="gcloud auth application-default login"):
        firestore().read(new_session_id())

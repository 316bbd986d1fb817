"""The emulator fixture's own promise: when the emulator or Java is missing, the failure
says how to install it (the suite never skips silently)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hostsessions_gcp.emulator import EmulatorNotFoundError, FirestoreEmulator


def test_a_missing_emulator_fails_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIRESTORE_EMULATOR_JAR", "/nonexistent/cloud-firestore-emulator.jar")
    with pytest.raises(EmulatorNotFoundError) as missing:
        FirestoreEmulator().start()
    message = str(missing.value)
    assert "apt-get install google-cloud-cli-firestore-emulator" in message
    assert "scripts/setup.d/40-firestore-emulator.sh" in message
    assert "FIRESTORE_EMULATOR_JAR" in message


def test_a_missing_java_fails_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("JAVA", raising=False)
    emulator = FirestoreEmulator(jar=Path(__file__))  # any existing file: Java is looked up next
    with pytest.raises(EmulatorNotFoundError, match="apt-get install default-jre-headless"):
        emulator.start()

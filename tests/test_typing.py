"""The typed API, checked on samples as a user's editor would: by mypy --strict and by
pyright in strict mode, which must agree on every revealed type and rejected call.

``session_keys_sample.py``: typed session keys. ``async_session_sample.py``: awaited
``AsyncSession`` calls are typed, and their results used without ``await`` are rejected."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLES = sorted((Path(__file__).parent / "typing").glob("*_sample.py"))
ROOT = Path(__file__).resolve().parent.parent


def expectations(sample: Path) -> tuple[dict[int, str], set[int]]:
    revealed: dict[int, str] = {}
    rejected: set[int] = set()
    for number, line in enumerate(sample.read_text().splitlines(), start=1):
        if "# E: " in line:
            revealed[number] = line.split("# E: ", 1)[1].strip()
        elif line.rstrip().endswith("# rejected"):
            rejected.add(number)
    return revealed, rejected


def run_mypy(sample: Path) -> list[tuple[int, str, str]]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--hide-error-context",
            "--no-error-summary",
            "--show-error-codes",
            str(sample),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    found = []
    for match in re.finditer(r":(\d+): (\w+): (.*)", result.stdout):
        severity, message = match.group(2), match.group(3)
        revealed = re.fullmatch(r'Revealed type is "(.*)"', message)
        if severity == "note" and revealed:
            found.append((int(match.group(1)), "reveal", revealed.group(1)))
        elif severity == "error":
            found.append((int(match.group(1)), "error", message))
    return found


def run_pyright(sample: Path) -> list[tuple[int, str, str]]:
    pyright = Path(sys.executable).parent / "pyright"
    if not pyright.exists():
        pytest.fail("pyright is missing: it is in the dev group (bash scripts/bootstrap)")
    result = subprocess.run(
        [str(pyright), "--pythonpath", sys.executable, str(sample)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    found = []
    for match in re.finditer(r":(\d+):\d+ - (error|information): (.*)", result.stdout):
        message = match.group(3)
        revealed = re.fullmatch(r'Type of ".*" is "(.*)"', message)
        if match.group(2) == "information" and revealed:
            found.append((int(match.group(1)), "reveal", revealed.group(1)))
        elif match.group(2) == "error":
            found.append((int(match.group(1)), "error", message))
    assert found or result.returncode == 0, result.stdout + result.stderr
    return found


def normalise(revealed: str) -> str:
    """mypy and pyright spell a few types differently; compare the meaning."""
    text = revealed.replace('"', "'").replace("builtins.", "")
    return re.sub(r"'\] \| Literal\['", "', '", text)  # Literal['a'] | Literal['b']


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.stem for sample in SAMPLES])
@pytest.mark.parametrize("checker", [run_mypy, run_pyright], ids=["mypy", "pyright"])
def test_checker_infers_types_and_rejects_wrong_uses(checker, sample: Path) -> None:  # type: ignore[no-untyped-def]
    revealed, rejected = expectations(sample)
    found = checker(sample)
    reveals = {line: normalise(text) for line, kind, text in found if kind == "reveal"}
    errors: dict[int, list[str]] = {}
    for line, kind, text in found:
        if kind == "error":
            errors.setdefault(line, []).append(text)
    for line, wanted in revealed.items():
        assert reveals.get(line) == wanted, f"line {line}: wanted {wanted}, got {reveals.get(line)}"
    for line in rejected:
        assert line in errors, f"line {line} should be a type error"
    unexpected = {line: texts for line, texts in errors.items() if line not in rejected}
    assert not unexpected, f"unexpected errors: {unexpected}"
    stray = set(reveals) - set(revealed)
    assert not stray, f"reveal_type on lines without an expectation: {sorted(stray)}"

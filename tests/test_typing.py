"""Typed session keys, checked by mypy --strict on a sample as a user's editor would."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SAMPLE = Path(__file__).parent / "typing" / "session_keys_sample.py"


def test_mypy_infers_key_types_and_rejects_wrong_values() -> None:
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
            str(SAMPLE),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout
    source = SAMPLE.read_text().splitlines()
    by_line: dict[int, list[str]] = {}
    for match in re.finditer(r":(\d+): (\w+): (.*)", output):
        by_line.setdefault(int(match.group(1)), []).append(f"{match.group(2)}: {match.group(3)}")
    for number, line in enumerate(source, start=1):
        found = by_line.pop(number, [])
        if "# E: " in line:
            wanted = line.split("# E: ", 1)[1].strip()
            assert any(f'Revealed type is "{wanted}"' in f for f in found), (number, wanted, found)
        elif line.rstrip().endswith("# rejected"):
            assert any(f.startswith("error:") for f in found), (
                f"line {number} should be a type error"
            )
    assert not by_line, f"unexpected mypy output: {by_line}"

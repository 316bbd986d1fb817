"""Test helpers for hostsessions users and driver authors (``pip install 'hostsessions[testing]'``).

:class:`DriverConformance` and friends are the driver conformance suite: subclass one in
a test module, give it a driver, and pytest runs every behaviour the core relies on
against it. See ``docs/writing-a-driver.md``.
"""

from __future__ import annotations

import pytest

# Show the values in a failing assertion of the suite, as in the user's own tests.
pytest.register_assert_rewrite("hostsessions.testing.conformance")

from .conformance import (  # noqa: E402 - after the rewrite registration, on purpose
    AsyncDriverConformance,
    AsyncMinimalDriverConformance,
    DriverConformance,
    MinimalDriverConformance,
)
from .records import holds_no_session  # noqa: E402

__all__ = [
    "AsyncDriverConformance",
    "AsyncMinimalDriverConformance",
    "DriverConformance",
    "MinimalDriverConformance",
    "holds_no_session",
]

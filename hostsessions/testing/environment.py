"""A test environment that no host variable of the machine running the tests leaks into.

The ``clean_host_environment`` fixture removes, for one test, every variable a host
signature of :mod:`hostsessions.hosts` reads (so a CI runner on a cloud VM does not pass
for AWS Lambda, Cloud Run or Azure Functions) and every ``HOSTSESSIONS_*`` variable (so a
developer's ``HOSTSESSIONS_DRIVER`` does not choose the driver). It returns the test's
``monkeypatch``, to set the variables the test wants on top::

    def test_on_cloud_run(clean_host_environment):
        clean_host_environment.setenv("K_SERVICE", "shop")

Load it with ``pytest_plugins = ["hostsessions.testing.environment"]`` in a
``conftest.py`` (this repository's root one does). Standard library and pytest only.
"""

from __future__ import annotations

import os

import pytest

from ..hosts import host_variables

__all__ = ["SETTINGS_PREFIX", "clean_host_environment"]

#: The prefix of hostsessions' own settings variables.
SETTINGS_PREFIX = "HOSTSESSIONS_"


@pytest.fixture
def clean_host_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No host variable and no ``HOSTSESSIONS_*`` setting inherited from the machine."""
    own = [name for name in os.environ if name.startswith(SETTINGS_PREFIX)]
    for name in (*host_variables(), *own):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch

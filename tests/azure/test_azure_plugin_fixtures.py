"""The adapter's pytest plugin, used as a user's test suite would: its session-config
fixture gives a working store, with nothing else set up."""

from __future__ import annotations

from hostsessions import SessionConfig
from tests.helpers import assert_config_keeps_a_visitors_session


def test_the_session_config_fixture_keeps_a_visitors_session(
    azure_tables_session_config: SessionConfig,
) -> None:
    assert_config_keeps_a_visitors_session(azure_tables_session_config)

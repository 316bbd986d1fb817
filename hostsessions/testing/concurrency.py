"""The concurrency conformance suite: the core's guarantees under load, as tests to inherit.

Subclass :class:`ConcurrencyConformance` in a test module and give it a config on a
fresh store; pytest then runs, under ASGI (uvicorn) and under WSGI (a threaded server),
with a real HTTP client against a real server on 127.0.0.1:

- ``CONCURRENT_WRITERS`` concurrent requests on one session, each setting its own key,
  keep every key;
- as many concurrent ``update(lambda n: n + 1)`` end at exactly that many;
- a request that read the session before another destroyed it does not bring it back.

::

    class TestMyStoreConcurrency(ConcurrencyConformance):
        retry_budget = 60.0     # optional: for a store slower than a real one (an emulator)

        @pytest.fixture
        def session_config(self, my_store_url):
            return SessionConfig(driver="mystore", options={"url": my_store_url})

Every first-party driver's tests subclass it, so each store gets the same checks. Needs
the ``testing`` extra (httpx, uvicorn).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from ..config import SessionConfig
from .conformance import CONCURRENT_WRITERS
from .server import (
    Interface,
    check_concurrent_keys,
    check_concurrent_updates,
    check_no_resurrection_after_destroy,
)

__all__ = ["INTERFACES", "ConcurrencyConformance"]

#: Both server interfaces every check runs under.
INTERFACES: tuple[Interface, ...] = ("asgi", "wsgi")


class ConcurrencyConformance:
    """The three concurrency checks, under ASGI and WSGI; see the module docstring.

    Subclasses provide a ``session_config`` fixture. ``retry_budget`` (seconds, ``None``:
    the config's own) replaces the config's when set: an emulator on a busy machine answers
    far slower than the store it stands for, and these checks are about no change being
    lost, not about speed.
    """

    writers: ClassVar[int] = CONCURRENT_WRITERS
    retry_budget: ClassVar[float | None] = None

    @pytest.fixture
    def session_config(self) -> SessionConfig:
        raise NotImplementedError(
            f"{type(self).__name__} must define a session_config fixture: a SessionConfig "
            "on a fresh, empty store"
        )

    @pytest.fixture(params=INTERFACES)
    def interface(self, request: pytest.FixtureRequest) -> Interface:
        interface: Interface = request.param
        return interface

    @pytest.fixture
    def concurrency_config(self, session_config: SessionConfig) -> SessionConfig:
        if self.retry_budget is None:
            return session_config
        return dataclasses.replace(session_config, retry_budget=self.retry_budget)

    def test_concurrent_requests_setting_their_own_keys_keep_them_all(
        self, concurrency_config: SessionConfig, interface: Interface
    ) -> None:
        check_concurrent_keys(concurrency_config, n=self.writers, interface=interface)

    def test_concurrent_updates_never_lose_an_increment(
        self, concurrency_config: SessionConfig, interface: Interface
    ) -> None:
        check_concurrent_updates(concurrency_config, n=self.writers, interface=interface)

    def test_a_late_save_does_not_bring_back_a_destroyed_session(
        self, concurrency_config: SessionConfig, interface: Interface
    ) -> None:
        check_no_resurrection_after_destroy(concurrency_config, interface=interface)

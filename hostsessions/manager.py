"""What one middleware instance keeps for all its requests: the config, the chosen driver
(built lazily, once) and the cookie rules. Shared by the ASGI and WSGI middleware."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace

from .adapters import DriverChoice, build_driver, choose_driver
from .config import DriverConfig, SessionConfig
from .cookies import CookieDecision, cookie_is_secure, session_id_from_cookie_header
from .drivers.base import AnyDriver, AsyncClosable, Closable
from .state import SessionState
from .storage import AsyncStore, SyncStore, async_store, check_driver, sync_store

__all__ = [
    "GONE_BODY",
    "GONE_REASON",
    "GONE_STATUS",
    "SessionManager",
    "warn_if_cookie_lost",
]

logger = logging.getLogger("hostsessions")

# What the middleware answers instead of the app's response when its own save finds that
# another request destroyed or regenerated the session (SessionGoneError): the change was
# not saved, so a 200 would be a silent loss. A client may retry with the new cookie.
GONE_STATUS = 409
GONE_REASON = "Conflict"
GONE_BODY = (
    b"The session was ended or renewed by another request while this one ran, "
    b"so this request's changes were not saved. Retry the request.\n"
)


def warn_if_cookie_lost(state: SessionState) -> None:
    """Called before a save made after the headers went out."""
    if state.cookie_action() is not None:
        logger.warning(
            "the session's ID changed after the response started, so the browser cannot "
            "learn it: create, regenerate or load sessions before sending the response"
        )


class SessionManager:
    """Chooses the driver at start-up (so a misconfigured host fails at once) and builds it
    only when the first session needs storage (so cold starts stay cheap)."""

    def __init__(
        self, config: SessionConfig | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        self.config = config if config is not None else SessionConfig()
        self.choice: DriverChoice = choose_driver(self.config, environ)
        if not isinstance(self.choice.driver, DriverConfig):
            check_driver(self.choice.driver)
        self._lock = threading.Lock()
        self._driver: AnyDriver | None = None
        self._async_driver: AnyDriver | None = None  # its async twin, if it has one
        self._sync_store: SyncStore | None = None
        self._async_store: AsyncStore | None = None
        #: :meth:`async_store` as a callable for the ASGI shell: once the store is built, a
        #: C-level call that hands it out (no Python frame on each request's two uses).
        self.get_async_store: Callable[[], AsyncStore] = self.async_store
        #: Whether the cookie has a lifetime of its own (``Max-Age``), so that it is sent
        #: again after each save, its lifetime rolling: :meth:`cookie_decision`'s
        #: ``refresh`` when no ``max_age`` stands in.
        self.rolling = self.config.cookie.max_age is not None

    def driver(self) -> AnyDriver:
        """The driver object, built on first use."""
        driver = self._driver
        if driver is None:
            with self._lock:
                driver = self._driver
                if driver is None:
                    driver = self._driver = build_driver(self.choice.driver)
        return driver

    def sync_store(self) -> SyncStore:
        if self._sync_store is None:
            self._sync_store = sync_store(self.driver())
        return self._sync_store

    def async_store(self) -> AsyncStore:
        if self._async_store is None:
            store = async_store(self.driver())
            self._async_driver = store.driver  # the async twin, when the driver has one
            self._async_store = store
            self.get_async_store = itertools.repeat(store).__next__
        return self._async_store

    async def aclose(self) -> None:
        """Close the drivers built so far (an async client's connections, for instance)."""
        built = [self._async_driver, self._driver]
        for driver in {id(d): d for d in built if d is not None}.values():
            if isinstance(driver, AsyncClosable):
                await driver.aclose()
            elif isinstance(driver, Closable):
                driver.close()

    def new_state(self, cookie_id: str | None, *, id_checked: bool = False) -> SessionState:
        """A request's state for the session ``cookie_id`` names (``id_checked``: the
        caller already checked it is well-formed, as :meth:`state_from_cookie` does)."""
        return SessionState(
            cookie_id,
            default_ttl=self.config.ttl,
            retry_budget=self.config.retry_budget,
            id_checked=id_checked,
        )

    def state_from_cookie(self, cookie_header: str | None) -> SessionState:
        """A request's state from its Cookie header: the ID is read, and checked, once."""
        config = self.config
        return SessionState(
            session_id_from_cookie_header(cookie_header, config.cookie.name),
            default_ttl=config.ttl,
            retry_budget=config.retry_budget,
            id_checked=True,
        )

    def cookie_decision(
        self, state: SessionState, *, max_age: int | None = None
    ) -> CookieDecision | None:
        """What this response must tell the browser about the cookie, if anything.

        ``max_age`` stands in for the configured one when the configuration has none (a
        Flask session marked ``permanent``): a cookie with a ``Max-Age`` is sent again
        after each save, so that its lifetime rolls.
        """
        return state.cookie_action(refresh=max_age is not None or self.rolling)

    def cookie_header(
        self,
        decision: CookieDecision,
        scheme: str,
        host: str | None,
        *,
        max_age: int | None = None,
        x_forwarded_proto: str | None = None,
        forwarded: str | None = None,
    ) -> str:
        """The Set-Cookie value for ``decision``. ``scheme``, ``host``,
        ``x_forwarded_proto`` and ``forwarded`` describe the request, for the Secure rule
        (docs/security.md); ``max_age`` as in :meth:`cookie_decision`."""
        options = self.config.cookie
        if max_age is not None and options.max_age is None:
            options = replace(options, max_age=max_age)
        secure = cookie_is_secure(
            options, scheme, host, x_forwarded_proto=x_forwarded_proto, forwarded=forwarded
        )
        return decision.header(options, secure=secure)

    def response_cookie(
        self,
        state: SessionState,
        scheme: str,
        host: str | None,
        *,
        max_age: int | None = None,
        x_forwarded_proto: str | None = None,
        forwarded: str | None = None,
    ) -> str | None:
        """The Set-Cookie header value this response needs, if any: :meth:`cookie_decision`
        written by :meth:`cookie_header`."""
        decision = self.cookie_decision(state, max_age=max_age)
        if decision is None:
            return None
        return self.cookie_header(
            decision,
            scheme,
            host,
            max_age=max_age,
            x_forwarded_proto=x_forwarded_proto,
            forwarded=forwarded,
        )

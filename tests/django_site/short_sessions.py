"""A session engine as Django's docs suggest writing one: hostsessions' engine with a
lifetime of its own (``SESSION_ENGINE = "tests.django_site.short_sessions"``)."""

from __future__ import annotations

from hostsessions.django import SessionStore as HostSessionsStore

LIFETIME = 120


class SessionStore(HostSessionsStore):
    def get_session_cookie_age(self) -> int:
        return LIFETIME

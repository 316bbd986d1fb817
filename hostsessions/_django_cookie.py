"""Django's session cookie, as ``response.set_cookie`` makes it, made without its per-call work.

Django's ``SessionMiddleware`` sends the session cookie again on every response that saved
the session, through ``HttpResponse.set_cookie``: ``SimpleCookie`` validation, a date
formatted with ``email.utils``, then ``Morsel.OutputString`` sorting and formatting every
attribute when the handler writes the headers. That is several microseconds per request,
for a text that only differs in the session ID and the expiry. Here the text is made from a
template built once per settings, by ``Morsel.OutputString`` itself, so it is the same text
byte for byte; the cookie is still a ``Morsel`` in ``response.cookies``, where Django's test
client and other middleware look for it.
"""

from __future__ import annotations

import time
from collections.abc import Container, Mapping
from email.utils import formatdate
from http.cookies import BaseCookie, Morsel, SimpleCookie
from typing import Any

__all__ = ["SessionCookie"]

def _fill(morsel: Morsel[str], attributes: Mapping[str, Any]) -> None:
    """Set a Morsel's attributes without its per-item checks (dict's own update, as
    Morsel.copy() does): they were checked when the template was made."""
    super(Morsel, morsel).update(attributes)


# Stand-ins for the parts that change per response, in the template's probe cookie: control
# characters, which no session ID, date or number contains.
_VALUE = "\x00"
_EXPIRES = "\x01"
_MAX_AGE = "\x02"


class _FormattedMorsel(Morsel[str]):
    """A Morsel whose Set-Cookie text was made with it; any change made to it afterwards
    drops the text, and it is formatted as any Morsel is."""

    text: str | None = None

    def OutputString(self, attrs: Container[str] | None = None) -> str:
        if attrs is None and self.text is not None:
            return self.text
        return super().OutputString(attrs)

    def __setitem__(self, key: str, value: Any) -> None:
        self.text = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.text = None
        super().__delitem__(key)

    def setdefault(self, key: str, val: str | None = None) -> str:
        self.text = None
        return super().setdefault(key, val)

    def update(self, values: Mapping[str, str]) -> None:  # type: ignore[override]
        self.text = None
        super().update(values)

    def set(self, key: str, val: str, coded_val: str) -> None:
        self.text = None
        super().set(key, val, coded_val)

    def pop(self, key: str, *default: Any) -> Any:
        self.text = None
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        self.text = None
        return super().popitem()

    def clear(self) -> None:
        self.text = None
        super().clear()


class SessionCookie:
    """The session cookie of one set of Django settings."""

    def __init__(
        self,
        name: str,
        *,
        path: str,
        domain: str | None,
        secure: bool,
        httponly: bool,
        samesite: str | None,
    ) -> None:
        if samesite and samesite.lower() not in ("lax", "none", "strict"):
            raise ValueError('samesite must be "lax", "none", or "strict".')  # Django's words
        self.name = name
        # The attributes response.set_cookie gives the cookie (falsy flags are not set).
        self._attributes: dict[str, Any] = {"path": path}
        if domain is not None:
            self._attributes["domain"] = domain
        if secure:
            self._attributes["secure"] = True
        if httponly:
            self._attributes["httponly"] = True
        if samesite:
            self._attributes["samesite"] = samesite
        self._prototype = _FormattedMorsel()
        self._prototype.set(name, "", "")  # raises CookieError for a name no cookie can have
        _fill(self._prototype, self._attributes)
        self._lasting = self._template({"expires": _EXPIRES, "max-age": _MAX_AGE})
        self._for_the_session = self._template({"expires": ""})
        self._date: tuple[int, str] = (-1, "")

    def _template(self, expiry: dict[str, str]) -> list[str]:
        """Morsel.OutputString's text for this cookie, cut where the per-response parts go:
        [before the ID, (before the expiry date, before the max-age,) after the last]."""
        text = self._morsel(_VALUE, expiry).OutputString()
        pieces = [text]
        for marker in (_VALUE, _EXPIRES, _MAX_AGE):
            if marker in pieces[-1]:
                before, after = pieces[-1].split(marker)
                pieces[-1:] = [before, after]
        return pieces

    def _morsel(self, value: str, expiry: dict[str, Any]) -> _FormattedMorsel:
        prototype = self._prototype
        # A copy of the prototype (without Morsel.__init__'s loop over every attribute
        # name), its name and value set through the pickle protocol, which Morsel keeps
        # public and which validates nothing: the name was validated with the prototype.
        morsel = _FormattedMorsel.__new__(_FormattedMorsel)
        _fill(morsel, prototype)
        state = {"key": self.name, "value": value, "coded_value": value}
        morsel.__setstate__(state)  # type: ignore[attr-defined]
        _fill(morsel, expiry)
        return morsel

    def _http_date(self, epoch: float) -> str:
        """Django's ``http_date(epoch)`` (``formatdate(..., usegmt=True)``), formatted once
        per second."""
        second = int(epoch)
        if self._date[0] != second:
            self._date = (second, formatdate(second, usegmt=True))
        return self._date[1]

    def attach(self, cookies: SimpleCookie, session_id: str, max_age: int | None) -> None:
        """Put the cookie pointing at ``session_id`` in ``cookies`` (``response.cookies``), as
        ``response.set_cookie(name, session_id, max_age=max_age, expires=...)`` does in
        Django's ``SessionMiddleware``: ``max_age`` None is a cookie for the browser session.

        ``session_id`` is one of hostsessions' IDs (letters, digits, ``-`` and ``_``), which
        ``SimpleCookie`` would neither quote nor change.
        """
        if max_age is None:
            morsel = self._morsel(session_id, {"expires": ""})
            before, after = self._for_the_session
            morsel.text = before + session_id + after
        else:
            expires = self._http_date(time.time() + max_age)
            morsel = self._morsel(session_id, {"expires": expires, "max-age": max_age})
            before, before_expires, before_max_age, after = self._lasting
            morsel.text = "".join(
                (before, session_id, before_expires, expires, before_max_age, str(max_age), after)
            )
        super(BaseCookie, cookies).__setitem__(self.name, morsel)  # no re-encoding

"""Django's session cookie, as ``response.set_cookie`` makes it, made without its per-call work.

Django's ``SessionMiddleware`` sends the session cookie again on every response that saved
the session, through ``HttpResponse.set_cookie``: ``SimpleCookie`` validation, a date
formatted with ``email.utils``, then ``Morsel.OutputString`` sorting and formatting every
attribute when the handler writes the headers. That is several microseconds per request,
for a text that only differs in the session ID and the expiry. Here the text is made from a
template built once per settings, by ``Morsel.output`` itself, so it is the same text
byte for byte; the cookie is still a ``Morsel`` in ``response.cookies``, where Django's test
client and other middleware look for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Container, Mapping
from email.utils import formatdate
from http.cookies import Morsel, SimpleCookie
from typing import Any, cast

__all__ = ["SessionCookie"]

# dict's own methods, for Morsels and cookies filled with what was checked beforehand
_dict_update = cast(Callable[[dict[str, Any], Mapping[str, Any]], None], dict.update)  # pyright: ignore[reportUnknownMemberType]
_dict_set = cast(Callable[[dict[str, Any], str, Any], None], dict.__setitem__)  # pyright: ignore[reportUnknownMemberType]


def _fill(morsel: Morsel[str], attributes: Mapping[str, Any]) -> None:
    """Set a Morsel's attributes without its per-item checks (dict's own update, as
    Morsel.copy() does): they were checked when the template was made."""
    _dict_update(morsel, attributes)


# Stand-ins for the parts that change per response, in the template's probe cookie: control
# characters, which no session ID, date or number contains.
_VALUE = "\x00"
_EXPIRES = "\x01"
_MAX_AGE = "\x02"


class _FormattedMorsel(Morsel[str]):
    """A Morsel whose Set-Cookie text was made with it; any change made to it afterwards
    drops the text, and it is formatted as any Morsel is."""

    # Morsel.output()'s text after the header: a space, then OutputString()'s. Django's WSGI
    # handler writes each cookie with output(header=""), which then returns it as it is.
    line: str | None = None

    def OutputString(self, attrs: Container[str] | None = None) -> str:
        if attrs is None and self.line is not None:
            return self.line[1:]
        return super().OutputString(attrs)

    def output(self, attrs: Container[str] | None = None, header: str = "Set-Cookie:") -> str:
        line = self.line
        if attrs is None and line is not None:
            return header + line  # Morsel.output's "%s %s" % (header, OutputString())
        return super().output(attrs, header)

    def __setitem__(self, key: str, value: Any) -> None:
        self.line = None
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.line = None
        super().__delitem__(key)

    def setdefault(self, key: str, val: str | None = None) -> str:
        self.line = None
        return super().setdefault(key, val)

    def update(self, values: Mapping[str, str]) -> None:  # type: ignore[override]
        self.line = None
        super().update(values)

    def set(self, key: str, val: str, coded_val: str) -> None:
        self.line = None
        super().set(key, val, coded_val)

    def pop(self, key: str, *default: Any) -> Any:
        self.line = None
        return super().pop(key, *default)

    def popitem(self) -> tuple[str, Any]:
        self.line = None
        return super().popitem()

    def clear(self) -> None:
        self.line = None
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
        every_attribute = dict(self._prototype)  # Morsel's whole set, as filled
        self._key_name, self._value_name, self._coded_value_name = _state_names()
        # the pieces of output()'s line (its leading space included)
        self._lasting = self._template({"expires": _EXPIRES, "max-age": _MAX_AGE})
        self._for_the_session = self._template({"expires": ""})
        self._session_attributes = every_attribute | {"expires": ""}
        self._every_attribute = every_attribute
        # For the latest second and max-age: the attributes (expiry date included) and the
        # text after the ID.
        self._lasting_now: tuple[int, int, dict[str, Any], str] = (-1, -1, {}, "")

    def _template(self, expiry: dict[str, str]) -> list[str]:
        """Morsel.output's line for this cookie (without the header), cut where the
        per-response parts go: [before the ID, (before the expiry date, before the
        max-age,) after the last]."""
        morsel = self._morsel(_VALUE, self._prototype, None)
        _fill(morsel, expiry)
        text = morsel.output(header="")
        pieces = [text]
        for marker in (_VALUE, _EXPIRES, _MAX_AGE):
            if marker in pieces[-1]:
                before, after = pieces[-1].split(marker)
                pieces[-1:] = [before, after]
        return pieces

    def _morsel(
        self, value: str, attributes: Mapping[str, Any], line: str | None
    ) -> _FormattedMorsel:
        """A Morsel of this cookie holding ``value``, made as ``Morsel.copy()`` makes one
        (without ``Morsel.__init__``'s loop over every attribute name): its attributes
        copied, and its name and value set without validation (the name was validated with
        the prototype)."""
        morsel = _FormattedMorsel.__new__(_FormattedMorsel)
        _dict_update(morsel, attributes)
        morsel.__dict__ = {
            self._key_name: self.name,
            self._value_name: value,
            self._coded_value_name: value,
            "line": line,
        }
        return morsel

    def _lasting_for(self, second: int, max_age: int) -> tuple[dict[str, Any], str]:
        """The attributes of a cookie expiring at ``second`` (the date as Django's
        ``http_date`` writes it: ``formatdate(..., usegmt=True)``) with ``max_age``, and its
        text after the ID; kept for the next cookie of the same second."""
        expires = formatdate(second, usegmt=True)
        attributes = self._every_attribute | {"expires": expires, "max-age": max_age}
        _, before_expires, before_max_age, after = self._lasting
        end = f"{before_expires}{expires}{before_max_age}{max_age}{after}"
        self._lasting_now = (second, max_age, attributes, end)
        return attributes, end

    def attach(self, cookies: SimpleCookie, session_id: str, max_age: int | None) -> None:
        """Put the cookie pointing at ``session_id`` in ``cookies`` (``response.cookies``), as
        ``response.set_cookie(name, session_id, max_age=max_age, expires=...)`` does in
        Django's ``SessionMiddleware``: ``max_age`` None is a cookie for the browser session.

        ``session_id`` is one of hostsessions' IDs (letters, digits, ``-`` and ``_``), which
        ``SimpleCookie`` would neither quote nor change.
        """
        if max_age is None:
            before, after = self._for_the_session
            morsel = self._morsel(session_id, self._session_attributes, before + session_id + after)
        else:
            second = int(time.time() + max_age)
            done_second, done_max_age, attributes, end = self._lasting_now
            if done_second != second or done_max_age != max_age:
                attributes, end = self._lasting_for(second, max_age)
            morsel = self._morsel(session_id, attributes, self._lasting[0] + session_id + end)
        _dict_set(cookies, self.name, morsel)  # dict's own: no re-encoding


def _state_names() -> tuple[str, str, str]:
    """The attributes in which a Morsel keeps its key, value and coded value, as its pickle
    protocol (``__setstate__``, public) sets them."""
    probe = _FormattedMorsel.__new__(_FormattedMorsel)
    markers = {"key": "\x03key", "value": "\x03value", "coded_value": "\x03coded"}
    probe.__setstate__(markers)  # type: ignore[attr-defined]
    name_of = {value: name for name, value in vars(probe).items()}
    return name_of[markers["key"]], name_of[markers["value"]], name_of[markers["coded_value"]]

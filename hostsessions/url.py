"""A URL value that round-trips through the codec as a JavaScript ``URL``."""

from __future__ import annotations

from urllib.parse import urlsplit

from .checks import is_text

__all__ = ["URL"]


class URL:
    """An absolute URL. ``str(url)`` is its href."""

    __slots__ = ("_href",)

    def __init__(self, href: str) -> None:
        if not is_text(href):
            raise TypeError(f"URL() takes a string, not {type(href).__name__}")
        parts = urlsplit(href)
        if not parts.scheme:
            raise ValueError(f"not an absolute URL: {href!r}")
        self._href = href

    @property
    def href(self) -> str:
        return self._href

    def __str__(self) -> str:
        return self._href

    def __repr__(self) -> str:
        return f"URL({self._href!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, URL) and other._href == self._href

    def __hash__(self) -> int:
        return hash(("URL", self._href))

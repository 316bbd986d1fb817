"""Typed session keys, the Python form of Astro's ``App.SessionData``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class SessionKey(Generic[T]):
    """A session key that carries the type of its value.

    ``CART = SessionKey("cart", list[str])`` makes ``session.get(CART)`` typed
    ``list[str] | None`` and ``session.set(CART, 3)`` a type error.
    """

    __slots__ = ("name", "value_type")

    name: str
    value_type: Any

    @overload
    def __init__(self, name: str, type_: type[T]) -> None: ...

    @overload
    def __init__(self: SessionKey[Any], name: str) -> None: ...

    def __init__(self, name: str, type_: Any = object) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("a SessionKey name must be a non-empty string")
        self.name = name
        self.value_type = type_

    def __repr__(self) -> str:
        return f"SessionKey({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SessionKey) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("SessionKey", self.name))


def key_name(key: str | SessionKey[Any]) -> str:
    """The stored name of a plain or typed key."""
    if isinstance(key, SessionKey):
        return key.name
    if isinstance(key, str):
        return key
    raise TypeError(f"session keys are str or SessionKey, not {type(key).__name__}")

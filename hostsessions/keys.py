"""Typed session keys, the Python form of Astro's ``App.SessionData``."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Union, final, overload

from .checks import is_nonempty_text, is_text

if TYPE_CHECKING:
    from typing_extensions import TypeVar

    # Any by default, so a key whose type the checker cannot read from the call, such as
    # SessionKey("opt", int | None) with no annotation, is SessionKey[Any] rather than an
    # error; SessionKey[int | None]("opt", int | None) or an annotated variable is precise.
    T = TypeVar("T", default=Any)
else:
    from typing import TypeVar

    T = TypeVar("T")

__all__ = ["KeyedValue", "SessionKey", "key_name"]


class SessionKey(Generic[T]):
    """A session key that carries the type of its value.

    ``CART = SessionKey("cart", list[str])`` makes ``session.get(CART)`` typed
    ``list[str] | None`` and ``session.set(CART, 3)`` a type error. For a union or
    optional type, which type checkers cannot read from a call's arguments, name it in
    brackets as well: ``OPT = SessionKey[int | None]("opt", int | None)`` (or annotate
    the variable: ``OPT: SessionKey[int | None] = SessionKey("opt", int | None)``).
    """

    __slots__ = ("name", "value_type")

    name: str
    value_type: Any

    @overload
    def __init__(self, name: str, type_: type[T]) -> None: ...

    @overload
    def __init__(self, name: str, type_: object) -> None: ...

    @overload
    def __init__(self, name: str) -> None: ...

    def __init__(self, name: str, type_: Any = object) -> None:
        if not is_nonempty_text(name):
            raise TypeError("a SessionKey name must be a non-empty string")
        if not _is_type_form(type_):
            raise TypeError(
                "the second argument of SessionKey is the value's type (int, list[str], "
                f"int | None, a TypedDict), not {type_!r}"
            )
        self.name = name
        self.value_type = type_

    def __repr__(self) -> str:
        return f"SessionKey({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SessionKey) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("SessionKey", self.name))


def _is_type_form(value: object) -> bool:
    """A class, a union, a parameterised generic or a typing construct (Optional, Literal)."""
    return isinstance(value, (type, types.UnionType, types.GenericAlias)) or (
        type(value).__module__ in ("typing", "typing_extensions")
    )


@final
class _SolvedFromKey:
    """Never instantiated: see :data:`KeyedValue`."""


#: The type of a value stored under a ``SessionKey[T]``: ``T``. The ``Callable`` half is
#: never meant to be passed (the codec refuses functions); its presence makes mypy solve
#: ``T`` from the key before it reads the value, so a TypedDict or an empty-list literal is
#: checked against the key's type instead of being inferred on its own first (as
#: ``dict[str, object]`` or ``list[Never]``, which mypy then cannot reconcile with ``T``).
KeyedValue = Union[T, Callable[[_SolvedFromKey], T]]  # noqa: UP007 - a generic alias at runtime


def key_name(key: str | SessionKey[Any]) -> str:
    """The stored name of a plain or typed key."""
    if isinstance(key, SessionKey):
        return key.name
    if is_text(key):
        return key
    raise TypeError(f"session keys are str or SessionKey, not {type(key).__name__}")

"""Run-time checks of the values a user passes in: options, settings, decoded data.

Not every caller runs a type checker, so a factory or a settings object checks its
arguments even where their annotations already say what they must be. Each check takes
``object`` (the annotation is a promise the caller may not keep) and each rule is written
here once: the core, the built-in drivers and the adapters raise their own errors with
their own messages, around these checks. A third-party driver may use them too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeGuard

__all__ = [
    "is_dict",
    "is_mapping",
    "is_nonempty_text",
    "is_positive_number",
    "is_text",
    "is_whole_number",
]


def is_whole_number(value: object, *, minimum: int = 0, maximum: int | None = None) -> bool:
    """An ``int`` (``True``/``False`` are not numbers here) from ``minimum`` to ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return False
    return maximum is None or value <= maximum


def is_positive_number(value: object) -> bool:
    """A finite ``int`` or ``float`` above zero (not a ``bool``): a duration or a size."""
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def is_text(value: object) -> TypeGuard[str]:
    """A ``str``: a name, a URL, a key, a payload."""
    return isinstance(value, str)


def is_nonempty_text(value: object) -> TypeGuard[str]:
    """A ``str`` with at least one character."""
    return isinstance(value, str) and value != ""


def is_dict(value: object) -> TypeGuard[dict[object, object]]:
    """A ``dict`` (decoded JSON or devalue data), whose keys and values are still to check."""
    return isinstance(value, dict)


def is_mapping(value: object) -> TypeGuard[Mapping[object, object]]:
    """A mapping (a ``dict`` or any other ``collections.abc.Mapping``)."""
    return isinstance(value, Mapping)

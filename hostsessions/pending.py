"""What :class:`~hostsessions.AsyncSession`'s storage methods return: an awaitable that
refuses to be used as its own result.

A coroutine is truthy, compares unequal to everything and fails late, so
``if request.session.get("user"):`` (code moved from a dict session) would let everybody
in, with a RuntimeWarning as the only trace. A :class:`PendingCall` raises ``TypeError``
at that line instead, naming the call and the fix. It holds an unstarted program, not a
coroutine (the program runs only when it is awaited), so forgetting to await a read
leaves no "never awaited" warning behind; a
forgotten change (``update``, ``regenerate``, ``load``, ``save``) still warns, because
there the change silently did not happen.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

__all__ = ["NO_ARGUMENT", "PendingCall", "PendingChange", "Start"]

T = TypeVar("T")

#: What a pending call runs when awaited: a function of its arguments that returns the
#: iterator of the awaitable (a coroutine's, or one already done when no storage is needed).
Start = Callable[..., Generator[Any, None, T]]

NO_ARGUMENT: Any = object()  # the call took no argument worth showing in a message


class PendingCall(Generic[T]):
    """The result of an :class:`~hostsessions.AsyncSession` call that may touch storage:
    ``await`` it to run the call and get its value (typed ``T``).

    Its truth value, comparisons, ``in``, iteration, ``len``, indexing, arithmetic and
    formatting raise ``TypeError`` saying to await it. It can be awaited once, passed to
    ``asyncio.gather`` or ``asyncio.ensure_future``, but it is not a coroutine
    (``asyncio.create_task`` needs ``asyncio.ensure_future`` or an ``async def`` around it).
    """

    __slots__ = ("_argument", "_arguments", "_method", "_start", "_started")

    def __init__(
        self, start: Start[T], arguments: tuple[Any, ...], method: str, argument: Any
    ) -> None:
        self._start = start
        self._arguments = arguments  # what ``start`` is called with (an unstarted program...)
        self._method = method
        self._argument = argument  # what messages show of the call
        self._started = False

    def __await__(self) -> Generator[Any, None, T]:
        if self._started:
            raise RuntimeError(f"{self._call()} was already awaited; call it again")
        self._started = True
        return self._start(*self._arguments)

    def _call(self) -> str:
        argument = "" if self._argument is NO_ARGUMENT else repr(self._argument)
        return f"session.{self._method}({argument})"

    def _misuse(self, *_: object) -> NoReturn:
        self._started = True  # reported here: no second complaint when it is collected
        raise TypeError(
            f"{self._call()} returns an awaitable, not its result: write "
            f"'await session.{self._method}(...)'. For code written for a dict session "
            "(request.session['key']), use the dict-style session (docs/starlette.md)."
        )

    def __repr__(self) -> str:
        return f"<PendingCall {self._call()}: await it for the result>"

    __hash__ = object.__hash__  # asyncio.gather keys its arguments by identity

    if not TYPE_CHECKING:
        # Only at run time: to mypy these operations do not exist, so it flags them too.
        __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _misuse
        __contains__ = __iter__ = __len__ = __getitem__ = __setitem__ = __delitem__ = _misuse
        __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _misuse
        __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = _misuse
        __neg__ = __pos__ = __int__ = __float__ = __index__ = __format__ = _misuse
        __or__ = __ror__ = __and__ = __rand__ = _misuse

        def __getattr__(self, name: str) -> NoReturn:
            if name.startswith("_"):
                raise AttributeError(name)
            self._started = True
            raise AttributeError(
                f"{self._call()} returns an awaitable, not its result: write "
                f"'(await session.{self._method}(...)).{name}'"
            )


class PendingChange(PendingCall[T]):
    """A :class:`PendingCall` that changes the session: never awaiting it is a lost
    change, so it warns when collected unawaited."""

    __slots__ = ()

    def __del__(self) -> None:
        if not getattr(self, "_started", True):
            warnings.warn(
                f"{self._call()} was never awaited, so it did not happen: "
                f"write 'await session.{self._method}(...)'",
                RuntimeWarning,
                stacklevel=2,
            )

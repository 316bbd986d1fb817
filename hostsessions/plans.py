"""Plans: an operation written once, as a generator, and run by one runner per flavour.

Rules of this module: a *plan* is a generator that yields *steps* and returns a result.

- A step is a plain value saying what the plan needs done: a storage call for the
  session's programs (:mod:`hostsessions.state`), a document call for the Firestore
  driver, a table operation for the Azure Tables driver. The plan never does I/O itself.
- The runner performs each step and sends its result back in at the ``yield``. When
  performing it raises an :class:`Exception`, the runner throws that exception into the
  plan at the ``yield`` instead, so a plan handles a failure with an ordinary
  ``try``/``except`` around the ``yield``, and a failure it does not handle leaves the
  runner as it would any call. (Other base exceptions, such as ``KeyboardInterrupt``
  and cancellation are not thrown in: they end the run at once.)
- What the plan returns is what the runner returns.

:func:`run_sync` performs steps with a blocking function and :func:`drive_async` (awaited
as it is, or through :func:`run_async`) with a coroutine function; they are the only two
runners in hostsessions, as httpx drives its
one auth-flow generator with one function per flavour. So an operation that has a sync
and an async flavour is written once, and its two flavours cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeAlias, TypeVar

__all__ = ["LATER", "Plan", "Running", "drive_async", "run_async", "run_sync"]

StepT = TypeVar("StepT")
ResultT = TypeVar("ResultT")

#: A plan yielding steps of type ``StepT`` and returning a ``ResultT``; what it is sent
#: back is each step's result, whose type depends on the step.
Plan: TypeAlias = Generator[StepT, Any, ResultT]

#: What a ``perform_now`` function of :func:`run_async` returns for a step it cannot
#: perform without waiting.
LATER: Any = object()


def run_sync(plan: Plan[StepT, ResultT], perform: Callable[[StepT], object]) -> ResultT:
    """Run ``plan`` to its end, performing each step it yields with ``perform``."""
    result: object = None
    error: Exception | None = None
    while True:
        try:
            step = plan.send(result) if error is None else plan.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            result, error = perform(step), None
        except Exception as failure:
            result, error = None, failure


def drive_async(
    plan: Plan[StepT, ResultT],
    perform: Callable[[StepT], Awaitable[object]],
    perform_now: Callable[[StepT], object] | None = None,
) -> Generator[Any, None, ResultT]:
    """The async runner itself: runs ``plan`` to its end as the iterator that an awaitable's
    ``__await__`` returns (what ``await`` drives), awaiting ``perform`` for each step.

    ``perform_now``, when given, is tried first: it performs a step that needs no waiting
    at once (a call to a store that never waits on I/O) and returns its result, or returns
    :data:`LATER` for a step that must be awaited, which then goes to ``perform``. Its
    failures are thrown in like ``perform``'s. A step done at once costs no coroutine, and
    a plan whose steps are all done at once runs inside the ``await`` that started it.
    """
    result: object = None
    error: Exception | None = None
    while True:
        try:
            step = plan.send(result) if error is None else plan.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        try:
            if perform_now is not None:
                result = perform_now(step)
                if result is LATER:
                    result = yield from perform(step).__await__()
            else:
                result = yield from perform(step).__await__()
            error = None
        except Exception as failure:
            result, error = None, failure


class Running(Generic[ResultT]):
    """An awaitable that runs a plan with :func:`drive_async` when it is awaited (once);
    what :func:`run_async` awaits, and what a shell hands out without a coroutine."""

    __slots__ = ("_steps",)

    def __init__(self, steps: Generator[Any, None, ResultT]) -> None:
        self._steps = steps

    def __await__(self) -> Generator[Any, None, ResultT]:
        return self._steps


async def run_async(
    plan: Plan[StepT, ResultT],
    perform: Callable[[StepT], Awaitable[object]],
    perform_now: Callable[[StepT], object] | None = None,
) -> ResultT:
    """Run ``plan`` to its end, awaiting ``perform`` for each step (``perform_now``: as
    for :func:`drive_async`, which this awaits)."""
    return await Running(drive_async(plan, perform, perform_now))

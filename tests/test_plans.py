"""The two plan runners: what a plan is sent, what is thrown into it, what they return."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from hostsessions.plans import Plan, run_async, run_sync


class Refused(Exception):
    """A step that fails."""


def doubled(values: list[int]) -> Plan[int, list[int]]:
    """Asks for each value to be doubled; returns what it was sent."""
    results = []
    for value in values:
        results.append((yield value))
    return results


def recovering() -> Plan[str, str]:
    """Handles a failed step the way a driver's plan handles a conflict."""
    try:
        yield "fail"
    except Refused as refused:
        answer = yield f"recovered from {refused}"
        return str(answer)
    return "not reached"


def unhandled() -> Plan[str, str]:
    yield "fail"
    return "not reached"


def perform(step: object) -> object:
    if step == "fail":
        raise Refused("step")
    return step * 2 if isinstance(step, int) else f"done: {step}"


async def perform_async(step: object) -> object:
    await asyncio.sleep(0)
    return perform(step)


def both_runners() -> list[Callable[[Plan[object, object]], object]]:
    return [
        lambda plan: run_sync(plan, perform),
        lambda plan: asyncio.run(run_async(plan, perform_async)),
    ]


@pytest.mark.parametrize("run", both_runners(), ids=["sync", "async"])
def test_each_result_is_sent_back_and_the_plan_return_is_the_runners(
    run: Callable[[Plan[object, object]], object],
) -> None:
    assert run(doubled([1, 2, 3])) == [2, 4, 6]


@pytest.mark.parametrize("run", both_runners(), ids=["sync", "async"])
def test_a_plan_with_no_steps_returns_at_once(
    run: Callable[[Plan[object, object]], object],
) -> None:
    assert run(doubled([])) == []


@pytest.mark.parametrize("run", both_runners(), ids=["sync", "async"])
def test_a_failed_step_is_thrown_into_the_plan_which_may_handle_it(
    run: Callable[[Plan[object, object]], object],
) -> None:
    assert run(recovering()) == "done: recovered from step"


@pytest.mark.parametrize("run", both_runners(), ids=["sync", "async"])
def test_a_failure_the_plan_does_not_handle_leaves_the_runner(
    run: Callable[[Plan[object, object]], object],
) -> None:
    with pytest.raises(Refused, match="step"):
        run(unhandled())


def test_a_base_exception_ends_the_run_without_being_thrown_in() -> None:
    seen: list[str] = []

    def plan() -> Plan[str, None]:
        try:
            yield "interrupt"
        except KeyboardInterrupt:
            seen.append("thrown in")
            raise

    def interrupt(step: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sync(plan(), interrupt)
    assert seen == []

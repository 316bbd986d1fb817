"""CallDeadlines: the asyncio Redis driver's one timer for all its calls in flight. Each
call still gets its own deadline, a timeout is a TimeoutError, and nothing else is
cancelled: not a call that finished, not the task after a timeout."""

from __future__ import annotations

import asyncio
import time

import pytest

from hostsessions.drivers.redis_driver import CallDeadlines

SECONDS = 0.2


def test_a_call_past_its_deadline_raises_timeout_error_and_the_task_carries_on() -> None:
    async def main() -> float:
        deadlines = CallDeadlines(SECONDS)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await deadlines.run(asyncio.sleep(30))
        took = time.monotonic() - started
        task = asyncio.current_task()
        assert task is not None
        assert task.cancelling() == 0, "the timeout's cancellation was not undone"
        await asyncio.sleep(SECONDS * 1.5)  # nothing left to cancel this task later
        assert await deadlines.run(asyncio.sleep(0, "still works")) == "still works"
        return took

    took = asyncio.run(main())
    assert SECONDS <= took < SECONDS + 1.0, took


def test_calls_in_flight_together_each_time_out_at_their_own_deadline() -> None:
    async def main() -> list[float]:
        deadlines = CallDeadlines(SECONDS)
        started = time.monotonic()

        async def call(delay: float) -> float:
            await asyncio.sleep(delay)
            with pytest.raises(TimeoutError):
                await deadlines.run(asyncio.sleep(30))
            return time.monotonic() - started - delay

        return await asyncio.gather(call(0), call(SECONDS / 2), call(SECONDS * 1.5))

    for waited in asyncio.run(main()):
        assert SECONDS <= waited < SECONDS + 1.0, waited


def test_calls_that_finish_in_time_are_never_cancelled_afterwards() -> None:
    async def main() -> None:
        deadlines = CallDeadlines(SECONDS)
        results = [await deadlines.run(asyncio.sleep(0.001, n)) for n in range(20)]
        assert results == list(range(20))
        await asyncio.sleep(SECONDS * 2)  # past every deadline those calls had

    asyncio.run(main())


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def main() -> None:
        deadlines = CallDeadlines(30)
        call = asyncio.ensure_future(deadlines.run(asyncio.sleep(30)))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call

    asyncio.run(main())


def test_a_call_made_inside_a_call_keeps_a_deadline() -> None:
    async def main() -> None:
        deadlines = CallDeadlines(SECONDS)
        with pytest.raises(TimeoutError):
            await deadlines.run(deadlines.run(asyncio.sleep(30)))

    asyncio.run(main())

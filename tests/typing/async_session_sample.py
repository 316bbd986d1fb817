# Checked by tests/test_unawaited_reads.py with mypy --strict: awaited AsyncSession calls
# are typed; using a call's result without await is a type error as well as a TypeError.
from typing import reveal_type

from hostsessions import AsyncSession, SessionKey
from hostsessions.pending import PendingCall

USER = SessionKey("user", str)


async def view(session: AsyncSession) -> None:
    reveal_type(await session.get(USER))  # E: str | None
    reveal_type(await session.get(USER, "anonymous"))  # E: str
    reveal_type(await session.has(USER))  # E: bool
    reveal_type(await session.keys())  # E: list[str]
    reveal_type(await session.items())  # E: list[tuple[str, Any]]
    reveal_type(await session.load("id"))  # E: bool
    pending: PendingCall[str | None] = session.get(USER)
    reveal_type(await pending)  # E: str | None
    _ = "ada" in session.get(USER)  # rejected
    for _key in session.keys():  # noqa: SIM118  # rejected
        pass
    len(session.keys())  # rejected
    _ = session.get("n", 0) + 1  # rejected
    _ = session.get(USER)[0]  # rejected

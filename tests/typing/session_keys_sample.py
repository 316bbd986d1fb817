# Checked by tests/test_typing.py with mypy --strict: the reveal_type lines and the one
# rejected call are the contract of typed session keys.
from typing import reveal_type

from hostsessions import AsyncSession, Session, SessionKey

CART = SessionKey("cart", list[str])
VISITS = SessionKey("visits", int)


def sync_view(session: Session) -> None:
    reveal_type(session.get(CART))  # E: list[str] | None
    reveal_type(session.get(CART, []))  # E: list[str]
    reveal_type(session.get("plain"))  # E: Any
    reveal_type(session.update(VISITS, lambda n: n + 1, default=0))  # E: int
    session.set(CART, ["tea"])
    session.set("anything", object())
    session.set(CART, 3)  # rejected


async def async_view(session: AsyncSession) -> None:
    reveal_type(await session.get(CART))  # E: list[str] | None
    reveal_type(await session.update(CART, lambda cart: [*(cart or []), "mug"]))  # E: list[str]
    session.set(VISITS, "many")  # rejected

# pyright: strict
# Checked by tests/test_typing.py with mypy --strict and pyright (strict): the
# reveal_type lines and the rejected calls are the contract of typed session keys.
from typing import Literal, TypedDict, reveal_type

from hostsessions import AsyncSession, Session, SessionKey


class User(TypedDict):
    name: str
    age: int


CART = SessionKey("cart", list[str])
VISITS = SessionKey("visits", int)
USER = SessionKey("user", User)
# Unions and optionals: the checkers cannot read a union from a call's arguments, so the
# key names its type in brackets too (or the variable is annotated).
COUPON = SessionKey[int | None]("coupon", int | None)
THEME: SessionKey[Literal["light", "dark"]] = SessionKey("theme", Literal["light", "dark"])
LOOSE = SessionKey("loose", int | str)  # accepted, typed SessionKey[Any]


def sync_view(session: Session) -> None:
    reveal_type(session.get(CART))  # E: list[str] | None
    reveal_type(session.get(CART, []))  # E: list[str]
    reveal_type(session.get(CART, None))  # E: list[str] | None
    reveal_type(session.get("plain"))  # E: Any
    reveal_type(session.update(VISITS, lambda n: n + 1, default=0))  # E: int
    reveal_type(session.get(COUPON))  # E: int | None
    reveal_type(session.get(COUPON, 0))  # E: int | None
    reveal_type(session.get(THEME, "light"))  # E: Literal['light', 'dark']
    session.set(CART, ["tea"])
    session.set(CART, [])
    session.set(USER, {"name": "ada", "age": 36})
    session.set(COUPON, None)
    session.set(COUPON, 5)
    session.set(THEME, "dark")
    session.set(LOOSE, 3.5)
    session.set("anything", object())
    session.set(CART, 3)  # rejected
    session.set(USER, {"name": "ada"})  # rejected
    session.set(COUPON, "5")  # rejected
    session.set(THEME, "blue")  # rejected


async def async_view(session: AsyncSession) -> None:
    reveal_type(await session.get(CART))  # E: list[str] | None
    reveal_type(await session.get(CART, []))  # E: list[str]
    cart = await session.get(CART, [])
    reveal_type(cart)  # E: list[str]
    reveal_type(await session.get(COUPON))  # E: int | None
    reveal_type(await session.update(CART, lambda cart: [*(cart or []), "mug"]))  # E: list[str]
    session.set(USER, {"name": "ada", "age": 36})
    session.set(VISITS, "many")  # rejected

"""docs/astro.md's Python configurations are the ones the end-to-end suite runs: each
block builds, names Astro's cookie, and makes the driver of its column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from hostsessions import SessionConfig
from hostsessions.adapters import build_driver, resolve_driver_name
from hostsessions.asgi import SessionMiddleware
from hostsessions.drivers import FsLiteDriver

PAGE = Path(__file__).resolve().parents[2] / "docs" / "astro.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", PAGE.read_text(encoding="utf-8"), re.M | re.S)


async def app(scope: Any, receive: Any, send: Any) -> None:
    """The user's ASGI app, which the page wraps."""


def test_the_page_has_one_python_block_per_configuration() -> None:
    assert len(BLOCKS) == 2


@pytest.mark.parametrize(
    ("block", "driver_name"), list(zip(BLOCKS, ["fs-lite", "redis"], strict=True))
)
def test_each_configuration_builds_with_astros_cookie(block: str, driver_name: str) -> None:
    namespace: dict[str, Any] = {"app": app, "SessionConfig": SessionConfig}
    exec(compile(block, str(PAGE), "exec"), namespace)

    config = namespace["config"]
    assert isinstance(config, SessionConfig)
    assert config.cookie.name == "astro-session"
    assert config.driver == driver_name
    driver = build_driver(resolve_driver_name(config.driver, config.options))
    if driver_name == "fs-lite":
        assert isinstance(driver, FsLiteDriver)
        assert driver.base == "/srv/shop/sessions"
        assert isinstance(namespace["app"], SessionMiddleware)
    else:
        assert driver.settings.key("abc") == "sessions:abc"
    close = getattr(driver, "close", None)
    if close is not None:
        close()

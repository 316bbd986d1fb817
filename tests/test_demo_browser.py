"""The demo, driven in headless Chromium as a new user would: the cart survives log-in
(a new session ID) and is gone after log-out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def chromium() -> str:
    """Debian's Chromium, which scripts/setup.d/50-chromium.sh installs with CI set or not."""
    if CHROMIUM is None:
        pytest.fail(
            "chromium is missing: scripts/bootstrap installs it "
            "(scripts/setup.d/50-chromium.sh; as root: apt-get install chromium)"
        )
    return CHROMIUM


@pytest.fixture
def demo_url(tmp_path: Path) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTSESSIONS_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "hostsessions.cli", "demo", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert match, f"the demo did not print its URL: {first!r}"
        driver_line = process.stdout.readline()
        assert "FsDriver" in driver_line, (
            f"the demo should run on the filesystem default: {driver_line!r}"
        )
        yield match.group(0)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cart_survives_login_and_is_gone_after_logout(
    chromium: str, demo_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(demo_url)
            expect(page.get_by_test_id("cart-count")).to_have_text("0")

            page.get_by_test_id("add-tea").click()
            page.get_by_test_id("add-book").click()
            expect(page.get_by_test_id("cart-count")).to_have_text("2")

            page.reload()
            expect(page.get_by_test_id("cart-count")).to_have_text("2")
            id_before = page.get_by_test_id("session-id").inner_text()

            page.get_by_test_id("login").click()
            expect(page.get_by_test_id("user")).to_contain_text("ada")
            id_after = page.get_by_test_id("session-id").inner_text()
            assert id_after != id_before, "logging in must issue a new session ID"
            expect(page.get_by_test_id("cart-count")).to_have_text("2")
            page.get_by_test_id("cart-link").click()
            expect(page.get_by_test_id("cart-item")).to_have_count(2)

            page.get_by_test_id("logout").click()
            expect(page.get_by_test_id("cart-count")).to_have_text("0")
            expect(page.get_by_test_id("login")).to_be_visible()
            page.goto(demo_url + "cart")
            expect(page.get_by_test_id("cart-empty")).to_be_visible()
        finally:
            browser.close()
    assert (tmp_path / ".hostsessions" / "sessions").is_dir(), "sessions were not stored on disk"

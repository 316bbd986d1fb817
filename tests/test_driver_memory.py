"""The in-memory driver passes the conformance suite, and its own few promises."""

from __future__ import annotations

import pytest

from hostsessions import SessionTooLargeError
from hostsessions.drivers.memory_driver import MemoryDriver
from hostsessions.testing import DriverConformance, MinimalDriverConformance


class TestMemoryDriver(DriverConformance):
    payload_limit = None

    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver()


class TestMemoryDriverWithALimit(DriverConformance):
    payload_limit = 10_000

    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver(max_payload_bytes=self.payload_limit)


class TestMemoryDriverMinimalProtocol(MinimalDriverConformance):
    payload_limit = 10_000

    @pytest.fixture
    def driver(self) -> MemoryDriver:
        return MemoryDriver(max_payload_bytes=self.payload_limit)


def test_sweep_frees_the_memory_of_expired_records() -> None:
    driver = MemoryDriver()
    driver.write("a" * 43, "old", expires_at=1.0, expected_version=None)
    driver.write("b" * 43, "new", expires_at=None, expected_version=None)
    assert len(driver) == 2
    assert driver.sweep() == 1
    assert len(driver) == 1


def test_the_size_limit_counts_utf8_bytes_not_characters() -> None:
    driver = MemoryDriver(max_payload_bytes=8)
    driver.set_item("k" * 43, "€€")  # 6 bytes
    with pytest.raises(SessionTooLargeError) as caught:
        driver.set_item("k" * 43, "€€€")  # 9 bytes
    assert (caught.value.store, caught.value.size, caught.value.limit) == ("memory", 9, 8)


def test_the_memory_factory_returns_a_fresh_store() -> None:
    from hostsessions import drivers

    first, second = drivers.memory(), drivers.memory()
    first.set_item("k" * 43, "only in the first")
    assert second.get_item("k" * 43) is None


def test_expiry_follows_the_clock_the_driver_was_given() -> None:
    now = [1_000.0]
    driver = MemoryDriver(clock=lambda: now[0])
    driver.write("k" * 43, "short-lived", expires_at=1_010.0, expected_version=None)
    assert driver.get_item("k" * 43) == "short-lived"
    now[0] = 1_010.0
    assert driver.get_item("k" * 43) is None
    assert driver.sweep() == 1

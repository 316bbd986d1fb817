"""The driver conformance suite, against the Firestore emulator, for both flavours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from hostsessions_gcp import AsyncFirestoreDriver, FirestoreDriver, firestore, layout

from hostsessions.testing import AsyncDriverConformance, DriverConformance

# The suite's keys are 43-character session IDs in the default collection, written
# without an expiry: Firestore's 1 MiB document limit leaves this much for the payload.
PAYLOAD_LIMIT = layout.DOCUMENT_SIZE_LIMIT - 139
assert layout.payload_limit("hostsessions", "k" * 43, None) == PAYLOAD_LIMIT


class TestFirestoreDriver(DriverConformance):
    payload_limit = PAYLOAD_LIMIT
    supports_sweep = True

    @pytest.fixture
    def driver(self, firestore_project: str) -> FirestoreDriver:
        return firestore()


class TestAsyncFirestoreDriver(AsyncDriverConformance):
    payload_limit = PAYLOAD_LIMIT

    @pytest.fixture
    def async_driver_factory(
        self, firestore_project: str
    ) -> Callable[[], Awaitable[AsyncFirestoreDriver]]:
        async def make() -> AsyncFirestoreDriver:
            return firestore().to_async()

        return make

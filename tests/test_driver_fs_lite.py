"""The fs-lite layout: unstorage's one file per session, shared with an Astro site.

The conformance suite, then what this layout must get right: the exact paths and bytes
unstorage uses, Astro's in-place writes seen by Python, keys that never steer a path,
conditional writes across processes, and the sweep that reads payloads for expiry.
The Astro site itself is driven in tests/astro/test_astro_e2e.py.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from hostsessions import SessionConfig, SessionTooLargeError, cli
from hostsessions.adapters import build_driver, resolve_driver_name
from hostsessions.codec import UNDEFINED, JSMap, stringify
from hostsessions.drivers import FsLiteDriver, fs_lite
from hostsessions.drivers.base import WriteConflict
from hostsessions.drivers.fs_driver import DEFAULT_MAX_PAYLOAD_BYTES, STALE_TEMP_SECONDS
from hostsessions.testing import DriverConformance, MinimalDriverConformance

REPO_ROOT = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="POSIX signals and flock")


def astro_id() -> str:
    """An ID as Astro mints it: crypto.randomUUID()."""
    return str(uuid.uuid4())


def create(driver: FsLiteDriver, key: str, payload: str) -> str:
    return driver.write(key, payload, expires_at=None, expected_version=None)


def session_payload(**entries: tuple[object, int | None]) -> str:
    """A session as Astro stores it: a Map of key -> {data, expires}."""
    stored = JSMap()
    for key, (data, expires_ms) in entries.items():
        stored[key] = (
            {"data": data} if expires_ms is None else {"data": data, "expires": expires_ms}
        )
    return stringify(stored)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path / "astro" / "sessions"


@pytest.fixture
def driver(base: Path) -> FsLiteDriver:
    return FsLiteDriver(base)


class TestFsLiteDriver(DriverConformance):
    payload_limit = DEFAULT_MAX_PAYLOAD_BYTES

    @pytest.fixture
    def driver(self, base: Path) -> FsLiteDriver:
        return FsLiteDriver(base)

    # The layout has no place for a record's expiry (unstorage writes the bare payload),
    # so these four behaviours of the suite differ on purpose; each is replaced by what
    # this driver does instead. Per-key expiry, which lives in the payload, is honoured by
    # the core (tests/astro and test_a_key_expired_in_the_payload_reads_as_absent below).

    def test_record_whose_expiry_has_passed_reads_as_none(self, driver: FsLiteDriver) -> None:
        key = astro_id()
        driver.write(key, "stale", expires_at=time.time() - 60, expected_version=None)
        record = driver.read(key)
        assert record is not None
        assert (record.payload, record.expires_at) == ("stale", None)

    def test_record_expiring_in_the_future_reads_with_its_expiry(
        self, driver: FsLiteDriver
    ) -> None:
        key = astro_id()
        driver.write(key, "fresh", expires_at=time.time() + 3600, expected_version=None)
        record = driver.read(key)
        assert record is not None
        assert record.expires_at is None

    def test_update_replaces_the_expiry_including_clearing_it(self, driver: FsLiteDriver) -> None:
        key = astro_id()
        version = driver.write(key, "v1", expires_at=time.time() + 60, expected_version=None)
        driver.write(key, "v2", expires_at=time.time() + 120, expected_version=version)
        record = driver.read(key)
        assert record is not None
        assert (record.payload, record.expires_at) == ("v2", None)

    def test_expired_record_can_be_created_again_with_expected_version_none(
        self, driver: FsLiteDriver
    ) -> None:
        key = astro_id()
        driver.write(key, "expired", expires_at=time.time() - 60, expected_version=None)
        with pytest.raises(WriteConflict):
            driver.write(key, "again", expires_at=None, expected_version=None)

    # Sweeping reads expiries from session payloads, not the suite's plain strings: the
    # suite's two sweep checks, with payloads.

    def test_sweep_removes_only_expired_records(self, driver: FsLiteDriver) -> None:
        now_ms = int(time.time() * 1000)
        expired, live, forever = astro_id(), astro_id(), astro_id()
        create(driver, expired, session_payload(a=(1, now_ms - 60_000)))
        create(driver, live, session_payload(a=(1, now_ms + 3_600_000)))
        create(driver, forever, session_payload(a=(1, None)))

        assert driver.sweep() == 1
        assert driver.sweep() == 0
        assert [driver.read(key) is None for key in (expired, live, forever)] == [
            True,
            False,
            False,
        ]

    def test_sweep_judges_expiry_by_its_now_argument(self, driver: FsLiteDriver) -> None:
        now_ms = int(time.time() * 1000)
        soon, later = astro_id(), astro_id()
        create(driver, soon, session_payload(a=(1, now_ms + 3_600_000)))
        create(driver, later, session_payload(a=(1, now_ms + 3 * 3_600_000)))

        assert driver.sweep(now=time.time() + 7200) == 1
        assert driver.read(soon) is None
        assert driver.read(later) is not None


class TestFsLiteDriverMinimalProtocol(MinimalDriverConformance):
    payload_limit = 4096

    @pytest.fixture
    def driver(self, base: Path) -> FsLiteDriver:
        return FsLiteDriver(base, max_payload_bytes=self.payload_limit)


# Choosing it.


def test_it_is_chosen_by_name_with_its_base(base: Path) -> None:
    chosen = build_driver(resolve_driver_name("fs-lite", {"base": str(base)}))

    assert isinstance(chosen, FsLiteDriver)
    assert chosen.base == str(base)
    assert SessionConfig(driver="fs-lite", options={"base": str(base)}).driver == "fs-lite"


def test_the_factory_makes_the_base_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert fs_lite("sessions").base == str(tmp_path / "sessions")


def test_a_base_is_required() -> None:
    with pytest.raises(ValueError, match="base"):
        FsLiteDriver("")


# The layout: unstorage's exact path and bytes.


def test_a_session_is_the_bare_payload_at_base_slash_id(base: Path, driver: FsLiteDriver) -> None:
    key = astro_id()
    payload = session_payload(cart=(["sku-1"], None))

    driver.write(key, payload, expires_at=None, expected_version=None)

    assert (base / key).read_bytes() == payload.encode("utf-8")
    assert sorted(path.name for path in base.iterdir()) == [".lock", key]


def test_a_file_written_in_place_as_astro_does_is_read(base: Path, driver: FsLiteDriver) -> None:
    key = astro_id()
    payload = session_payload(user=("ada", None))
    base.mkdir(parents=True)
    (base / key).write_text(payload, encoding="utf-8")

    record = driver.read(key)

    assert record is not None
    assert record.payload == payload


def test_a_rewrite_in_place_is_a_new_version(base: Path, driver: FsLiteDriver) -> None:
    key = astro_id()
    version = driver.write(
        key, session_payload(n=(1, None)), expires_at=None, expected_version=None
    )
    # Astro truncates and rewrites the same file (same inode), with the same length.
    with open(base / key, "r+b") as file:
        file.truncate(0)
        file.write(session_payload(n=(2, None)).encode())

    record = driver.read(key)
    assert record is not None
    assert record.version != version
    with pytest.raises(WriteConflict):
        driver.write(key, session_payload(n=(3, None)), expires_at=None, expected_version=version)
    assert (base / key).read_text() == session_payload(n=(2, None))


def test_a_file_astro_is_still_writing_is_read_once_whole(base: Path, driver: FsLiteDriver) -> None:
    key = astro_id()
    whole = session_payload(cart=(["sku-1", "sku-2"], None))
    base.mkdir(parents=True)
    (base / key).write_text(whole[:5])  # truncated, then written in two steps
    finisher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; time.sleep(0.001); open(sys.argv[1], 'w').write(sys.argv[2])",
            str(base / key),
            whole,
        ]
    )
    try:
        deadline = time.monotonic() + 5
        while (record := driver.read(key)) is not None and record.payload != whole:
            assert time.monotonic() < deadline
    finally:
        finisher.wait(timeout=30)
    assert record is not None
    assert record.payload == whole


HOSTILE_KEYS = [
    "../../etc/passwd",
    "a/b" * 8,
    "aaaaaaaaaaaaaaaa/../../../../outside",
    "/absolute/path/to/somewhere",
    "..\\..\\windows\\system32",
    "",
    ".",
    "..",
    ".lock",
    "." + "a" * 20,
    "x" * 257,
    "a" * 20 + "\x00",
    "a" * 20 + ":b",
    "a" * 15,
    "é" * 20,
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
def test_a_hostile_key_never_creates_or_reads_a_file(tmp_path: Path, key: str) -> None:
    base = tmp_path / "sessions"
    base.mkdir()
    (base / ".lock").write_text("not a session")
    driver = FsLiteDriver(base)
    before = sorted(tmp_path.rglob("*"))

    assert driver.read(key) is None
    driver.delete(key)
    with pytest.raises(ValueError, match="session IDs"):
        driver.write(key, "[1]", expires_at=None, expected_version=None)

    assert sorted(tmp_path.rglob("*")) == before
    assert (base / ".lock").read_text() == "not a session"


def test_an_oversized_payload_is_refused_before_touching_disk(base: Path) -> None:
    driver = FsLiteDriver(base, max_payload_bytes=10)

    with pytest.raises(SessionTooLargeError):
        driver.write(astro_id(), "é" * 6, expires_at=None, expected_version=None)

    assert not base.exists()


def test_new_files_and_the_folder_are_private(base: Path, driver: FsLiteDriver) -> None:
    key = astro_id()
    driver.write(key, "[1]", expires_at=None, expected_version=None)

    assert (base / key).stat().st_mode & 0o777 == 0o600
    assert base.stat().st_mode & 0o777 == 0o700


# Conditional writes across processes.

INCREMENT = """
import random, sys, time
from pathlib import Path
from hostsessions.drivers.fs_lite_driver import FsLiteDriver
from hostsessions.drivers.base import WriteConflict
driver, key, go = FsLiteDriver(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.002)
for _ in range(int(sys.argv[4])):
    while True:
        record = driver.read(key)
        count = 0 if record is None else int(record.payload[1:-1])
        try:
            driver.write(key, f"[{count + 1}]", expires_at=None,
                         expected_version=None if record is None else record.version)
            break
        except WriteConflict:
            time.sleep(random.uniform(0, 0.002))
"""


@POSIX_ONLY
def test_processes_sharing_the_folder_never_lose_an_increment(
    tmp_path: Path, base: Path, driver: FsLiteDriver
) -> None:
    key, go = astro_id(), tmp_path / "go"
    processes, increments = 4, 40
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", INCREMENT, str(base), key, str(go), str(increments)], env=env
        )
        for _ in range(processes)
    ]
    go.touch()
    for worker in workers:
        assert worker.wait(timeout=120) == 0
    assert driver.get_item(key) == f"[{processes * increments}]"
    assert not [path for path in base.iterdir() if path.name.endswith(".tmp")]


# Sweeping: the payload is the only place expiries live.


def test_sweep_removes_sessions_whose_every_key_expired(base: Path, driver: FsLiteDriver) -> None:
    now_ms = int(time.time() * 1000)
    expired, live, forever, not_a_session = (astro_id() for _ in range(4))
    mixed = secrets.token_urlsafe(32)
    driver.write(
        expired,
        session_payload(a=(1, now_ms - 1000), b=(2, now_ms - 5)),
        expires_at=None,
        expected_version=None,
    )
    driver.write(
        live,
        session_payload(a=(1, now_ms - 1000), b=(2, now_ms + 60_000)),
        expires_at=None,
        expected_version=None,
    )
    driver.write(forever, session_payload(a=(1, None)), expires_at=None, expected_version=None)
    driver.write(
        mixed,
        session_payload(a=(1, now_ms - 1000), b=(2, None)),
        expires_at=None,
        expected_version=None,
    )
    driver.write(not_a_session, "not devalue", expires_at=None, expected_version=None)

    assert driver.sweep() == 1
    assert driver.read(expired) is None
    assert all(driver.read(key) is not None for key in (live, forever, mixed, not_a_session))
    assert driver.sweep(now=time.time() + 120) == 1
    assert driver.read(live) is None


def test_sweep_removes_stale_temporary_files_only(base: Path, driver: FsLiteDriver) -> None:
    driver.write(astro_id(), "[1]", expires_at=None, expected_version=None)
    stale, fresh = base / f".{astro_id()}.1.tmp", base / f".{astro_id()}.2.tmp"
    stale.write_text("[")
    fresh.write_text("[")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))

    assert driver.sweep() == 0
    assert not stale.exists()
    assert fresh.exists()


def test_sweep_of_a_missing_folder_removes_nothing(driver: FsLiteDriver) -> None:
    assert driver.sweep() == 0


def test_overwrites_leave_no_temporary_file_behind(tmp_path: Path) -> None:
    """The record's old file is swapped out on Linux (renameat2): it must not linger."""
    driver = FsLiteDriver(tmp_path / "lite")
    key = "a" * 43
    version = None
    for n in range(10):
        version = driver.write(key, f"v{n}", expires_at=None, expected_version=version)
    assert [p.name for p in (tmp_path / "lite").iterdir() if p.name.endswith(".tmp")] == []


def test_fsync_writes_round_trip_too(base: Path) -> None:
    driver = FsLiteDriver(base, fsync=True)
    key = astro_id()

    version = create(driver, key, "[1]")
    driver.write(key, "[2]", expires_at=None, expected_version=version)

    assert (base / key).read_text() == "[2]"
    assert not [path for path in base.iterdir() if path.name.endswith(".tmp")]


def test_hostsessions_gc_sweeps_an_astro_folder(
    base: Path, driver: FsLiteDriver, capsys: pytest.CaptureFixture[str]
) -> None:
    now_ms = int(time.time() * 1000)
    expired, live = astro_id(), astro_id()
    base.mkdir(parents=True)
    # Written as Astro writes them: in place, with `expires: undefined` for a key without TTL.
    (base / expired).write_text(session_payload(otp=("123", now_ms - 1)))
    (base / live).write_text(stringify(JSMap({"cart": {"data": [], "expires": UNDEFINED}})))

    assert cli.main(["gc", "--driver", "fs-lite", "--option", f"base={base}"]) == 0

    assert "removed 1 expired session(s) with FsLiteDriver" in capsys.readouterr().out
    assert sorted(path.name for path in base.iterdir() if not path.name.startswith(".")) == [live]

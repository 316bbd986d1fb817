"""The filesystem driver: the conformance suite, then what only a filesystem can get wrong.

Paths (a session ID must never steer a path), atomic replacement (a crash never leaves a
torn record), locking across processes, unreadable files and permissions.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from hostsessions import SessionTooLargeError
from hostsessions.adapters import build_driver, resolve_driver_name
from hostsessions.drivers import _files, _fs_records, fs_driver
from hostsessions.drivers._fs_records import MIN_SLOT_SIZE
from hostsessions.drivers.base import Record, WriteConflict
from hostsessions.drivers.fs_driver import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    SPARES_PER_FOLDER,
    STALE_TEMP_SECONDS,
    AsyncFsDriver,
    FsDriver,
)
from hostsessions.state import TOKEN_HISTORY, new_write_token
from hostsessions.testing import (
    AsyncDriverConformance,
    DriverConformance,
    MinimalDriverConformance,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and signals")


def new_key() -> str:
    return secrets.token_urlsafe(32)


def record_path(base: Path, key: str) -> Path:
    """Where the documented layout puts ``key``'s record."""
    name = hashlib.sha256(key.encode()).hexdigest()
    return base / name[:2] / f"{name}.session"


def all_files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


def run_python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter that imports this checkout's hostsessions."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path / "store" / "sessions"


@pytest.fixture
def driver(base: Path) -> FsDriver:
    return FsDriver(base)


class TestFsDriver(DriverConformance):
    payload_limit = DEFAULT_MAX_PAYLOAD_BYTES

    @pytest.fixture
    def driver(self, base: Path) -> FsDriver:
        return FsDriver(base)


class TestFsDriverWithFsync(DriverConformance):
    payload_limit = DEFAULT_MAX_PAYLOAD_BYTES

    @pytest.fixture
    def driver(self, base: Path) -> FsDriver:
        return FsDriver(base, fsync=True)


class TestAsyncFsDriver(AsyncDriverConformance):
    """The face the ASGI middleware uses: writes on the event loop when they can."""

    payload_limit = DEFAULT_MAX_PAYLOAD_BYTES

    @pytest.fixture
    def async_driver_factory(self, base: Path) -> Callable[[], Awaitable[AsyncFsDriver]]:
        async def make() -> AsyncFsDriver:
            return FsDriver(base).to_async()

        return make


class TestAsyncFsDriverWithFsync(AsyncDriverConformance):
    payload_limit = DEFAULT_MAX_PAYLOAD_BYTES

    @pytest.fixture
    def async_driver_factory(self, base: Path) -> Callable[[], Awaitable[AsyncFsDriver]]:
        async def make() -> AsyncFsDriver:
            return FsDriver(base, fsync=True).to_async()

        return make


class TestFsDriverMinimalProtocol(MinimalDriverConformance):
    payload_limit = 4096

    @pytest.fixture
    def driver(self, base: Path) -> FsDriver:
        return FsDriver(base, max_payload_bytes=self.payload_limit)


# Keys: a session ID never reaches a path unchecked.

HOSTILE_KEYS = [
    "../../etc/passwd",
    "../../../../../../../../../../tmp/hostsessions-escape",
    "a/b",
    "aaaaaaaaaaaaaaaa/../../../../outside",
    "/absolute/path/to/somewhere",
    "..\\..\\windows\\system32",
    "",
    ".",
    "..",
    "x" * 257,
    "x" * 10_000,
    "a" * 20 + "\x00",
    "a" * 20 + "\n",
    "a" * 15,
    " " * 20,
    "é" * 20,
    "aaaaaaaaaaaaaaaa.session",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS, ids=range(len(HOSTILE_KEYS)))
def test_a_hostile_key_never_creates_or_reads_a_file(
    tmp_path: Path, base: Path, driver: FsDriver, key: str
) -> None:
    decoy = tmp_path / "etc" / "passwd"
    decoy.parent.mkdir()
    decoy.write_text("root:x:0:0")
    before = all_files(tmp_path)

    with pytest.raises(ValueError, match="session IDs"):
        driver.write(key, "payload", expires_at=None, expected_version=None)
    with pytest.raises(ValueError, match="session IDs"):
        driver.set_item(key, "payload")
    assert driver.read(key) is None
    assert driver.get_item(key) is None
    driver.delete(key)
    driver.delete(key, expected_version="1")
    driver.remove_item(key)

    assert all_files(tmp_path) == before, "a hostile key created or removed a file"
    assert not base.exists(), "a hostile key created the store folder"
    assert decoy.read_text() == "root:x:0:0"


def test_keys_of_16_and_256_characters_are_stored(driver: FsDriver) -> None:
    for key in ("k" * 16, "K-_9" * 64):
        version = driver.write(key, "ok", expires_at=None, expected_version=None)
        assert driver.read(key) == Record("ok", version, None)


def test_keys_differing_only_in_case_are_different_sessions(driver: FsDriver) -> None:
    """Case-insensitive filesystems (macOS, Windows) must not merge them: names are hashes."""
    lower, upper = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    driver.set_item(lower, "lower")
    driver.set_item(upper, "upper")
    assert (driver.get_item(lower), driver.get_item(upper)) == ("lower", "upper")


# Layout and file format.


def test_a_record_lives_in_a_fan_out_folder_under_a_hashed_name(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    driver.write(key, "payload", expires_at=None, expected_version=None)
    path = record_path(base, key)
    assert path.is_file()
    listing = " ".join(str(p) for p in base.rglob("*"))
    assert key not in listing, "a directory listing must not reveal session IDs"


def test_a_record_file_is_two_slots_of_a_json_header_line_then_the_payload(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    payload = 'Grüße {"a": 1}\nsecond line'
    version = driver.write(key, payload, expires_at=1_900_000_000.5, expected_version=None)
    blob = record_path(base, key).read_bytes()
    assert len(blob) == 2 * MIN_SLOT_SIZE
    header_line, _, rest = blob.partition(b"\n")
    header = json.loads(header_line)
    assert header == {
        "format": "hostsessions-fs/2",
        "seq": "0000000000000001",
        "crc": header["crc"],
        "version": version,
        "expires_at": 1_900_000_000.5,
        "length": len(payload.encode()),
    }
    assert rest[: header["length"]].decode() == payload
    assert blob[MIN_SLOT_SIZE:] == bytes(MIN_SLOT_SIZE), "the second slot is still empty"

    second = driver.write(key, "next", expires_at=None, expected_version=version)
    blob = record_path(base, key).read_bytes()
    header_line, _, rest = blob[MIN_SLOT_SIZE:].partition(b"\n")
    assert json.loads(header_line)["seq"] == "0000000000000002"
    assert json.loads(header_line)["version"] == second
    assert rest[:4] == b"next"
    first_line = blob.partition(b"\n")[0]
    assert json.loads(first_line)["version"] == version, "the first slot keeps the one before"


def test_the_store_folder_is_created_by_the_first_write_only(base: Path) -> None:
    driver = FsDriver(base)
    driver.read(new_key())
    driver.delete(new_key())
    assert driver.sweep() == 0
    assert not base.exists()
    driver.set_item(new_key(), "first")
    assert base.is_dir()


def test_a_relative_base_is_fixed_when_the_driver_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    driver = FsDriver("relative/sessions")
    monkeypatch.chdir(tmp_path.parent)
    key = new_key()
    driver.set_item(key, "here")
    assert record_path(tmp_path / "relative" / "sessions", key).is_file()


@POSIX_ONLY
def test_only_the_owner_can_read_the_store(base: Path, driver: FsDriver) -> None:
    key = new_key()
    driver.set_item(key, "secret")
    path = record_path(base, key)
    assert base.stat().st_mode & 0o777 == 0o700
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


def test_an_oversized_payload_is_refused_in_utf8_bytes_before_touching_disk(base: Path) -> None:
    driver = FsDriver(base, max_payload_bytes=10)
    with pytest.raises(SessionTooLargeError) as caught:
        driver.set_item(new_key(), "€" * 4)  # 12 bytes
    assert (caught.value.store, caught.value.size, caught.value.limit) == ("fs", 12, 10)
    assert not base.exists()


# Atomic writes.


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_a_write_that_fails_before_the_rename_keeps_the_old_record_and_no_temp_file(
    base: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    driver = FsDriver(base, fsync=failing == "fsync")
    key = new_key()
    version = driver.write(key, "old", expires_at=None, expected_version=None)

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failing, disk_full)
    with pytest.raises(OSError, match="No space"):
        driver.write(key, "new", expires_at=None, expected_version=version)
    monkeypatch.undo()

    assert driver.read(key) == Record("old", version, None)
    assert [p.name for p in record_path(base, key).parent.iterdir() if p.suffix == ".tmp"] == []


# A writer of a new version of the record sys.argv[2] under sys.argv[1], about to crash.
CRASHING_WRITER = """
import os, sys
import hostsessions.drivers.fs_driver as fs
driver = fs.FsDriver(sys.argv[1])
version = driver.read(sys.argv[2]).version
"""
CRASH_BETWEEN_STAGING_AND_RENAME = (
    CRASHING_WRITER
    + """
fs._replace = lambda source, target: os._exit(9)   # the process dies right here
driver.write(sys.argv[2], "new" * 1000, expires_at=None, expected_version=version)
"""
)


@POSIX_ONLY
def test_a_process_that_dies_mid_write_leaves_the_old_record_and_sweep_clears_its_temp_file(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    version = driver.write(key, "old", expires_at=None, expected_version=None)

    died = run_python(CRASH_BETWEEN_STAGING_AND_RENAME, str(base), key)
    assert died.returncode == 9, died.stderr

    assert driver.read(key) == Record("old", version, None), "a crash changed the record"
    temps = list(record_path(base, key).parent.glob("*.tmp"))
    assert len(temps) == 1, "the crashed write should have left its staged file"
    assert driver.sweep() == 0
    assert temps[0].exists(), "sweep must leave a temp file that may belong to a live write"
    aged = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(temps[0], (aged, aged))
    assert driver.sweep() == 0, "temp files are not records and are not counted"
    assert not temps[0].exists(), "sweep must remove a stale temp file"
    assert driver.read(key) == Record("old", version, None)


WRITE_FOREVER = """
import hashlib, sys
from hostsessions.drivers.fs_driver import FsDriver
driver = FsDriver(sys.argv[1])
n = 0
while True:
    body = BODY
    driver.set_item(sys.argv[2], hashlib.sha256(body.encode()).hexdigest() + ":" + body)
    n += 1
"""


@contextlib.contextmanager
def writing_forever(body: str, base: Path, key: str, driver: FsDriver) -> Iterator[None]:
    """Another process sets ``key`` to "<sha256 of body>:<body>" over and over (``body``: a
    Python expression of the count ``n``), until the block ends, when it is killed."""
    script = WRITE_FOREVER.replace("BODY", body)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", script, str(base), key], env=env)
    try:
        deadline = time.monotonic() + 30
        while driver.get_item(key) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        yield
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()


@POSIX_ONLY
def test_killing_a_writer_at_any_moment_never_leaves_a_torn_record(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    for _ in range(5):
        with writing_forever("str(n) * (1 + n % 3000)", base, key, driver):
            time.sleep(secrets.randbelow(200) / 1000)  # let it run on for 0-200 ms
        value = driver.get_item(key)
        assert value is not None, "the writer never wrote (or a kill emptied the record)"
        digest, _, body = value.partition(":")
        assert hashlib.sha256(body.encode()).hexdigest() == digest, "a torn record was read"


# Rewriting a record in place: the free slot, never the live one.

CRASH_MID_SLOT_WRITE = (
    CRASHING_WRITER
    + """
real_write = os.write

def half_then_die(fd, data):
    real_write(fd, bytes(data)[: len(data) // 2])
    os._exit(9)   # the process dies with the slot half written

os.write = half_then_die
driver.write(sys.argv[2], "new" * 300, expires_at=None, expected_version=version)
"""
)


@POSIX_ONLY
def test_a_process_killed_mid_rewrite_leaves_the_record_before_it(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    first = driver.write(key, "one" * 300, expires_at=None, expected_version=None)
    version = driver.write(key, "two" * 300, expires_at=None, expected_version=first)
    before = record_path(base, key).read_bytes()

    died = run_python(CRASH_MID_SLOT_WRITE, str(base), key)
    assert died.returncode == 9, died.stderr

    after = record_path(base, key).read_bytes()
    assert after != before, "the dying write should have reached the file"
    assert driver.read(key) == Record("two" * 300, version, None)
    newest = driver.write(key, "three", expires_at=None, expected_version=version)
    assert driver.read(key) == Record("three", newest, None)
    assert {p.name for p in record_path(base, key).parent.iterdir()} == {
        ".lock",
        record_path(base, key).name,
    }, "a rewrite in place leaves no other file"


@POSIX_ONLY
def test_readers_never_see_a_record_another_process_is_rewriting_half_written(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    seen: set[str] = set()
    # 64 KB records of one size, all rewritten in place: copies long enough for reads to
    # overlap them.
    with writing_forever('f"{n:08d}" * 8000', base, key, driver):
        for _ in range(6000):
            value = driver.get_item(key)
            assert value is not None, "a record being rewritten read as absent"
            digest, _, body = value.partition(":")
            assert hashlib.sha256(body.encode()).hexdigest() == digest, "a torn record was read"
            seen.add(body[:8])
    assert len(seen) > 10, "the writer should have rewritten the record while it was read"


def test_a_damaged_slot_reads_as_the_record_before_it(base: Path, driver: FsDriver) -> None:
    """What a power loss in the middle of writing a slot out leaves (with fsync=False)."""
    key = new_key()
    first = driver.write(key, "first", expires_at=None, expected_version=None)
    driver.write(key, "second", expires_at=None, expected_version=first)
    path = record_path(base, key)
    blob = bytearray(path.read_bytes())
    where = blob.index(b"second")
    blob[where] ^= 0x20
    path.write_bytes(bytes(blob))
    assert driver.read(key) == Record("first", first, None)


def test_a_record_file_under_another_sessions_name_is_not_read_as_that_session(
    base: Path, driver: FsDriver, caplog: pytest.LogCaptureFixture
) -> None:
    """A reader holding a file that an overwrite swapped out and another session's write
    then reused reads that file's bytes: the checksum covers the record's name."""
    mine, other = new_key(), new_key()
    driver.write(mine, "mine", expires_at=None, expected_version=None)
    driver.write(other, "someone else's", expires_at=None, expected_version=None)
    record_path(base, mine).write_bytes(record_path(base, other).read_bytes())
    with caplog.at_level(logging.WARNING, logger="hostsessions.drivers.fs_driver"):
        assert driver.read(mine) is None
    assert "unreadable session record" in caplog.text
    assert driver.get_item(other) == "someone else's"


FORMAT_1_RECORD = (
    b'{"format":"hostsessions-fs/1","version":"v1","expires_at":1900000000.5,'
    b'"length":9,"token":"t1"}\n'
    b"old store"
)


def test_records_written_by_earlier_versions_are_read_and_rewritten_in_the_new_format(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    path = record_path(base, key)
    path.parent.mkdir(parents=True)
    path.write_bytes(FORMAT_1_RECORD)

    assert driver.read(key) == Record("old store", "v1", 1_900_000_000.5, "t1")
    with pytest.raises(WriteConflict):
        driver.write(key, "lost", expires_at=None, expected_version="v0")
    version = driver.write(key, "new store", expires_at=None, expected_version="v1")

    assert driver.read(key) == Record("new store", version, None)
    assert path.read_bytes().startswith(b'{"format":"hostsessions-fs/2"')


def test_expired_records_written_by_earlier_versions_are_swept(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    path = record_path(base, key)
    path.parent.mkdir(parents=True)
    path.write_bytes(FORMAT_1_RECORD)
    assert driver.sweep(now=1_800_000_000) == 0
    assert driver.sweep(now=1_900_000_001) == 1
    assert not path.exists()


def test_a_record_that_outgrows_its_slots_moves_to_a_larger_file_and_back(
    base: Path, driver: FsDriver
) -> None:
    key = new_key()
    path = record_path(base, key)
    version = driver.write(key, "small", expires_at=None, expected_version=None)
    version = driver.write(key, "large " * 5000, expires_at=None, expected_version=version)
    assert driver.read(key) == Record("large " * 5000, version, None)
    assert path.stat().st_size > 2 * 30_000
    version = driver.write(key, "small again", expires_at=None, expected_version=version)
    assert driver.read(key) == Record("small again", version, None)
    assert path.stat().st_size == 2 * MIN_SLOT_SIZE


@pytest.mark.parametrize(
    ("expires_at", "token"),
    [
        (None, None),
        (1_900_000_000.25, "plain-token_1"),
        (1_900_000_000.25, " ".join(f"Zq3-x_token{n:x}" for n in range(TOKEN_HISTORY))),
        (float("inf"), 'tök\\en"x'),
        (-1e300, ""),
    ],
)
def test_every_header_a_write_makes_reads_back(
    driver: FsDriver, expires_at: float | None, token: str | None
) -> None:
    """Headers the fast reader does not take (escapes, a non-finite expiry) go through
    JSON; either way the record reads back as written, from a new file and in place."""
    key = new_key()
    expired = expires_at is not None and expires_at < 0
    version: str | None = None
    for payload in ("new file", "in place"):
        version = driver.write(
            key, payload, expires_at=expires_at, expected_version=version, token=token
        )
        if expired:
            assert driver.read(key) is None
            version = None  # an expired record counts as absent
        else:
            assert driver.read(key) == Record(payload, version, expires_at, token)
    assert record_path(Path(driver.base), key).stat().st_size == 2 * MIN_SLOT_SIZE


def test_the_headers_the_core_makes_are_read_without_the_json_decoder() -> None:
    """The fast reader takes a full token history (json.loads would cost more than the
    rest of a read); it is the same record either way."""
    history = " ".join(new_write_token() for _ in range(TOKEN_HISTORY))
    body = _fs_records.slot_body("a" * 64, "0f" * 16, 1_900_000_000.5, b"data", history)
    blob = _fs_records.new_file(body)
    fields, end = _fs_records.read_fields(blob, 0)
    assert fields == ("0f" * 16, 1_900_000_000.5, 4, history)
    assert blob[end : end + 5] == b"\ndata"


def test_a_slot_that_does_not_name_its_session_is_never_decoded() -> None:
    body = _fs_records.slot_body("a" * 64, "v", None, b"payload", None)
    blob = _fs_records.new_file(body)
    assert _fs_records.decode(blob, "a" * 64) is not None
    assert _fs_records.decode(blob, "b" * 64) is None


# Conditional writes across processes.

INCREMENT = """
import random, sys, time
from pathlib import Path
from hostsessions.drivers.fs_driver import FsDriver
from hostsessions.drivers.base import WriteConflict
driver, key, go = FsDriver(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
while not go.exists():
    time.sleep(0.002)
conflicts = 0
for _ in range(int(sys.argv[4])):
    while True:
        record = driver.read(key)
        count = 0 if record is None else int(record.payload)
        try:
            driver.write(key, str(count + 1), expires_at=None,
                         expected_version=None if record is None else record.version)
            break
        except WriteConflict:
            conflicts += 1
            time.sleep(random.uniform(0, 0.002))
print(conflicts)
"""


@POSIX_ONLY
def test_processes_sharing_the_folder_never_lose_an_increment(
    tmp_path: Path, base: Path, driver: FsDriver
) -> None:
    key, go = new_key(), tmp_path / "go"
    processes, increments = 4, 50
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", INCREMENT, str(base), key, str(go), str(increments)],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    go.touch()  # start them together
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * processes, outputs
    assert driver.get_item(key) == str(processes * increments)


def test_a_conflicting_write_leaves_no_temp_file(base: Path, driver: FsDriver) -> None:
    key = new_key()
    driver.write(key, "one", expires_at=None, expected_version=None)
    with pytest.raises(WriteConflict):
        driver.write(key, "two", expires_at=None, expected_version="stale")
    assert {p.name for p in record_path(base, key).parent.iterdir()} == {
        ".lock",
        record_path(base, key).name,
    }


# Unreadable files.

UNREADABLE = {
    "not JSON": b"this is not a record",
    "empty": b"",
    "truncated payload": b'{"format":"hostsessions-fs/1","version":"v","expires_at":null,'
    b'"length":10}\nshort',
    "header of the wrong shape": b'["format","hostsessions-fs/1"]\npayload',
    "unknown format": b'{"format":"other/9","version":"v","expires_at":null,"length":1}\nx',
    "payload not UTF-8": b'{"format":"hostsessions-fs/1","version":"v","expires_at":null,'
    b'"length":2}\n\xff\xfe',
}


@pytest.mark.parametrize("content", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_record_reads_as_absent_and_is_removed_with_a_warning(
    base: Path, driver: FsDriver, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    key = new_key()
    driver.set_item(key, "fine")
    path = record_path(base, key)
    path.write_bytes(content)

    with caplog.at_level(logging.WARNING, logger="hostsessions.drivers.fs_driver"):
        assert driver.read(key) is None
    assert not path.exists(), "the unreadable record should be removed"
    assert "unreadable session record" in caplog.text
    assert key not in caplog.text, "a log line must not carry a session ID"


def test_an_unreadable_record_counts_as_absent_for_writes(base: Path, driver: FsDriver) -> None:
    key = new_key()
    driver.set_item(key, "fine")
    record_path(base, key).write_bytes(b"garbage")
    with pytest.raises(WriteConflict):
        driver.write(key, "x", expires_at=None, expected_version="some-old-version")
    version = driver.write(key, "fresh", expires_at=None, expected_version=None)
    assert driver.read(key) == Record("fresh", version, None)


def test_sweep_removes_unreadable_records_and_keeps_good_ones(base: Path, driver: FsDriver) -> None:
    good, bad = new_key(), new_key()
    driver.set_item(good, "good")
    driver.set_item(bad, "bad")
    record_path(base, bad).write_bytes(b"garbage")
    assert driver.sweep() == 1
    assert not record_path(base, bad).exists()
    assert driver.get_item(good) == "good"


# Ways in: the driver name and the factory.


def test_the_fs_driver_name_builds_an_fs_driver_with_its_options(base: Path) -> None:
    driver = build_driver(resolve_driver_name("fs", {"base": str(base), "max_payload_bytes": 5}))
    assert isinstance(driver, FsDriver)
    assert driver.base == str(base)
    with pytest.raises(SessionTooLargeError):
        driver.set_item(new_key(), "too long")


def test_the_fs_factory_passes_its_options_on(base: Path) -> None:
    from hostsessions import drivers

    driver = drivers.fs(base=base, max_payload_bytes=5)
    assert isinstance(driver, FsDriver)
    assert driver.max_payload_bytes == 5


# Durability: what fsync=True adds.


def test_fsync_true_flushes_the_record_and_its_folder(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = FsDriver(base, fsync=True)
    key = new_key()
    version = driver.write(key, "first", expires_at=None, expected_version=None)
    flushed: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        flushed.append("folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    driver.write(key, "second", expires_at=None, expected_version=version)
    assert flushed == ["file", "folder"], "the record before the swap, the folder after"


def test_fsync_false_never_flushes(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    driver = FsDriver(base)
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    key = new_key()
    version = driver.write(key, "first", expires_at=None, expected_version=None)
    driver.write(key, "second", expires_at=None, expected_version=version)
    driver.delete(key)
    assert calls == []


# The swap: an overwrite that takes a new file leaves nothing behind, with or without
# renameat2. A record takes a new file when it outgrows its slots or shrinks far below them
# (and on every write with fsync=True); these payloads alternate, so every write does.


def outgrowing(n: int) -> str:
    """The n-th payload of a record that never fits the file the write before made."""
    return f"v{n}" * (5000 if n % 2 else 1)


@pytest.mark.parametrize("swap", ["exchange", "rename"])
def test_overwrites_leave_the_record_the_lock_and_at_most_a_few_spare_files(
    base: Path, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    if swap == "rename":
        monkeypatch.setattr(_files, "_exchange", None)
    driver = FsDriver(base)
    key = new_key()
    version = None
    for n in range(20):
        version = driver.write(key, outgrowing(n), expires_at=None, expected_version=version)
    assert driver.read(key) == Record(outgrowing(19), version, None)
    folder = record_path(base, key).parent
    names = {p.name for p in folder.iterdir()}
    assert {".lock", record_path(base, key).name} <= names
    spares = {name for name in names if name.endswith(".tmp")}
    if swap == "rename":
        assert spares == set(), "os.replace leaves nothing behind"
    else:
        # The swapped-out files are rewritten for the next records, not freed and made anew.
        assert 1 <= len(spares) <= SPARES_PER_FOLDER
    assert names - spares == {".lock", record_path(base, key).name}


def test_a_spare_file_that_is_removed_meanwhile_is_not_missed(base: Path) -> None:
    driver = FsDriver(base)
    key = new_key()
    version = driver.write(key, outgrowing(0), expires_at=None, expected_version=None)
    version = driver.write(key, outgrowing(1), expires_at=None, expected_version=version)
    spares = list(record_path(base, key).parent.glob("*.tmp"))
    assert spares
    for spare in spares:
        spare.unlink()  # another process's sweep, say
    version = driver.write(key, outgrowing(2), expires_at=None, expected_version=version)
    assert driver.read(key) == Record(outgrowing(2), version, None)


def test_a_spare_file_rewritten_with_a_shorter_record_holds_only_that_record(
    base: Path,
) -> None:
    driver = FsDriver(base)
    key, neighbour = keys_in_one_folder(2)
    version = None
    for payload in ("long " * 2000, "long " * 2000, "short", "short"):
        version = driver.write(key, payload, expires_at=None, expected_version=version)
        assert driver.read(key) == Record(payload, version, None)
    # The long record's file is kept; the next new record of the folder is written into it.
    assert [p.stat().st_size > 4096 for p in record_path(base, key).parent.glob("*.tmp")] == [True]
    version = driver.write(neighbour, "short too", expires_at=None, expected_version=None)
    assert driver.read(neighbour) == Record("short too", version, None)
    sizes = {p.stat().st_size for p in record_path(base, key).parent.glob("*.session")}
    assert sizes == {2 * MIN_SLOT_SIZE}


# Reads are not writes: the access time of a record is left alone.


@pytest.mark.skipif(not hasattr(os, "O_NOATIME"), reason="O_NOATIME is Linux's")
def test_reading_a_record_leaves_its_access_time_alone(base: Path) -> None:
    driver = FsDriver(base)
    key = new_key()
    version = driver.write(key, "one", expires_at=None, expected_version=None)
    path = record_path(base, key)
    # An access time before the last write: a relatime mount updates it on the next read.
    os.utime(path, ns=(1_000_000_000, path.stat().st_mtime_ns))

    assert driver.read(key) == Record("one", version, None)
    assert driver.sweep() == 0  # reads every header

    assert path.stat().st_atime_ns == 1_000_000_000


def test_a_record_the_process_may_not_read_without_updating_its_access_time_is_read(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """O_NOATIME is refused on a file another user owns (a store shared between users)."""
    driver = FsDriver(base)
    key = new_key()
    version = driver.write(key, "one", expires_at=None, expected_version=None)
    real_open = os.open

    def open_as_another_user(path: str, flags: int, *args: int, **kwargs: int) -> int:
        if flags & getattr(os, "O_NOATIME", 0):
            raise PermissionError(1, "Operation not permitted", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(fs_driver, "_read_flags", fs_driver._read_flags)  # restored after
    monkeypatch.setattr(os, "open", open_as_another_user)

    assert driver.read(key) == Record("one", version, None)
    assert driver.write(key, "two", expires_at=None, expected_version=version)
    assert driver.get_item(key) == "two"


def test_a_record_file_the_process_may_not_write_is_replaced_by_a_new_one(
    base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing in place needs write permission on the record file, replacing it only on
    its folder (a record file made read-only, or one another user owns in a shared store)."""
    driver = FsDriver(base)
    key = new_key()
    version = driver.write(key, "one", expires_at=None, expected_version=None)
    real_open = os.open

    def read_only_files(path: str, flags: int, *args: int, **kwargs: int) -> int:
        if path.endswith(".session") and flags & os.O_RDWR:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(fs_driver, "_read_flags", fs_driver._read_flags)  # restored after
    monkeypatch.setattr(os, "open", read_only_files)
    version = driver.write(key, "two", expires_at=None, expected_version=version)
    assert driver.read(key) == Record("two", version, None)


def test_stale_spare_files_are_swept_like_any_temporary_file(base: Path) -> None:
    driver = FsDriver(base)
    key = new_key()
    version = driver.write(key, outgrowing(0), expires_at=None, expected_version=None)
    driver.write(key, outgrowing(1), expires_at=None, expected_version=version)
    spares = list(record_path(base, key).parent.glob("*.tmp"))
    assert spares
    aged = time.time() - STALE_TEMP_SECONDS - 60
    for spare in spares:
        os.utime(spare, (aged, aged))
    driver.sweep()
    assert list(record_path(base, key).parent.glob("*.tmp")) == []
    assert driver.get_item(key) == outgrowing(1)


@POSIX_ONLY
def test_processes_sharing_the_folder_never_lose_an_increment_without_renameat2(
    tmp_path: Path, base: Path, driver: FsDriver
) -> None:
    """The same race as above, with the plain-rename fallback in every writer."""
    key, go = new_key(), tmp_path / "go"
    script = "import hostsessions.drivers._files as files; files._exchange = None\n" + INCREMENT
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(base), key, str(go), "50"],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    go.touch()
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0] * 4, outputs
    assert driver.get_item(key) == "200"


# The async face: writes on the loop, never waiting there for another writer.


@POSIX_ONLY
def test_an_async_write_waits_for_a_held_lock_off_the_event_loop(base: Path) -> None:
    sync = FsDriver(base)
    key = new_key()
    version = sync.write(key, "old", expires_at=None, expected_version=None)
    folder = record_path(base, key).parent

    async def scenario() -> None:
        # Another process's writer, as far as flock can tell: its own open file.
        holder = os.open(folder / ".lock", os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)
        try:
            write = asyncio.ensure_future(
                sync.to_async().write(key, "new", expires_at=None, expected_version=version)
            )
            ticks = 0
            for _ in range(20):  # the loop keeps running while the write waits
                await asyncio.sleep(0.005)
                ticks += 1
            assert not write.done(), "the write went ahead while the lock was held"
            assert ticks == 20
        finally:
            os.close(holder)  # releases the lock
        new_version = await asyncio.wait_for(write, 10)
        assert sync.read(key) == Record("new", new_version, None)

    asyncio.run(scenario())


@POSIX_ONLY
def test_an_async_delete_waits_for_a_held_lock_off_the_event_loop(base: Path) -> None:
    sync = FsDriver(base)
    key = new_key()
    sync.write(key, "doomed", expires_at=None, expected_version=None)
    folder = record_path(base, key).parent

    async def scenario() -> None:
        holder = os.open(folder / ".lock", os.O_RDWR)
        fcntl.flock(holder, fcntl.LOCK_EX)
        try:
            delete = asyncio.ensure_future(sync.to_async().delete(key))
            await asyncio.sleep(0.05)
            assert not delete.done()
            assert sync.read(key) is not None
        finally:
            os.close(holder)
        await asyncio.wait_for(delete, 10)
        assert sync.read(key) is None

    asyncio.run(scenario())


def test_the_asgi_store_uses_the_async_face(base: Path) -> None:
    from hostsessions.storage import async_store

    store = async_store(FsDriver(base))
    assert isinstance(store.driver, AsyncFsDriver)


# Sweeping on its own.


def keys_in_one_folder(count: int) -> list[str]:
    """Session IDs whose records share a fan-out folder."""
    keys: list[str] = []
    prefix = None
    while len(keys) < count:
        key = new_key()
        folder = hashlib.sha256(key.encode()).hexdigest()[:2]
        if prefix is None:
            prefix = folder
        if folder == prefix:
            keys.append(key)
    return keys


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_a_write_sweeps_its_folder_when_the_interval_has_passed(base: Path, flavour: str) -> None:
    *expired, live = keys_in_one_folder(6)
    for key in expired:
        FsDriver(base).write(key, "gone", expires_at=time.time() - 1, expected_version=None)
    driver = FsDriver(base, sweep_interval=0)  # every write finds its folder due

    if flavour == "sync":
        driver.write(live, "here", expires_at=None, expected_version=None)
    else:
        asyncio.run(driver.to_async().write(live, "here", expires_at=None, expected_version=None))

    folder = record_path(base, live).parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [".lock", record_path(base, live).name]
    )


def test_a_fresh_process_spreads_its_sweeps_over_the_first_interval(base: Path) -> None:
    *expired, live = keys_in_one_folder(3)
    for key in expired:
        FsDriver(base).write(key, "gone", expires_at=time.time() - 1, expected_version=None)
    driver = FsDriver(base)  # one hour: not due on the first write
    driver.write(live, "here", expires_at=None, expected_version=None)
    assert all(record_path(base, key).exists() for key in expired)


def test_sweep_interval_none_never_sweeps_on_its_own(base: Path) -> None:
    *expired, live = keys_in_one_folder(2)
    FsDriver(base).write(expired[0], "gone", expires_at=time.time() - 1, expected_version=None)
    FsDriver(base, sweep_interval=None).write(live, "here", expires_at=None, expected_version=None)
    assert record_path(base, expired[0]).exists()

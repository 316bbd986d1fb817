"""Where a filesystem-store request's cost grows with the number of stored sessions.

The same system calls as the ``fs`` driver's read and conditional write of one record,
each timed on its own, against a store of 10 records and one of 100,000 (``--large``)
laid out as the driver lays them out (256 folders), on records picked at random, for the
two ways the driver writes:

- in place (every write of a record that fits its file, without ``fsync``): open and read
  the record; open it to write; take the folder's lock; read it again; write the free
  slot;
- with a new file (a new record, one that outgrew its file, every write with ``fsync``;
  before format 2, every write): open and read the record; open and rewrite a kept file
  of the folder; take the folder's lock; read the record again; swap the two names with
  ``renameat2(RENAME_EXCHANGE)``.

No Python-level session work: what differs between the two columns is what the kernel
pays to reach cold files, inodes, pages and folder blocks.

Linux only (``renameat2``, ``O_NOATIME``). Run from the repository root::

    .venv/bin/python benchmarks/bench_fs_syscalls.py    # ~2 min, most of it making the files

The stores are made under ``--dir`` (default: a temporary folder) and removed afterwards.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

RENAME_EXCHANGE = 2
AT_FDCWD = -100
SWAP_STEPS: tuple[str, ...] = ("open record", "read record", "open kept file")
SWAP_STEPS += ("write kept file", "lock", "read record again", "swap")
IN_PLACE_STEPS: tuple[str, ...] = ("open record", "read record", "open record to write")
IN_PLACE_STEPS += ("lock", "read record again", "write free slot")
SLOT = 2048  # the driver's smallest slot: a file of two is one 4 KiB block


def make_store(root: str, count: int) -> list[tuple[str, str]]:
    """``count`` record files of two slots, a record of about 450 bytes in the first, in
    the driver's 256-folder layout."""
    os.mkdir(root)
    records = []
    for number in range(count):
        name = hashlib.sha256(f"{root}/{number}".encode()).hexdigest()
        folder = os.path.join(root, name[:2])
        if not os.path.isdir(folder):
            os.mkdir(folder)
            open(os.path.join(folder, ".lock"), "w").close()
        path = os.path.join(folder, name + ".session")
        with open(path, "wb") as file:
            file.write(RECORD.ljust(2 * SLOT, b"\0"))
        records.append((folder, path))
    return records


RECORD = b'{"format":"hostsessions-fs/2"}\n' + b"x" * 420


class InPlaceCycle:
    """The driver's read-then-write system calls when the record is rewritten in place."""

    steps = IN_PLACE_STEPS

    def __init__(self) -> None:
        self.free_slot: dict[str, int] = {}

    def run(self, folder: str, path: str, times: dict[str, list[int]] | None) -> None:
        clock = time.perf_counter_ns
        marks = [clock()]
        fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
        marks.append(clock())
        os.read(fd, 65536)
        marks.append(clock())
        os.close(fd)
        marks.append(clock())
        fd = os.open(path, os.O_RDWR | os.O_NOATIME)
        marks.append(clock())
        lock = os.open(os.path.join(folder, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        marks.append(clock())
        os.read(fd, 65536)
        marks.append(clock())
        slot = self.free_slot[path] = SLOT - self.free_slot.get(path, SLOT)
        os.lseek(fd, slot, os.SEEK_SET)
        os.write(fd, RECORD)
        marks.append(clock())
        os.close(lock)
        os.close(fd)
        if times is not None:
            spans = [marks[1] - marks[0], marks[2] - marks[1], marks[4] - marks[3]]
            spans += [marks[5] - marks[4], marks[6] - marks[5], marks[7] - marks[6]]
            for step, span in zip(self.steps, spans, strict=True):
                times[step].append(span)


class SwapCycle:
    """The driver's read-then-write system calls with a new file, a kept file per folder."""

    steps = SWAP_STEPS

    def __init__(self) -> None:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
        renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p]
        renameat2.argtypes += [ctypes.c_uint]
        self.renameat2 = renameat2
        self.kept: dict[str, list[str]] = {}

    def run(self, folder: str, path: str, times: dict[str, list[int]] | None) -> None:
        clock = time.perf_counter_ns
        marks = [clock()]
        fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
        marks.append(clock())
        blob = os.read(fd, 65536)
        marks.append(clock())
        os.close(fd)
        kept = self.kept.setdefault(folder, [])
        marks.append(clock())
        if kept:
            temp = kept.pop()
            fd = os.open(temp, os.O_WRONLY)
        else:
            temp = f"{path}.{os.urandom(8).hex()}.tmp"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        marks.append(clock())
        os.write(fd, blob)
        marks.append(clock())
        os.close(fd)
        marks.append(clock())
        lock = os.open(os.path.join(folder, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        marks.append(clock())
        fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
        os.read(fd, 65536)
        os.close(fd)
        marks.append(clock())
        if self.renameat2(AT_FDCWD, temp.encode(), AT_FDCWD, path.encode(), RENAME_EXCHANGE):
            raise OSError(ctypes.get_errno(), "renameat2")
        marks.append(clock())
        os.close(lock)
        kept.append(temp)
        if times is not None:
            spans = [marks[1] - marks[0], marks[2] - marks[1], marks[4] - marks[3]]
            spans += [marks[5] - marks[4], marks[7] - marks[6], marks[8] - marks[7]]
            spans += [marks[9] - marks[8]]
            for step, span in zip(self.steps, spans, strict=True):
                times[step].append(span)


def main() -> int:
    if sys.platform != "linux":
        print("Linux only: renameat2 and O_NOATIME")
        return 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=1_500, help="timed cycles per block")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()

    base = tempfile.mkdtemp(prefix="hostsessions-syscalls-", dir=args.dir)
    cycles: dict[str, InPlaceCycle | SwapCycle] = {
        "in place": InPlaceCycle(),
        "with a new file": SwapCycle(),
    }
    try:
        stores = {
            count: make_store(os.path.join(base, str(count)), count)
            for count in (args.small, args.large)
        }
        os.sync()  # a long-lived store is on disk, not only in the page cache
        chooser = random.Random(1)
        medians: dict[tuple[str, int, str], list[float]] = {}
        for round_number in range(args.rounds):
            order = list(stores) if round_number % 2 else list(stores)[::-1]
            for count in order:
                records = stores[count]
                for name, cycle in cycles.items():
                    for _ in range(200):  # warm-up: every folder gets its kept file
                        cycle.run(*chooser.choice(records), None)
                    times: dict[str, list[int]] = {step: [] for step in cycle.steps}
                    for _ in range(args.n):
                        cycle.run(*chooser.choice(records), times)
                    for step, spans in times.items():
                        median = statistics.median(spans) / 1000
                        medians.setdefault((name, count, step), []).append(median)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    with open("/proc/loadavg") as file:
        load = " ".join(file.read().split()[:3])
    print(f"# System calls of one fs read + write cycle (median µs; load {load})")
    for name, cycle in cycles.items():
        print(f"\nWriting {name}:\n")
        print(f"| step | {args.small:,} records | {args.large:,} records | difference |")
        print("| --- | --- | --- | --- |")
        totals = [0.0, 0.0]
        for step in cycle.steps:
            small = statistics.median(medians[(name, args.small, step)])
            large = statistics.median(medians[(name, args.large, step)])
            totals[0] += small
            totals[1] += large
            print(f"| {step} | {small:.2f} | {large:.2f} | {large - small:+.2f} |")
        print(f"| all | {totals[0]:.2f} | {totals[1]:.2f} | {totals[1] - totals[0]:+.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

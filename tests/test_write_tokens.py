"""Write tokens (docs/concurrency.md) tell every write apart: no two writes of a process
share one, and a forked worker never repeats its parent's."""

from __future__ import annotations

import os

import pytest

from hostsessions.state import new_write_token


def test_every_token_of_a_process_is_new() -> None:
    tokens = [new_write_token() for _ in range(10_000)]
    assert len(set(tokens)) == len(tokens)
    assert all(token and " " not in token for token in tokens), "a chain splits on spaces"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_worker_never_repeats_its_parents_tokens() -> None:
    new_write_token()  # the parent is past its first token when the worker forks
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the worker: its next tokens, to the parent
        try:
            os.close(read_end)
            os.write(write_end, " ".join(new_write_token() for _ in range(100)).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        worker = pipe.read().decode().split()
    os.waitpid(child, 0)
    parent = [new_write_token() for _ in range(100)]
    assert len(worker) == 100
    assert not set(worker) & set(parent)

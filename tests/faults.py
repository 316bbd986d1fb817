"""Network faults on 127.0.0.1 for the reliability tests: a store that accepts connections
and never answers, and a proxy that loses the reply to a write the store has applied."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def black_hole() -> Iterator[int]:
    """A listener on a free port of 127.0.0.1 that accepts every connection and never
    reads nor answers (a hung store, a firewall that drops packets after the handshake).
    Yields the port."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(128)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, name="black-hole", daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        server.close()


class ReplyDroppingProxy:
    """A TCP proxy to ``upstream_port`` that, for the next ``drops`` requests whose bytes
    ``matches``, forwards the request, lets the store answer, and then closes the client's
    connection without passing the answer on: the write is applied, its reply lost. The
    client's retry (on a new connection) then meets its own write.

    ``settle`` is how long it waits, once a matching request went through, before it cuts
    the connection (for HTTP/2, where the reply cannot be told from other frames)."""

    def __init__(
        self,
        upstream_port: int,
        matches: Callable[[bytes], bool],
        *,
        drops: int = 0,
        settle: float = 0.0,
    ) -> None:
        self.upstream_port = upstream_port
        self.matches = matches
        self.drops = drops
        self.settle = settle
        self.dropped = 0
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(128)
        self.port: int = self._server.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="proxy", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ReplyDroppingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            _Connection(self, client, upstream).start()

    def _claim_drop(self) -> bool:
        with self._lock:
            if self.dropped >= self.drops:
                return False
            self.dropped += 1
            return True


class _Connection:
    def __init__(self, proxy: ReplyDroppingProxy, client: socket.socket, upstream: socket.socket):
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.armed_at: float | None = None
        self.closed = threading.Event()
        self.request = b""  # what the client sent since the last reply (headers and body)

    def start(self) -> None:
        for target in (self._requests, self._replies):
            threading.Thread(target=target, daemon=True).start()

    def _close(self) -> None:
        self.closed.set()
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _requests(self) -> None:
        try:
            while chunk := self.client.recv(65536):
                self.request += chunk
                if (
                    self.armed_at is None
                    and self.proxy.matches(self.request)
                    and self.proxy._claim_drop()
                ):
                    self.armed_at = time.monotonic()
                self.upstream.sendall(chunk)
        except OSError:
            pass
        finally:
            if not self.closed.is_set():
                self._close()

    def _replies(self) -> None:
        try:
            while chunk := self.upstream.recv(65536):
                if self.armed_at is not None:
                    # the store answered the write: wait until it surely has, then cut
                    remaining = self.armed_at + self.proxy.settle - time.monotonic()
                    if remaining > 0:
                        time.sleep(remaining)
                    self._close()
                    return
                self.request = b""
                self.client.sendall(chunk)
        except OSError:
            pass
        finally:
            if not self.closed.is_set():
                self._close()


# ---- the lost-reply check, through a real server -----------------------------------------

COUNTER = "lostreplycounter"  # a key name the proxy can spot in a write's bytes


def _increment(n: int) -> int:
    return n + 1


def counter_asgi_app(config: Any) -> Any:
    from hostsessions.asgi import SessionMiddleware

    async def app(scope: Any, receive: Any, send: Any) -> None:
        session = scope["session"]
        if scope["path"] == "/open":
            session.set("opened", True)
            result: Any = "ok"
        elif scope["path"] == "/incr":
            result = await session.update(COUNTER, _increment, default=0)
        else:
            result = dict(await session.items())
        start = {"type": "http.response.start", "status": 200, "headers": []}
        await send(start)
        await send({"type": "http.response.body", "body": json.dumps(result).encode()})

    return SessionMiddleware(app, config)


def counter_wsgi_app(config: Any) -> Any:
    from hostsessions.wsgi import ENVIRON_KEY, SessionMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ[ENVIRON_KEY]
        if environ["PATH_INFO"] == "/open":
            session.set("opened", True)
            result: Any = "ok"
        elif environ["PATH_INFO"] == "/incr":
            result = session.update(COUNTER, _increment, default=0)
        else:
            result = dict(session.items())
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

    return SessionMiddleware(app, config)


def check_lost_reply_applied_once(config: Any, proxy: ReplyDroppingProxy, interface: str) -> None:
    """Open a session, then lose the reply to the write of one ``update`` increment: the
    request still answers 200 with 1, and the stored counter is 1, not 2."""
    import httpx

    from hostsessions.testing.server import serve_asgi, serve_wsgi

    serve = serve_asgi if interface == "asgi" else serve_wsgi
    app = counter_asgi_app(config) if interface == "asgi" else counter_wsgi_app(config)
    with serve(app) as url, httpx.Client(base_url=url, timeout=60) as browser:
        assert browser.get("/open").status_code == 200
        proxy.drops = proxy.dropped + 1  # arm: the next write of the counter loses its reply
        response = browser.get("/incr")
        assert response.status_code == 200, response.text[:500]
        assert proxy.dropped == proxy.drops, "the proxy never met the write it should cut"
        assert response.json() == 1
        stored = browser.get("/dump").json()
    assert stored == {"opened": True, COUNTER: 1}, f"applied more than once: {stored}"

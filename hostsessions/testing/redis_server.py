"""Real ``redis-server`` processes for tests: one server, a read-only replica, a small cluster.

Each server listens on a free port of 127.0.0.1, keeps nothing on disk (no RDB, no AOF)
and is stopped by :meth:`RedisServer.stop`. Standard library only, so a test suite can
start Redis before importing redis-py. ``redis-server`` and ``redis-cli`` come from
Debian's ``redis-server`` package (``scripts/setup.d/60-redis.sh`` installs it)::

    with RedisServer() as server:
        driver = hostsessions.drivers.redis(server.url)
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from .processes import stop_process

__all__ = ["RedisCluster", "RedisServer", "require_redis_tools"]

SETUP_HINT = (
    "redis-server and redis-cli are not installed: run scripts/bootstrap "
    "(scripts/setup.d/60-redis.sh installs Debian's redis-server package)"
)
#: Seconds a server may take to answer PING after it was started.
START_TIMEOUT = 15.0


def require_redis_tools() -> str:
    """The path of ``redis-server``, or an error that says how to install it."""
    server = shutil.which("redis-server")
    if server is None or shutil.which("redis-cli") is None:
        raise RuntimeError(SETUP_HINT)
    return server


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair() -> int:
    """A port P with P and P + 10000 both free (a cluster node also listens on P + 10000)."""
    for _ in range(200):
        port = random.randint(20000, 30000)  # noqa: S311 - a port number, not a secret
        if _port_is_free(port) and _port_is_free(port + 10000):
            return port
    raise RuntimeError("found no free pair of ports P and P + 10000 on 127.0.0.1")


def _ping(port: int, password: str | None) -> str:
    """The first line of the server's reply to PING (AUTH first when a password is set)."""
    with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
        if password is not None:
            connection.sendall(f"AUTH {password}\r\n".encode())
            connection.recv(256)
        connection.sendall(b"PING\r\n")
        return connection.recv(256).decode(errors="replace").strip()


class RedisServer:
    """One ``redis-server`` on 127.0.0.1 without persistence.

    ``password`` sets ``requirepass``; ``replica_of`` makes it a read-only replica of
    another server; ``extra_args`` go to ``redis-server`` as they are. The port stays the
    same across :meth:`stop` and :meth:`start`, so a test can stop Redis and restart it.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        password: str | None = None,
        replica_of: RedisServer | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.executable = require_redis_tools()
        self.port = port if port is not None else free_port_pair()
        self.password = password
        self.replica_of = replica_of
        self.extra_args = list(extra_args)
        self._dir = tempfile.TemporaryDirectory(prefix="hostsessions-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://[:password@]127.0.0.1:PORT/0``."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def directory(self) -> Path:
        """The server's working directory (its log is ``redis.log`` there)."""
        return Path(self._dir.name)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def command_line(self) -> list[str]:
        args = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--logfile", "redis.log",
            "--daemonize", "no",
        ]  # fmt: skip
        if self.password is not None:
            args += ["--requirepass", self.password]
        if self.replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(self.replica_of.port)]
            if self.replica_of.password is not None:
                args += ["--masterauth", self.replica_of.password]
        return args + self.extra_args

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING."""
        if self.running:
            return self
        self._process = subprocess.Popen(  # noqa: S603 - our own command line
            self.command_line(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"redis-server on port {self.port} exited with {self._process.returncode}: "
                    f"{self.log()[-2000:]}"
                )
            try:
                if _ping(self.port, self.password).startswith("+PONG"):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not answer PING")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (its data is gone: nothing is persisted)."""
        if self._process is not None:
            stop_process(self._process)
            self._process = None

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        self._dir.cleanup()

    def cli(self, *args: str) -> str:
        """Run ``redis-cli`` against this server; its standard output."""
        command = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)]
        if self.password is not None:
            command += ["--no-auth-warning", "-a", self.password]
        done = subprocess.run(  # noqa: S603 - our own command line
            command + list(args), capture_output=True, text=True, timeout=30, check=True
        )
        return done.stdout

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class RedisCluster:
    """A Redis Cluster of ``masters`` nodes on 127.0.0.1 (no replicas), made with redis-cli.

    ``url`` names the first node; a cluster client discovers the others from it.
    """

    def __init__(self, masters: int = 3) -> None:
        self.nodes = [
            RedisServer(extra_args=["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"])
            for _ in range(masters)
        ]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self) -> RedisCluster:
        """Start every node, assign the slots and wait until the cluster says it is ok."""
        for node in self.nodes:
            node.extra_args += ["--cluster-config-file", str(node.directory / "nodes.conf")]
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(  # noqa: S603 - our own command line
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-yes"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not all("cluster_state:ok" in node.cli("cluster", "info") for node in self.nodes):
            if time.monotonic() > deadline:
                raise RuntimeError("the Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        return self

    def close(self) -> None:
        for node in self.nodes:
            node.close()

    def __enter__(self) -> RedisCluster:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

"""Sessions in Redis (``pip install 'hostsessions[redis]'``), sync and asyncio, on redis-py.

The layout is unstorage's redis driver as Astro uses it, so an Astro site and a Python app
can share one Redis: the bare payload string under the session ID, or ``<base>:<id>`` when
a base is set. No extra key or field is stored, so a record's version is derived from the
stored value itself: the hex SHA-1 of its bytes. A read is one plain ``GET`` (the driver
hashes the bytes); a write is one Lua script that hashes what is stored with Redis's own
``redis.sha1hex``, compares it with the version the request read and, only if they match,
sets the value with ``PXAT`` (the record's expiry). Both sides hash the same bytes the same
way, so a plain ``SET`` by an Astro site is seen as a change. Every call touches one key, so
the driver works on Redis Cluster. See ``docs/redis.md``.

A content hash is a sound version for the core's read-modify-write: a write succeeds only
if the stored bytes are exactly those the request read, so replaying its operations on the
current record would give the same result. It also never resurrects a destroyed session
(an absent key has no hash).

Reads do not report the record's expiry (``reports_expiry = False``, see
:class:`~hostsessions.drivers.base.ExpiryHints`): learning it would take ``PTTL`` and the
server's clock, a script instead of a ``GET``, and the core never needs it. Redis drops an
expired key itself, so an expired record still reads as absent.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import os
import re
import threading
import weakref
from collections.abc import Awaitable, Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from ..checks import is_positive_number, is_text, is_whole_number
from ..errors import SessionConfigError, SessionStorageError
from .base import AsyncDriverBase, DriverBase, Record, WriteConflict, check_size

INSTALL_HINT = "pip install 'hostsessions[redis]'"

try:
    import redis
    import redis.asyncio
    import redis.exceptions
    from redis.backoff import NoBackoff
    from redis.exceptions import NoScriptError, RedisError, ResponseError
    from redis.retry import Retry
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise SessionConfigError(
        f"the redis driver needs the redis package (redis-py): {INSTALL_HINT}"
    ) from missing

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_URL",
    "AsyncRedisDriver",
    "RedisDriver",
    "RedisSettings",
    "driver_for_client",
    "redis_settings",
]

#: Where the driver connects when neither ``url`` nor an environment variable says.
DEFAULT_URL = "redis://localhost:6379/0"
#: The environment variables read, in order, when the driver is named without a URL.
URL_ENV_VARS = ("HOSTSESSIONS_REDIS_URL", "REDIS_URL")
#: Seconds to wait for a connection, and again for each reply.
DEFAULT_TIMEOUT = 2.0
#: Redis refuses strings over 512 MiB (``proto-max-bulk-len``).
REDIS_STRING_LIMIT = 512 * 1024 * 1024

# Each script touches KEYS[1] only (Redis Cluster routes it by that key). A version is the
# hex SHA-1 of the stored bytes: redis.sha1hex here, hashlib in Python for what GET returns.

# ARGV: payload, expected version ('' when the record must not exist yet), expiry in epoch
# milliseconds ('' for none; needs Redis 6.2 or later for SET ... PXAT). Returns 1 when
# stored; on a conflict what is stored (0 when nothing is), so the caller knows the current
# record without another round trip.
WRITE_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if current then
  if redis.sha1hex(current) ~= ARGV[2] then return current end
elseif ARGV[2] ~= '' then
  return 0
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
end
return 1
"""

# ARGV: the expected version. 1: deleted, or nothing to delete; on a conflict the value
# stored, as the write script returns it.
DELETE_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if not current then return 1 end
if redis.sha1hex(current) ~= ARGV[1] then return current end
redis.call('UNLINK', KEYS[1])
return 1
"""


@dataclass(frozen=True)
class _Script:
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()
        object.__setattr__(self, "sha", digest)


_WRITE = _Script(WRITE_SCRIPT)
_DELETE = _Script(DELETE_SCRIPT)


def normalize_base(base: str) -> str:
    """The prefix exactly as unstorage's redis driver writes it: one trailing ``:`` dropped,
    ``/`` and ``\\`` turned into ``:``, then one separator trimmed at each end."""
    base = base.removesuffix(":")
    return re.sub(r"^[:/\\]|[:/\\]$", "", re.sub(r"[:/\\]", ":", base))


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return parts._replace(netloc=user + parts.netloc.rpartition("@")[2]).geturl()


@dataclass(frozen=True)
class RedisSettings:
    """Where and how the driver talks to Redis. Build it with :func:`redis_settings`."""

    url: str = DEFAULT_URL
    base: str = ""
    cluster: bool = False
    timeout: float = DEFAULT_TIMEOUT
    max_connections: int | None = None
    max_payload_bytes: int = REDIS_STRING_LIMIT
    client_options: Mapping[str, Any] = field(default_factory=dict[str, Any])

    def key(self, session_id: str) -> str:
        """The Redis key of a session: the ID itself, or ``<base>:<id>``."""
        return f"{self.base}:{session_id}" if self.base else session_id

    @property
    def where(self) -> str:
        """The store as messages name it (no password)."""
        kind = "Redis Cluster" if self.cluster else "Redis"
        prefix = f" (keys {self.base}:<id>)" if self.base else ""
        return f"{kind} at {_redacted(self.url)}{prefix}"

    def client_kwargs(self, *, asyncio: bool = False) -> dict[str, Any]:
        """redis-py keyword arguments: bounded waits, and no retries of their own.

        An asyncio client gets no ``socket_timeout``: redis-py would then run every send in
        a task of its own (``asyncio.wait_for``) and every reply under a timer of its own,
        which together cost more than the command on a local Redis. :class:`AsyncRedisDriver`
        bounds its calls with one shared timer instead (:class:`CallDeadlines`)."""
        kwargs: dict[str, Any] = {
            "socket_timeout": None if asyncio else self.timeout,
            "socket_connect_timeout": self.timeout,
            # A retried write whose first attempt landed would be replayed on top of itself;
            # the core decides what to do after a failure, so the client must not retry.
            "retry": Retry(NoBackoff(), 0),
        }
        if self.max_connections is not None:
            kwargs["max_connections"] = self.max_connections
        kwargs.update(self.client_options)
        return kwargs


def redis_settings(
    url: str | None = None,
    *,
    base: str = "",
    cluster: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    max_connections: int | None = None,
    max_payload_bytes: int = REDIS_STRING_LIMIT,
    client_options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RedisSettings:
    """Validate the driver's options; ``url=None`` reads the environment (see URL_ENV_VARS)."""
    if url is None:
        environ = os.environ if environ is None else environ
        url = next((environ[name] for name in URL_ENV_VARS if environ.get(name)), DEFAULT_URL)
    if not is_text(url) or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise SessionConfigError(
            f"the Redis URL must start with redis://, rediss:// (TLS) or unix://, "
            f"not {_redacted(str(url))!r}"
        )
    if cluster and urlsplit(url).scheme == "unix":
        raise SessionConfigError("Redis Cluster is reached over TCP: use a redis:// URL")
    if not is_text(base):
        raise SessionConfigError(f"the Redis key base must be a string, not {base!r}")
    if not is_positive_number(timeout):
        raise SessionConfigError(f"the Redis timeout must be a positive number, not {timeout!r}")
    if max_connections is not None and not is_whole_number(max_connections, minimum=1):
        raise SessionConfigError(
            f"max_connections must be a positive whole number or None, not {max_connections!r}"
        )
    if not is_whole_number(max_payload_bytes, minimum=1, maximum=REDIS_STRING_LIMIT):
        raise SessionConfigError(
            f"max_payload_bytes must be a whole number from 1 to {REDIS_STRING_LIMIT} "
            f"(Redis's own limit), not {max_payload_bytes!r}"
        )
    return RedisSettings(
        url=url,
        base=normalize_base(base),
        cluster=bool(cluster),
        timeout=float(timeout),
        max_connections=max_connections,
        max_payload_bytes=max_payload_bytes,
        client_options=dict(client_options or {}),
    )


def explain(error: BaseException, settings: RedisSettings, operation: str) -> SessionStorageError:
    """A SessionStorageError for a redis-py ``error`` met while doing ``operation``."""
    errors = redis.exceptions
    where = f"session {operation} on {settings.where}"
    tls = settings.url.startswith("rediss:")
    detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if isinstance(error, errors.AuthenticationError | errors.AuthorizationError) or (
        isinstance(error, errors.ResponseError)
        and detail.startswith(("NOAUTH", "WRONGPASS", "NOPERM", "invalid username-password"))
    ):
        fix = (
            f"authentication failed ({detail}): put the right user and password in the URL, "
            "redis://USER:PASSWORD@HOST:PORT/0 (or redis://:PASSWORD@HOST for the default user)"
        )
    elif isinstance(error, errors.TimeoutError | TimeoutError):
        fix = (
            f"no answer within {settings.timeout:g} s ({detail}): is the host reachable and "
            "is it Redis on that port? Raise the driver's timeout= if Redis is just slow"
        )
        if tls:
            fix += "; if that port speaks plain Redis, use redis:// instead of rediss://"
    elif isinstance(error, errors.ReadOnlyError):
        fix = f"the server is a read-only replica ({detail}): point the URL at the primary"
    elif isinstance(error, errors.OutOfMemoryError):
        fix = f"Redis is out of memory ({detail}): raise maxmemory or pick an eviction policy"
    elif "CERTIFICATE_VERIFY_FAILED" in detail or "certificate verify failed" in detail:
        fix = (
            f"the server's TLS certificate is not trusted ({detail}): name the CA that signed "
            "it, rediss://HOST:PORT/0?ssl_ca_certs=/path/to/ca.pem or "
            "client_options={'ssl_ca_certs': '/path/to/ca.pem'}"
        )
    elif isinstance(error, errors.ConnectionError | OSError):
        fix = f"cannot connect ({detail}): is redis-server running there?"
        if not tls and "reset by peer" in detail:
            fix += " If it expects TLS, use a rediss:// URL"
    elif isinstance(error, errors.ResponseError) and detail.startswith("WRONGTYPE"):
        fix = f"the key holds something other than a string ({detail}): another program uses it"
    else:
        fix = f"{type(error).__name__}: {detail}"
    return SessionStorageError(f"{where} failed: {fix}")


@contextmanager
def _storage_errors(settings: RedisSettings, operation: str) -> Generator[None]:
    try:
        yield
    except (RedisError, OSError) as error:  # OSError: a TLS or socket error redis-py left
        raise explain(error, settings, operation) from error


def _version(data: bytes) -> str:
    """The version of a stored value: what ``redis.sha1hex`` gives for the same bytes."""
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _stored_bytes(value: bytes | str, client: Any) -> bytes:
    # A client of the user's own may decode replies (decode_responses=True): its encoder
    # gives back the bytes Redis holds, which are what the version is computed from.
    return value if isinstance(value, bytes) else client.get_encoder().encode(value)


def _text(data: bytes) -> str:
    # Another client may have stored bytes that are not UTF-8: the core then finds a payload
    # it cannot decode and removes the record, as for any undecodable session.
    return data.decode("utf-8", errors="replace")


def _record(value: bytes | str, client: Any) -> Record:
    data = _stored_bytes(value, client)
    return Record(_text(data), _version(data))


T = TypeVar("T")


class CallDeadlines:
    """Cancel calls that outlive ``seconds``, with one timer for all the calls in flight.

    ``asyncio.timeout`` arms a timer per call and costs several microseconds, more than
    half a command on a local Redis. Here a call only notes its deadline; one timer, armed
    for the earliest deadline, cancels the calls still running when it fires. A cancelled
    call raises ``TimeoutError`` as with ``asyncio.timeout`` (and a cancellation from
    elsewhere still propagates as ``CancelledError``). One instance per event loop.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        # Every call has the same timeout, so insertion order is deadline order.
        self._deadlines: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    async def run(self, command: Awaitable[T]) -> T:
        """Await ``command``; ``TimeoutError`` if it takes longer than ``seconds``."""
        task = asyncio.current_task()
        if task is None or task in self._deadlines:  # not in a task, or a call within a call
            async with asyncio.timeout(self.seconds):
                return await command
        loop = task.get_loop()
        cancelling = task.cancelling()
        deadline = self._deadlines[task] = loop.time() + self.seconds
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._expire, loop)
        try:
            return await command
        except asyncio.CancelledError:
            # Only this call's own timer turns a cancellation into a timeout.
            if task in self._expired and task.uncancel() <= cancelling:
                raise TimeoutError("timed out") from None
            raise
        finally:
            # The task is suspended inside ``command`` whenever the timer can fire, so a
            # cancellation it sent has been delivered there by now.
            self._deadlines.pop(task, None)
            self._expired.discard(task)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        for task, deadline in list(self._deadlines.items()):
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire, loop)
                return
            del self._deadlines[task]
            self._expired.add(task)
            task.cancel()


class _DirectConnections:
    """Commands sent on redis-py connections the driver keeps, not through the client.

    For each command redis-py's client takes a connection from its pool and gives it back
    (a lock each way), records metrics, dispatches events and runs reply callbacks: on a
    local Redis that costs about as much as the command itself. The driver takes
    connections from the client's pool once and keeps the idle ones here (``list.pop``
    and ``append`` are atomic, so threads share it safely); redis-py still connects,
    authenticates, speaks TLS and parses the replies. The pool still counts them, so
    ``max_connections`` holds, and closing the client closes them. Before each use a
    connection the server closed (a restart) or that holds an unread reply is closed, as
    the pool does at checkout, and after an error other than an error reply it is closed,
    so a late reply never answers the next command (the next command reconnects it).
    """

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._idle: list[Any] = []
        _kept_by_this_process.add(self)
        # redis-py before 5.3 wants a command name here; later versions warn about one.
        first = next(iter(inspect.signature(pool.get_connection).parameters.values()), None)
        self._checkout_args = ("GET",) if first and first.default is first.empty else ()

    def _take(self) -> Any:
        try:
            return self._idle.pop()
        except IndexError:
            return None

    def forget_inherited(self) -> None:
        """In a forked child: drop the parent's connections without closing them (their
        sockets are the parent's too); the pool, which checks its process, makes new ones."""
        self._idle = []


# Every _DirectConnections of this process, so that a forked child (gunicorn --preload,
# multiprocessing) drops the connections it inherited: two processes on one socket read
# each other's replies. Weak, so a closed driver's connections are not kept alive.
_kept_by_this_process: weakref.WeakSet[_DirectConnections] = weakref.WeakSet()


def _forget_inherited_connections() -> None:
    for connections in list(_kept_by_this_process):
        connections.forget_inherited()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_connections)


class SyncDirectConnections(_DirectConnections):
    """:class:`_DirectConnections` for redis-py's sync client (WSGI, worker threads)."""

    def execute(self, *args: Any) -> Any:
        """Send one command and return its reply; a ``ResponseError`` for an error reply."""
        connection = self._take()
        if connection is None:
            connection = self._pool.get_connection(*self._checkout_args)
        try:
            if getattr(connection, "is_connected", True) and self._has_data(connection):
                connection.disconnect()
            connection.send_command(*args)
            reply = connection.read_response()
        except ResponseError:
            self._idle.append(connection)  # an error reply: the connection is in step
            raise
        except BaseException:
            connection.disconnect()
            self._idle.append(connection)
            raise
        self._idle.append(connection)
        return reply

    @staticmethod
    def _has_data(connection: Any) -> bool:
        try:
            return bool(connection.can_read())
        except (RedisError, OSError):
            return True


class AsyncDirectConnections(_DirectConnections):
    """:class:`_DirectConnections` for redis-py's asyncio client (ASGI, one event loop)."""

    async def execute(self, *args: Any) -> Any:
        """Send one command and return its reply; a ``ResponseError`` for an error reply."""
        connection = self._take()
        if connection is None:
            connection = await self._pool.get_connection(*self._checkout_args)
        try:
            if connection.is_connected and await self._has_data(connection):
                await connection.disconnect(nowait=True)
            await connection.send_command(*args)
            reply = await connection.read_response()
        except ResponseError:
            self._idle.append(connection)  # an error reply: the connection is in step
            raise
        except BaseException:  # timed out, cancelled or broken
            await connection.disconnect(nowait=True)
            self._idle.append(connection)
            raise
        self._idle.append(connection)
        return reply

    @staticmethod
    async def _has_data(connection: Any) -> bool:
        can_read = getattr(connection, "can_read", None) or connection.can_read_destructive
        try:
            # True (redis-py 8), or before it the byte read, b"" at the end of the stream:
            # anything but False means the connection is not ready for a new command.
            return await can_read() is not False
        except (RedisError, OSError):
            return True


class _RedisCommon:
    """What both flavours share: the settings, the size check, the scripts' results."""

    store_name: ClassVar[str] = "Redis"
    # A read is a plain GET: asking PTTL and the server's clock too would take a script.
    reports_expiry: ClassVar[bool] = False

    def __init__(self, settings: RedisSettings, *, owns_client: bool) -> None:
        self.settings = settings
        self._owns_client = owns_client

    def key(self, session_id: str) -> str:
        """The Redis key that holds ``session_id``."""
        return self.settings.key(session_id)

    def _encoded(self, payload: str) -> bytes:
        """``payload`` as the UTF-8 bytes to store (what Astro's client writes too), once
        checked against the size limit."""
        data = payload.encode("utf-8")
        check_size(self.store_name, len(data), self.settings.max_payload_bytes)
        return data

    @staticmethod
    def _write_args(
        data: bytes, expires_at: float | None, expected_version: str | None
    ) -> tuple[bytes, str, str]:
        expiry = "" if expires_at is None else str(round(expires_at * 1000))
        return data, expected_version or "", expiry

    @staticmethod
    def _check_result(key: str, expected_version: str | None, result: Any, client: Any) -> None:
        """Raise the conflict a script reported (1: done), with the record it met (0: none),
        so the core replays its changes on it without reading again."""
        if result == 1:
            return
        current = None if result == 0 else _record(result, client)
        raise WriteConflict(key, expected_version, current=current)


class RedisDriver(_RedisCommon, DriverBase):
    """Sessions in Redis through redis-py's sync client (for WSGI apps).

    Build it with :func:`hostsessions.drivers.redis`. The client, and so its connection
    pool, is created on first use and shared by every thread of the process; ``close()``
    closes it. Under ASGI the core uses :meth:`to_async`'s driver, so no request waits on
    a thread (unless the driver was given a sync client of the user's own).
    """

    def __init__(self, settings: RedisSettings, client: redis.Redis | Any | None = None) -> None:
        super().__init__(settings, owns_client=client is None)
        # A redis-py client: the user's (any of redis-py's sync clients) or ours.
        self._client: Any = client
        # Our own single-server client's connections (a cluster routes by key itself).
        self._connections: SyncDirectConnections | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The redis-py client in use (``redis.Redis`` or ``redis.cluster.RedisCluster``)."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        # A cluster client connects here, to learn the cluster's nodes and slots.
        with _storage_errors(self.settings, "connect"):
            if self.settings.cluster:
                from redis.cluster import RedisCluster

                return RedisCluster.from_url(self.settings.url, **self.settings.client_kwargs())
            # redis-py leaves from_url's **kwargs untyped (they go to the connection pool).
            single = redis.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                self.settings.url, **self.settings.client_kwargs()
            )
            self._connections = SyncDirectConnections(single.connection_pool)
            return single

    def to_async(self) -> AsyncRedisDriver | RedisDriver:
        """The asyncio twin: same URL and options. With a user's sync client, this driver."""
        if not self._owns_client:
            return self
        return AsyncRedisDriver(self.settings)

    def _command(self, operation: str, *args: Any) -> tuple[Any, Any]:
        """One Redis command: its reply, and the client."""
        client = self._client or self.client
        connections = self._connections
        try:
            if connections is None:
                return client.execute_command(*args), client
            return connections.execute(*args), client
        except NoScriptError:
            raise
        except (RedisError, OSError) as error:
            raise explain(error, self.settings, operation) from error

    def _script(self, script: _Script, operation: str, key: str, *args: str | bytes) -> Any:
        try:
            return self._command(operation, "EVALSHA", script.sha, 1, self.key(key), *args)
        except NoScriptError:
            # EVAL runs the script and caches it on that server for the next EVALSHA.
            return self._command(operation, "EVAL", script.source, 1, self.key(key), *args)

    def _get(self, key: str) -> Any:
        value, client = self._command("read", "GET", self.key(key))
        return None if value is None else _stored_bytes(value, client)

    def read(self, key: str) -> Record | None:
        """The session record, or None when it is absent (Redis drops expired keys itself).

        One ``GET``; the record's ``expires_at`` is None (not reported: see the module)."""
        data = self._get(key)
        return None if data is None else Record(_text(data), _version(data))

    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version`` (None: no record)."""
        data = self._encoded(payload)
        args = self._write_args(data, expires_at, expected_version)
        result, client = self._script(_WRITE, "write", key, *args)
        self._check_result(key, expected_version, result, client)
        return _version(data)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the session; with ``expected_version``, only if it still has that version."""
        if expected_version is None:
            self._command("delete", "UNLINK", self.key(key))
            return
        result, client = self._script(_DELETE, "delete", key, expected_version)
        self._check_result(key, expected_version, result, client)

    # The minimal protocol, as unstorage's driver does it: plain GET, SET (no expiry), UNLINK.

    def get_item(self, key: str) -> str | None:
        """The payload, or None when absent (Redis drops expired keys itself)."""
        data = self._get(key)
        return None if data is None else _text(data)

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry (one SET)."""
        data = self._encoded(value)
        self._command("write", "SET", self.key(key), data)

    def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        self.delete(key)

    def close(self) -> None:
        """Close the connection pool this driver created (a client passed in stays open)."""
        client, self._client = self._client, None
        self._connections = None
        if client is not None and self._owns_client:
            client.close()


class AsyncRedisDriver(_RedisCommon, AsyncDriverBase):
    """Sessions in Redis through ``redis.asyncio`` (for ASGI apps: no thread hop).

    redis-py's asyncio connections belong to the event loop they were opened in, so the
    client is created inside the running loop on first use (and again if the driver is
    later used from another loop). ``await driver.aclose()`` closes its pool; the ASGI
    middleware does so at lifespan shutdown.
    """

    def __init__(
        self, settings: RedisSettings, client: redis.asyncio.Redis | Any | None = None
    ) -> None:
        super().__init__(settings, owns_client=client is None)
        self._client = client
        self._loop: asyncio.AbstractEventLoop | None = None
        # Bounds our client's calls (it has no socket_timeout); a client of the user's own
        # keeps the timeouts it was made with.
        self._deadlines: CallDeadlines | None = None
        # Our own single-server client's connections (a cluster routes by key itself).
        self._connections: AsyncDirectConnections | None = None
        # Set once a cluster client knows its nodes (see _connected).
        self._ready: asyncio.Event | None = None

    @property
    def client(self) -> Any:
        """The ``redis.asyncio`` client for the running loop (created on first use)."""
        loop = asyncio.get_running_loop()
        if self._client is None or (self._owns_client and self._loop is not loop):
            with _storage_errors(self.settings, "connect"):
                if self.settings.cluster:
                    from redis.asyncio.cluster import RedisCluster

                    self._client = RedisCluster.from_url(
                        self.settings.url, **self.settings.client_kwargs(asyncio=True)
                    )
                    self._connections = None
                else:
                    # redis-py leaves from_url's **kwargs untyped (see RedisDriver).
                    single = redis.asyncio.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
                        self.settings.url, **self.settings.client_kwargs(asyncio=True)
                    )
                    self._client = single
                    self._connections = AsyncDirectConnections(single.connection_pool)
            self._loop = loop
            self._ready = None
            self._deadlines = CallDeadlines(self.settings.timeout)
        return self._client

    async def _connected(self) -> Any:
        client = self.client
        if not self.settings.cluster:
            return client
        # The asyncio cluster client discovers its nodes on first use; many first calls at
        # once (a burst of requests right after start-up) race that discovery and fail on
        # closed connections, so the first caller discovers and the others wait for it.
        if self._ready is None:
            self._ready = asyncio.Event()
            try:
                with _storage_errors(self.settings, "connect"):
                    await client.initialize()
            except BaseException:
                ready, self._ready = self._ready, None
                ready.set()
                raise
            self._ready.set()
        else:
            await self._ready.wait()
        return client

    async def _command(self, operation: str, *args: Any) -> tuple[Any, Any]:
        """One Redis command within the driver's timeout: its reply, and the client."""
        client = await self._connected()
        connections, deadlines = self._connections, self._deadlines
        call = (client.execute_command if connections is None else connections.execute)(*args)
        try:
            return (await call if deadlines is None else await deadlines.run(call)), client
        except NoScriptError:
            raise
        except (RedisError, OSError) as error:  # the deadlines raise TimeoutError, an OSError
            raise explain(error, self.settings, operation) from error

    async def _script(
        self, script: _Script, operation: str, key: str, *args: str | bytes
    ) -> tuple[Any, Any]:
        try:
            return await self._command(operation, "EVALSHA", script.sha, 1, self.key(key), *args)
        except NoScriptError:
            # EVAL runs the script and caches it on that server for the next EVALSHA.
            return await self._command(operation, "EVAL", script.source, 1, self.key(key), *args)

    async def _get(self, key: str) -> Any:
        value, client = await self._command("read", "GET", self.key(key))
        return None if value is None else _stored_bytes(value, client)

    async def read(self, key: str) -> Record | None:
        """The session record, or None when it is absent (Redis drops expired keys itself).

        One ``GET``; the record's ``expires_at`` is None (not reported: see the module)."""
        data = await self._get(key)
        return None if data is None else Record(_text(data), _version(data))

    async def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version`` (None: no record)."""
        data = self._encoded(payload)
        args = self._write_args(data, expires_at, expected_version)
        result, client = await self._script(_WRITE, "write", key, *args)
        self._check_result(key, expected_version, result, client)
        return _version(data)

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the session; with ``expected_version``, only if it still has that version."""
        if expected_version is None:
            await self._command("delete", "UNLINK", self.key(key))
            return
        result, client = await self._script(_DELETE, "delete", key, expected_version)
        self._check_result(key, expected_version, result, client)

    async def get_item(self, key: str) -> str | None:
        """The payload, or None when absent (Redis drops expired keys itself)."""
        data = await self._get(key)
        return None if data is None else _text(data)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry (one SET)."""
        data = self._encoded(value)
        await self._command("write", "SET", self.key(key), data)

    async def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        await self.delete(key)

    async def aclose(self) -> None:
        """Close the connection pool this driver created (a client passed in stays open)."""
        client, self._client = self._client, None
        self._connections = None
        if client is None or not self._owns_client:
            return
        if self._loop is asyncio.get_running_loop():
            await client.aclose()


def _client_url(client: Any) -> str:
    """Where a client connects, as a URL without credentials (for messages only)."""
    pool = getattr(client, "connection_pool", None)
    options: Mapping[str, Any] = getattr(pool, "connection_kwargs", None) or {}
    if options.get("path"):
        return f"unix://{options['path']}"
    node = None if pool is not None else getattr(client, "get_default_node", lambda: None)()
    if node is not None:
        return f"redis://{node.host}:{node.port}"
    scheme = "rediss" if "ssl_cert_reqs" in options else "redis"
    host, port = options.get("host", "localhost"), options.get("port", 6379)
    return f"{scheme}://{host}:{port}/{options.get('db', 0)}"


def driver_for_client(client: Any, settings: RedisSettings) -> RedisDriver | AsyncRedisDriver:
    """A driver on a redis-py client the user made: sync or asyncio, plain or cluster."""
    from redis.asyncio import Redis as AsyncRedis
    from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
    from redis.cluster import RedisCluster

    cluster = isinstance(client, RedisCluster | AsyncRedisCluster)
    settings = replace(settings, url=_client_url(client), cluster=cluster)
    if isinstance(client, AsyncRedis | AsyncRedisCluster):
        return AsyncRedisDriver(settings, client)
    if isinstance(client, redis.Redis | RedisCluster):
        return RedisDriver(settings, client)
    raise SessionConfigError(
        f"client must be a redis-py client (redis.Redis, redis.cluster.RedisCluster or their "
        f"redis.asyncio twins), not {type(client).__name__}"
    )

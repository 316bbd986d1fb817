"""Sessions in Redis (``pip install 'hostsessions[redis]'``), sync and asyncio, on redis-py.

The layout is unstorage's redis driver as Astro uses it, so an Astro site and a Python app
can share one Redis: the bare payload string under the session ID, or ``<base>:<id>`` when
a base is set. No extra key or field is stored, so a record's version is derived from the
stored value itself: the SHA-1 of the payload, computed by Redis inside each script. A
write is one Lua script that compares that hash with the version the request read and
sets the value with ``PXAT`` (the record's expiry) only if they match; a read is one
script returning the value, its hash and its expiry. Every script touches one key, so the
driver works on Redis Cluster. See ``docs/redis.md``.

A content hash is a sound version for the core's read-modify-write: a write succeeds only
if the stored bytes are exactly those the request read, so replaying its operations on the
current record would give the same result. It also never resurrects a destroyed session
(an absent key has no hash).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

from ..errors import SessionConfigError, SessionStorageError
from .base import AsyncDriverBase, DriverBase, Record, WriteConflict, check_size, utf8_length

INSTALL_HINT = "pip install 'hostsessions[redis]'"

try:
    import redis
    import redis.asyncio
    from redis.backoff import NoBackoff
    from redis.exceptions import NoScriptError, RedisError
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

# Each script touches KEYS[1] only (Redis Cluster routes it by that key). Expiries travel
# as epoch milliseconds; -1 means none. Needs Redis 6.2 or later (SET ... PXAT).
_EXPIRY_MS = """
local function expiry_ms(key)
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then return -1 end
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + ttl
end
"""

READ_SCRIPT = (
    _EXPIRY_MS
    + """
local value = redis.call('GET', KEYS[1])
if not value then return false end
return {value, redis.sha1hex(value), expiry_ms(KEYS[1])}
"""
)

# ARGV: payload, expected version ('' when the record must not exist yet), expiry in epoch
# milliseconds ('' for none). On a conflict it returns what is stored, so the caller knows
# the current record without another round trip.
WRITE_SCRIPT = (
    _EXPIRY_MS
    + """
local current = redis.call('GET', KEYS[1])
local current_version = current and redis.sha1hex(current) or ''
if current_version ~= ARGV[2] then
  if not current then return {0} end
  return {0, current, current_version, expiry_ms(KEYS[1])}
end
if ARGV[3] == '' then
  redis.call('SET', KEYS[1], ARGV[1])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
end
return {1, redis.sha1hex(ARGV[1])}
"""
)

# ARGV: the expected version. {1}: deleted, or nothing to delete; {0, value, version,
# expiry}: a different value is stored (a conflict), returned as the write script does.
DELETE_SCRIPT = (
    _EXPIRY_MS
    + """
local current = redis.call('GET', KEYS[1])
if not current then return {1} end
local current_version = redis.sha1hex(current)
if current_version ~= ARGV[1] then
  return {0, current, current_version, expiry_ms(KEYS[1])}
end
redis.call('UNLINK', KEYS[1])
return {1}
"""
)


@dataclass(frozen=True)
class _Script:
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        digest = hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()
        object.__setattr__(self, "sha", digest)


_READ = _Script(READ_SCRIPT)
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
    client_options: Mapping[str, Any] = field(default_factory=dict)

    def key(self, session_id: str) -> str:
        """The Redis key of a session: the ID itself, or ``<base>:<id>``."""
        return f"{self.base}:{session_id}" if self.base else session_id

    @property
    def where(self) -> str:
        """The store as messages name it (no password)."""
        kind = "Redis Cluster" if self.cluster else "Redis"
        prefix = f" (keys {self.base}:<id>)" if self.base else ""
        return f"{kind} at {_redacted(self.url)}{prefix}"

    def client_kwargs(self) -> dict[str, Any]:
        """redis-py keyword arguments: bounded waits, and no retries of their own."""
        kwargs: dict[str, Any] = {
            "socket_timeout": self.timeout,
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
    if not isinstance(url, str) or urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise SessionConfigError(
            f"the Redis URL must start with redis://, rediss:// (TLS) or unix://, "
            f"not {_redacted(str(url))!r}"
        )
    if cluster and urlsplit(url).scheme == "unix":
        raise SessionConfigError("Redis Cluster is reached over TCP: use a redis:// URL")
    if not isinstance(base, str):
        raise SessionConfigError(f"the Redis key base must be a string, not {base!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise SessionConfigError(f"the Redis timeout must be a positive number, not {timeout!r}")
    if max_connections is not None and (
        isinstance(max_connections, bool)
        or not isinstance(max_connections, int)
        or max_connections < 1
    ):
        raise SessionConfigError(
            f"max_connections must be a positive whole number or None, not {max_connections!r}"
        )
    if (
        isinstance(max_payload_bytes, bool)
        or not isinstance(max_payload_bytes, int)
        or not 0 < max_payload_bytes <= REDIS_STRING_LIMIT
    ):
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
    elif isinstance(error, errors.TimeoutError):
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
def _storage_errors(settings: RedisSettings, operation: str) -> Iterator[None]:
    try:
        yield
    except (RedisError, OSError) as error:  # OSError: a TLS or socket error redis-py left
        raise explain(error, settings, operation) from error


def _text(value: Any) -> str:
    # Another client may have stored bytes that are not UTF-8: the core then finds a payload
    # it cannot decode and removes the record, as for any undecodable session.
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _expires_at(milliseconds: Any) -> float | None:
    value = int(milliseconds)
    return None if value < 0 else value / 1000


def _record(value: Any, version: Any, expiry_ms: Any) -> Record:
    return Record(_text(value), _text(version), _expires_at(expiry_ms))


def _conflict(key: str, expected_version: str | None, result: Any) -> WriteConflict:
    """The conflict a script reported, with the record it met ({0}: none), so the core
    replays its changes on it without reading again."""
    current = _record(*result[1:4]) if len(result) > 1 else None
    return WriteConflict(key, expected_version, current=current)


class _RedisCommon:
    """What both flavours share: the settings, the size check, the scripts' arguments."""

    store_name: ClassVar[str] = "Redis"

    def __init__(self, settings: RedisSettings, *, owns_client: bool) -> None:
        self.settings = settings
        self._owns_client = owns_client

    def key(self, session_id: str) -> str:
        """The Redis key that holds ``session_id``."""
        return self.settings.key(session_id)

    def _write_args(
        self, payload: str, expires_at: float | None, expected_version: str | None
    ) -> tuple[str, str, str]:
        self._check_size(payload)
        expiry = "" if expires_at is None else str(round(expires_at * 1000))
        return payload, expected_version or "", expiry

    def _check_size(self, payload: str) -> None:
        check_size(self.store_name, utf8_length(payload), self.settings.max_payload_bytes)

    @staticmethod
    def _read_result(result: Any) -> Record | None:
        return None if result is None else _record(*result)

    @staticmethod
    def _write_result(key: str, expected_version: str | None, result: Any) -> str:
        if int(result[0]) == 1:
            return _text(result[1])
        raise _conflict(key, expected_version, result)

    @staticmethod
    def _delete_result(key: str, expected_version: str | None, result: Any) -> None:
        if int(result[0]) == 0:
            raise _conflict(key, expected_version, result)


class RedisDriver(_RedisCommon, DriverBase):
    """Sessions in Redis through redis-py's sync client (for WSGI apps).

    Build it with :func:`hostsessions.drivers.redis`. The client, and so its connection
    pool, is created on first use and shared by every thread of the process; ``close()``
    closes it. Under ASGI the core uses :meth:`to_async`'s driver, so no request waits on
    a thread (unless the driver was given a sync client of the user's own).
    """

    def __init__(self, settings: RedisSettings, client: redis.Redis | Any | None = None) -> None:
        super().__init__(settings, owns_client=client is None)
        self._client = client
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
            return redis.Redis.from_url(self.settings.url, **self.settings.client_kwargs())

    def to_async(self) -> AsyncRedisDriver | RedisDriver:
        """The asyncio twin: same URL and options. With a user's sync client, this driver."""
        if not self._owns_client:
            return self
        return AsyncRedisDriver(self.settings)

    def _script(self, script: _Script, operation: str, key: str, *args: str) -> Any:
        client = self._client or self.client
        try:
            try:
                return client.evalsha(script.sha, 1, key, *args)
            except NoScriptError:
                # EVAL runs the script and caches it on that server for the next EVALSHA.
                return client.eval(script.source, 1, key, *args)
        except (RedisError, OSError) as error:
            raise explain(error, self.settings, operation) from error

    def read(self, key: str) -> Record | None:
        """The session record, or None when it is absent (Redis drops expired keys itself)."""
        return self._read_result(self._script(_READ, "read", self.key(key)))

    def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version`` (None: no record)."""
        args = self._write_args(payload, expires_at, expected_version)
        result = self._script(_WRITE, "write", self.key(key), *args)
        return self._write_result(key, expected_version, result)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the session; with ``expected_version``, only if it still has that version."""
        if expected_version is None:
            with _storage_errors(self.settings, "delete"):
                self.client.unlink(self.key(key))
            return
        result = self._script(_DELETE, "delete", self.key(key), expected_version)
        self._delete_result(key, expected_version, result)

    # The minimal protocol, as unstorage's driver does it: plain GET, SET (no expiry), UNLINK.

    def get_item(self, key: str) -> str | None:
        """The payload, or None when absent (Redis drops expired keys itself)."""
        with _storage_errors(self.settings, "read"):
            value = self.client.get(self.key(key))
        return None if value is None else _text(value)

    def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry (one SET)."""
        self._check_size(value)
        with _storage_errors(self.settings, "write"):
            self.client.set(self.key(key), value)

    def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        self.delete(key)

    def close(self) -> None:
        """Close the connection pool this driver created (a client passed in stays open)."""
        client, self._client = self._client, None
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
                        self.settings.url, **self.settings.client_kwargs()
                    )
                else:
                    self._client = redis.asyncio.Redis.from_url(
                        self.settings.url, **self.settings.client_kwargs()
                    )
            self._loop = loop
            self._ready = None
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

    async def _script(self, script: _Script, operation: str, key: str, *args: str) -> Any:
        client = await self._connected()
        try:
            try:
                return await client.evalsha(script.sha, 1, key, *args)
            except NoScriptError:
                return await client.eval(script.source, 1, key, *args)
        except (RedisError, OSError) as error:
            raise explain(error, self.settings, operation) from error

    async def read(self, key: str) -> Record | None:
        """The session record, or None when it is absent (Redis drops expired keys itself)."""
        return self._read_result(await self._script(_READ, "read", self.key(key)))

    async def write(
        self, key: str, payload: str, *, expires_at: float | None, expected_version: str | None
    ) -> str:
        """Store ``payload`` if the stored version is ``expected_version`` (None: no record)."""
        args = self._write_args(payload, expires_at, expected_version)
        result = await self._script(_WRITE, "write", self.key(key), *args)
        return self._write_result(key, expected_version, result)

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        """Remove the session; with ``expected_version``, only if it still has that version."""
        if expected_version is None:
            client = await self._connected()
            with _storage_errors(self.settings, "delete"):
                await client.unlink(self.key(key))
            return
        result = await self._script(_DELETE, "delete", self.key(key), expected_version)
        self._delete_result(key, expected_version, result)

    async def get_item(self, key: str) -> str | None:
        """The payload, or None when absent (Redis drops expired keys itself)."""
        client = await self._connected()
        with _storage_errors(self.settings, "read"):
            value = await client.get(self.key(key))
        return None if value is None else _text(value)

    async def set_item(self, key: str, value: str) -> None:
        """Store ``value`` whatever is there, with no expiry (one SET)."""
        self._check_size(value)
        client = await self._connected()
        with _storage_errors(self.settings, "write"):
            await client.set(self.key(key), value)

    async def remove_item(self, key: str) -> None:
        """Remove the record if there is one."""
        await self.delete(key)

    async def aclose(self) -> None:
        """Close the connection pool this driver created (a client passed in stays open)."""
        client, self._client = self._client, None
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

"""Storage drivers: the protocols, the built-in drivers and factories for every first-party one.

The cloud factories (:func:`dynamodb`, :func:`firestore`, :func:`azure_tables`) import their
adapter package only when called, and :func:`redis` imports redis-py only when called, so
the core never loads a client library on its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, cast, overload

from ..config import DEFAULT_FS_BASE
from ..errors import SessionConfigError
from .base import (
    AnyDriver,
    AsyncClosable,
    AsyncDriver,
    AsyncDriverBase,
    AsyncVersionedDriver,
    BlockingHints,
    ClientCache,
    Closable,
    Driver,
    DriverBase,
    ExpiryHints,
    HasAsyncTwin,
    KeepsObjects,
    Record,
    SweepableDriver,
    VersionedDriver,
    WriteConflict,
)
from .fs_driver import FsDriver
from .fs_lite_driver import FsLiteDriver
from .memory_driver import MemoryDriver

if TYPE_CHECKING:
    import redis as redis_py
    import redis.asyncio as redis_asyncio
    import redis.asyncio.cluster as redis_asyncio_cluster
    from hostsessions_aws import DynamoDBDriver
    from hostsessions_azure import AzureTablesDriver
    from hostsessions_gcp import AsyncFirestoreDriver, FirestoreDriver

    from .redis_driver import AsyncRedisDriver, RedisDriver

__all__ = [
    "AnyDriver",
    "AsyncClosable",
    "AsyncDriver",
    "AsyncDriverBase",
    "AsyncVersionedDriver",
    "BlockingHints",
    "ClientCache",
    "Closable",
    "Driver",
    "DriverBase",
    "ExpiryHints",
    "FsDriver",
    "FsLiteDriver",
    "HasAsyncTwin",
    "KeepsObjects",
    "MemoryDriver",
    "Record",
    "SweepableDriver",
    "VersionedDriver",
    "WriteConflict",
    "azure_tables",
    "dynamodb",
    "firestore",
    "fs",
    "fs_lite",
    "memory",
    "redis",
]


def memory(**options: Any) -> MemoryDriver:
    """A store in this process's memory, bounded and self-sweeping: for tests and
    single-process development. Options: see :class:`MemoryDriver`."""
    return MemoryDriver(**options)




def fs(base: str | os.PathLike[str] = DEFAULT_FS_BASE, **options: Any) -> FsDriver:
    """A store of one file per session under ``base``, written atomically.

    Options: ``fsync`` (default False: atomic and safe from a killed process; True: also
    durable against a power loss, at a disk flush per write), ``max_payload_bytes``,
    ``sweep_interval``; see :class:`FsDriver`.
    """
    return FsDriver(base=base, **options)


def fs_lite(base: str | os.PathLike[str], **options: Any) -> FsLiteDriver:
    """One file per session at ``base/<id>``: unstorage's ``fs-lite`` layout, which an Astro
    site on the same machine reads and writes too. See ``docs/astro.md``."""
    return FsLiteDriver(base=base, **options)


@contextlib.contextmanager
def _adapter_needed(extra: str) -> Generator[None]:
    """Turn the adapter's absence into the error that names the install command."""
    try:
        yield
    except ImportError as exc:
        raise SessionConfigError(
            f"this driver needs the hostsessions-{extra} adapter: "
            f"pip install 'hostsessions[{extra}]'"
        ) from exc


def dynamodb(**options: Any) -> DynamoDBDriver:
    """Amazon DynamoDB (``pip install 'hostsessions[aws]'``); see that adapter for options."""
    with _adapter_needed("aws"):
        from hostsessions_aws import dynamodb as factory
    return factory(**options)


def firestore(**options: Any) -> FirestoreDriver | AsyncFirestoreDriver:
    """Google Cloud Firestore (``pip install 'hostsessions[gcp]'``); options: see that adapter."""
    with _adapter_needed("gcp"):
        from hostsessions_gcp import firestore as factory
    # Options typed Any match both overloads: mypy gives the union, pyright Unknown. For
    # any options the factory is a function that returns one of the two drivers.
    build = cast("Callable[..., FirestoreDriver | AsyncFirestoreDriver]", factory)
    return build(**options)


def azure_tables(**options: Any) -> AzureTablesDriver:
    """Azure Table storage (``pip install 'hostsessions[azure]'``); see that adapter for options."""
    with _adapter_needed("azure"):
        from hostsessions_azure import azure_tables as factory
    return factory(**options)


@overload
def redis(
    url: str | None = None,
    *,
    client: redis_asyncio.Redis | redis_asyncio_cluster.RedisCluster,
    base: str = "",
    cluster: bool = False,
    timeout: float = ...,
    max_connections: int | None = None,
    max_payload_bytes: int = ...,
    client_options: Mapping[str, Any] | None = None,
) -> AsyncRedisDriver: ...


@overload
def redis(
    url: str | None = None,
    *,
    client: redis_py.Redis | redis_py.RedisCluster | None = None,
    base: str = "",
    cluster: bool = False,
    timeout: float = ...,
    max_connections: int | None = None,
    max_payload_bytes: int = ...,
    client_options: Mapping[str, Any] | None = None,
) -> RedisDriver: ...


def redis(
    url: str | None = None,
    *,
    client: Any = None,
    base: str = "",
    cluster: bool = False,
    timeout: float | None = None,
    max_connections: int | None = None,
    max_payload_bytes: int | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> RedisDriver | AsyncRedisDriver:
    """Redis (``pip install 'hostsessions[redis]'``), in unstorage's key layout (see docs/redis.md).

    ``url``: ``redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]``, ``rediss://`` for TLS, or
    ``unix:///path/to/redis.sock``; ``None`` reads ``HOSTSESSIONS_REDIS_URL``, then
    ``REDIS_URL``, then uses ``redis://localhost:6379/0``. Or pass ``client``, a redis-py
    client of your own (``redis.Redis``, ``redis.cluster.RedisCluster`` or their
    ``redis.asyncio`` twins), which the driver uses as it is and never closes.
    ``base``: a key prefix (keys become ``<base>:<session id>``, as unstorage's ``base``).
    ``cluster``: the URL names one node of a Redis Cluster. ``timeout``: seconds to wait
    for a connection and for each reply (default 2). ``max_connections``: the pool's cap.
    ``max_payload_bytes``: the largest session payload (default Redis's 512 MiB).
    ``client_options``: more keyword arguments for redis-py's ``from_url``
    (``ssl_ca_certs=...``, ``username=...``).
    """
    from . import redis_driver

    defaults = redis_driver.RedisSettings()
    settings = redis_driver.redis_settings(
        url,
        base=base,
        cluster=cluster,
        timeout=defaults.timeout if timeout is None else timeout,
        max_connections=max_connections,
        max_payload_bytes=(
            defaults.max_payload_bytes if max_payload_bytes is None else max_payload_bytes
        ),
        client_options=client_options,
    )
    if client is None:
        return redis_driver.RedisDriver(settings)
    return redis_driver.driver_for_client(client, settings)

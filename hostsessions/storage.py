"""One versioned interface over every kind of driver, for the sync and the async shell.

Drivers come in four kinds (minimal or versioned, sync or async). The session shells
only ever talk to a :class:`SyncStore` or an :class:`AsyncStore`, built here once per
middleware, so the session code has no branches for driver kinds.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard, TypeVar

from .drivers.base import (
    AnyDriver,
    AsyncDriver,
    AsyncVersionedDriver,
    Driver,
    HasAsyncTwin,
    Record,
    VersionedDriver,
    keeps_objects,
    write_parameters,
)
from .errors import SessionConfigError

__all__ = [
    "DRIVER_THREADS",
    "UNVERSIONED",
    "AsyncStore",
    "SyncStore",
    "async_store",
    "async_twin",
    "check_driver",
    "in_driver_thread",
    "is_async",
    "is_versioned",
    "sync_store",
    "takes_tokens",
]

# asyncio and concurrent.futures (with ssl, which asyncio loads) are imported where they
# are used, never at module level: a WSGI app with a sync driver never needs them, and
# on a serverless cold start they cost more than the rest of hostsessions together.
if TYPE_CHECKING:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

T = TypeVar("T")

# Minimal drivers have no versions; every write simply wins.
UNVERSIONED = ""


class SyncStore(Protocol):
    versioned: bool
    # Whether ``write`` takes ``kept=`` (drivers.base.KeepsObjects): False for every store
    # but one that keeps in-process objects.
    keeps_objects: bool

    @property
    def driver(self) -> AnyDriver:
        """The driver object underneath, for closing it."""
        ...

    def read(self, key: str) -> Record | None: ...

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str: ...

    def delete(self, key: str, *, expected_version: str | None = None) -> None: ...


class AsyncStore(Protocol):
    versioned: bool

    @property
    def driver(self) -> AnyDriver:
        """The driver object underneath, for closing it."""
        ...

    # The same store to call directly, when none of its calls ever waits on I/O (the
    # memory driver): the shell then skips the awaits. None for every other store.
    immediate: SyncStore | None
    # Whether ``immediate.write`` takes ``kept=`` (see SyncStore.keeps_objects).
    keeps_objects: bool

    async def read(self, key: str) -> Record | None: ...

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str: ...

    async def delete(self, key: str, *, expected_version: str | None = None) -> None: ...


def _has_methods(driver: object, *names: str) -> bool:
    return all(callable(getattr(driver, name, None)) for name in names)


def is_versioned(driver: object) -> bool:
    return _has_methods(driver, "read", "write", "delete")


def is_async(driver: object) -> bool:
    method = getattr(driver, "read" if is_versioned(driver) else "get_item")
    return inspect.iscoroutinefunction(method)


def _is_sync_versioned(driver: AnyDriver) -> TypeGuard[VersionedDriver]:
    return is_versioned(driver) and not is_async(driver)


def _is_async_versioned(driver: AnyDriver) -> TypeGuard[AsyncVersionedDriver]:
    return is_versioned(driver) and is_async(driver)


def _is_sync_minimal(driver: AnyDriver) -> TypeGuard[Driver]:
    return not is_versioned(driver) and not is_async(driver)


def _is_async_minimal(driver: AnyDriver) -> TypeGuard[AsyncDriver]:
    return not is_versioned(driver) and is_async(driver)


def check_driver(driver: object) -> AnyDriver:
    """``driver``, typed as one; refuses objects that are not drivers, with the two accepted
    shapes in the message."""
    if not (is_versioned(driver) or _has_methods(driver, "get_item", "set_item", "remove_item")):
        raise SessionConfigError(
            f"{type(driver).__name__} is not a session driver: it needs get_item/set_item/"
            "remove_item, or read/write/delete (see docs/writing-a-driver.md)"
        )
    return driver  # type: ignore[return-value]  # checked just above, as far as Python can


class _MinimalAsVersioned:
    """Presents a minimal sync driver as versioned: reads carry no version, writes always win."""

    versioned = False
    keeps_objects = False

    def __init__(self, driver: Driver) -> None:
        self.driver = driver

    def read(self, key: str) -> Record | None:
        payload = self.driver.get_item(key)
        return None if payload is None else Record(payload, UNVERSIONED, None)

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        self.driver.set_item(key, payload)
        return UNVERSIONED

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self.driver.remove_item(key)


class _AsyncMinimalAsVersioned:
    versioned = False
    immediate: SyncStore | None = None
    keeps_objects = False

    def __init__(self, driver: AsyncDriver) -> None:
        self.driver = driver

    async def read(self, key: str) -> Record | None:
        payload = await self.driver.get_item(key)
        return None if payload is None else Record(payload, UNVERSIONED, None)

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        await self.driver.set_item(key, payload)
        return UNVERSIONED

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        await self.driver.remove_item(key)


def takes_tokens(driver: object) -> bool:
    """Whether the driver's ``write`` accepts the core's write token (``token=``)."""
    parameters = write_parameters(driver)
    if parameters is None:
        return False
    return "token" in parameters or any(
        parameter.kind is inspect.Parameter.VAR_KEYWORD for parameter in parameters.values()
    )


def _without_token(write: Callable[..., T]) -> Callable[..., T]:
    """``write`` for a driver that keeps no write tokens: the token is left out."""

    def call(*args: Any, token: str | None = None, **kwargs: Any) -> T:
        return write(*args, **kwargs)

    return call


class _Versioned:
    """A sync versioned driver used as it is (a driver that keeps no write tokens is not
    given one)."""

    versioned = True

    def __init__(self, driver: VersionedDriver) -> None:
        self.driver = driver
        self.read, self.delete = driver.read, driver.delete
        tokens = takes_tokens(driver)
        self.write: Callable[..., str] = driver.write if tokens else _without_token(driver.write)
        self.keeps_objects = tokens and keeps_objects(driver)


class _AsyncVersioned:
    """An async versioned driver used as it is (a driver that keeps no write tokens is not
    given one)."""

    versioned = True
    immediate: SyncStore | None = None
    keeps_objects = False

    def __init__(self, driver: AsyncVersionedDriver) -> None:
        self.driver = driver
        self.read, self.delete = driver.read, driver.delete
        self._write: Callable[..., Coroutine[Any, Any, str]] = (
            driver.write if takes_tokens(driver) else _without_token(driver.write)
        )

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        return await self._write(
            key, payload, expires_at=expires_at, expected_version=expected_version, token=token
        )


class _LoopThread:
    """A private event loop on a daemon thread, where async drivers run under WSGI.

    One long-lived loop (rather than a new loop per call) keeps loop-bound clients,
    such as aiohttp sessions or gRPC channels, valid for the driver's whole life.
    """

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        import asyncio

        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="hostsessions-driver-loop", daemon=True
                )
                thread.start()
                self._loop = loop
            return self._loop

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        import asyncio

        return asyncio.run_coroutine_threadsafe(coroutine, self._ensure()).result()


class _AsyncAsSync:
    keeps_objects = False

    def __init__(self, store: AsyncStore, runner: _LoopThread) -> None:
        self._store = store
        self._run = runner.run
        self.versioned = store.versioned
        self.driver = store.driver

    def read(self, key: str) -> Record | None:
        return self._run(self._store.read(key))

    def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        coroutine = self._store.write(
            key, payload, expires_at=expires_at, expected_version=expected_version, token=token
        )
        return self._run(coroutine)

    def delete(self, key: str, *, expected_version: str | None = None) -> None:
        self._run(self._store.delete(key, expected_version=expected_version))


# Blocking drivers wait on the network (DynamoDB) or the disk. asyncio's default executor
# has cpu_count + 4 threads (6 on a 2-core host), so 50 concurrent requests would queue for
# a thread and spend their conflict-retry budget waiting; a pool of our own avoids that.
DRIVER_THREADS = 64


class _DriverPool:
    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ThreadPoolExecutor:
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self._executor = ThreadPoolExecutor(
                        DRIVER_THREADS, thread_name_prefix="hostsessions-driver"
                    )
        return self._executor


_DRIVER_POOL = _DriverPool()


async def in_driver_thread(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run a blocking driver call on the drivers' worker threads, in the caller's context.

    What the ASGI shell does for every call of a blocking driver; a driver with an async
    face of its own (``to_async``) uses it for the calls that may block.
    """
    import asyncio  # only async code gets here, where asyncio is loaded already

    context = contextvars.copy_context()
    bound = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_DRIVER_POOL.executor(), bound)


def _in_thread(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    async def call(*args: Any, **kwargs: Any) -> T:
        return await in_driver_thread(function, *args, **kwargs)

    return call


class _SyncAsAsync:
    """A sync store under ASGI: blocking calls go to worker threads so the loop keeps serving."""

    def __init__(self, store: SyncStore, *, blocking: bool, blocking_reads: bool) -> None:
        self.versioned = store.versioned
        self.driver = store.driver
        self._store = store
        self.immediate: SyncStore | None = None if blocking or blocking_reads else store
        self.keeps_objects = self.immediate is not None and store.keeps_objects
        self._read = (_in_thread if blocking_reads else _immediate)(store.read)
        wrap = _in_thread if blocking else _immediate
        self._write = wrap(store.write)
        self._delete = wrap(store.delete)

    async def read(self, key: str) -> Record | None:
        return await self._read(key)

    async def write(
        self,
        key: str,
        payload: str,
        *,
        expires_at: float | None,
        expected_version: str | None,
        token: str | None = None,
    ) -> str:
        return await self._write(
            key, payload, expires_at=expires_at, expected_version=expected_version, token=token
        )

    async def delete(self, key: str, *, expected_version: str | None = None) -> None:
        await self._delete(key, expected_version=expected_version)


def _immediate(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    async def call(*args: Any, **kwargs: Any) -> T:
        return function(*args, **kwargs)

    return call


def _native_sync(driver: AnyDriver) -> SyncStore | None:
    if _is_sync_versioned(driver):
        return _Versioned(driver)
    return _MinimalAsVersioned(driver) if _is_sync_minimal(driver) else None


def _native_async(driver: AnyDriver) -> AsyncStore | None:
    if _is_async_versioned(driver):
        return _AsyncVersioned(driver)
    return _AsyncMinimalAsVersioned(driver) if _is_async_minimal(driver) else None


_LOOP_THREAD = _LoopThread()


def sync_store(driver: AnyDriver) -> SyncStore:
    """The store the WSGI shell uses for ``driver`` (a driver :func:`check_driver` passed:
    the manager checks each driver once, when it is chosen or built)."""
    native = _native_sync(driver)
    if native is not None:
        return native
    asynchronous = _native_async(driver)
    assert asynchronous is not None, "check_driver let a non-driver through"
    return _AsyncAsSync(asynchronous, _LOOP_THREAD)


def async_twin(driver: AnyDriver) -> AnyDriver:
    """The driver the ASGI shell uses: a dual-flavour driver's async side (a new object,
    checked here), else ``driver``."""
    return check_driver(driver.to_async()) if isinstance(driver, HasAsyncTwin) else driver


def async_store(driver: AnyDriver) -> AsyncStore:
    """The store the ASGI shell uses for ``driver`` (checked, as for :func:`sync_store`); a
    dual-flavour driver gives its async side."""
    driver = async_twin(driver)
    native = _native_async(driver)
    if native is not None:
        return native
    synchronous = _native_sync(driver)
    assert synchronous is not None, "check_driver let a non-driver through"
    # Drivers that never block (the memory driver) say so, and skip the thread hop; a driver
    # whose reads are quick local reads (the filesystem driver) can say so for reads alone.
    # (getattr rather than BlockingHints: a driver may declare one of the two.)
    blocking = bool(getattr(driver, "blocking", True))
    blocking_reads = bool(getattr(driver, "blocking_reads", blocking))
    return _SyncAsAsync(synchronous, blocking=blocking, blocking_reads=blocking_reads)

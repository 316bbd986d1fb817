"""Platform adapters and the choice of driver.

An adapter is found through the entry-point group ``hostsessions.adapters``; the entry
point names an object with a ``name``, ``detect(environ)``, ``default_driver(environ)``
and ``drivers`` (driver names mapped to ``"package.module:factory"`` entry points).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .config import DEFAULT_FS_BASE, ENTRYPOINT_PATTERN, DriverConfig, SessionConfig
from .errors import SessionConfigError
from .hosts import Host, detect_host

if TYPE_CHECKING:
    from .drivers.base import AnyDriver

__all__ = [
    "BUILTIN_DRIVERS",
    "DRIVER_ENV_VAR",
    "DRIVER_EXTRAS",
    "ENTRY_POINT_GROUP",
    "FIRST_PARTY_DRIVERS",
    "LOCAL_STORE_DIR",
    "Adapter",
    "DriverChoice",
    "LocalAdapter",
    "build_driver",
    "choose_driver",
    "import_entrypoint",
    "installed_adapters",
    "resolve_driver_name",
]

ENTRY_POINT_GROUP = "hostsessions.adapters"
DRIVER_ENV_VAR = "HOSTSESSIONS_DRIVER"
LOCAL_STORE_DIR = DEFAULT_FS_BASE

BUILTIN_DRIVERS: Mapping[str, str] = {
    "memory": "hostsessions.drivers.memory_driver:MemoryDriver",
    "fs": "hostsessions.drivers.fs_driver:FsDriver",
    "fs-lite": "hostsessions.drivers.fs_lite_driver:FsLiteDriver",
    "redis": "hostsessions.drivers:redis",
}

# Built-in drivers whose client library is an extra of the core: name -> (module, extra).
DRIVER_EXTRAS: Mapping[str, tuple[str, str]] = {
    "redis": ("redis", "redis"),
}

# First-party drivers that live in adapter distributions: name -> extra.
FIRST_PARTY_DRIVERS: Mapping[str, str] = {
    "dynamodb": "aws",
    "firestore": "gcp",
    "azure-tables": "azure",
}


@runtime_checkable
class Adapter(Protocol):
    """What a platform adapter provides."""

    name: str
    drivers: Mapping[str, str]

    def detect(self, environ: Mapping[str, str]) -> bool: ...

    def default_driver(self, environ: Mapping[str, str]) -> DriverConfig: ...


class LocalAdapter:
    """The last resort: a filesystem store under ``./.hostsessions/sessions``."""

    name = "local"
    drivers: Mapping[str, str] = BUILTIN_DRIVERS

    def detect(self, environ: Mapping[str, str]) -> bool:
        return True

    def default_driver(self, environ: Mapping[str, str]) -> DriverConfig:
        return DriverConfig("hostsessions.drivers.fs_driver:FsDriver", {"base": LOCAL_STORE_DIR})


def installed_adapters() -> list[Adapter]:
    """Every adapter registered under the entry-point group, in name order."""
    # importlib.metadata brings email, zipfile and csv along: loaded when a middleware
    # first chooses its driver, not by `import hostsessions`.
    from importlib.metadata import entry_points

    found: list[Adapter] = []
    for entry_point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            adapter = entry_point.load()
        except Exception as exc:  # a broken plugin must not hide the others' error messages
            raise SessionConfigError(
                f"the hostsessions adapter {entry_point.name!r} ({entry_point.value}) "
                f"failed to import: {exc}"
            ) from exc
        if isinstance(adapter, type):
            adapter = adapter()
        if not isinstance(adapter, Adapter):
            raise SessionConfigError(
                f"entry point {entry_point.name!r} in {ENTRY_POINT_GROUP} is not an adapter "
                "(it needs name, drivers, detect() and default_driver())"
            )
        found.append(adapter)
    return found


def _driver_table(adapters: list[Adapter]) -> dict[str, str]:
    table = dict(BUILTIN_DRIVERS)
    for adapter in adapters:
        table.update(adapter.drivers)
    return table


def resolve_driver_name(
    name: str, options: Mapping[str, Any] | None = None, adapters: list[Adapter] | None = None
) -> DriverConfig:
    """A registered driver name, or a ``package.module:factory`` path, as a DriverConfig."""
    if ENTRYPOINT_PATTERN.match(name):
        return DriverConfig(name, dict(options or {}))
    table = _driver_table(installed_adapters() if adapters is None else adapters)
    if name in DRIVER_EXTRAS and table.get(name) == BUILTIN_DRIVERS[name]:
        module, extra = DRIVER_EXTRAS[name]
        # Found, not imported: the client library loads when the first session needs it.
        if importlib.util.find_spec(module) is None:
            raise SessionConfigError(
                f"the {name!r} driver needs the {module} package: "
                f"pip install 'hostsessions[{extra}]'"
            )
    if name in table:
        return DriverConfig(table[name], dict(options or {}))
    if name in FIRST_PARTY_DRIVERS:
        extra = FIRST_PARTY_DRIVERS[name]
        raise SessionConfigError(
            f"the {name!r} driver lives in the hostsessions-{extra} adapter, which is not "
            f"installed: pip install 'hostsessions[{extra}]'"
        )
    known = ", ".join(sorted(set(table) | set(FIRST_PARTY_DRIVERS)))
    raise SessionConfigError(
        f"unknown driver {name!r}; use one of {known}, a DriverConfig, or a driver object"
    )


@dataclass(frozen=True)
class DriverChoice:
    """Which driver a config leads to, and why (what ``hostsessions doctor`` prints)."""

    driver: DriverConfig | AnyDriver  # a DriverConfig, or a driver object given in code
    reason: str
    host: Host | None
    adapter: str | None


def choose_driver(config: SessionConfig, environ: Mapping[str, str] | None = None) -> DriverChoice:
    """Apply the selection rules: code, then ``HOSTSESSIONS_DRIVER``, then the adapters."""
    environ = os.environ if environ is None else environ
    host = detect_host(environ)
    driver = config.driver
    if isinstance(driver, DriverConfig):
        return DriverChoice(driver, "given in code as a DriverConfig", host, None)
    if isinstance(driver, str):
        resolved = resolve_driver_name(driver, config.options)
        return DriverChoice(resolved, f"named in code: driver={driver!r}", host, None)
    if driver is not None:
        return DriverChoice(
            driver, f"given in code as a {type(driver).__name__} object", host, None
        )

    adapters = installed_adapters()
    from_env = environ.get(DRIVER_ENV_VAR, "").strip()
    if from_env:
        resolved = resolve_driver_name(from_env, config.options, adapters)
        return DriverChoice(resolved, f"named by {DRIVER_ENV_VAR}={from_env}", host, None)

    for adapter in adapters:
        if adapter.detect(environ):
            chosen = adapter.default_driver(environ)
            if config.options:
                chosen = DriverConfig(chosen.entrypoint, {**chosen.options, **config.options})
            where = host.label if host else "this environment"
            return DriverChoice(
                chosen, f"the {adapter.name} adapter recognised {where}", host, adapter.name
            )

    if host is not None:
        raise SessionConfigError(
            f"hostsessions detected {host.label} (from {', '.join(host.evidence)}) but its "
            f"adapter is not installed, so sessions would sit on one instance's temporary "
            f"disk and vanish. Fix: {host.install_hint}, or name a driver explicitly "
            f"(SessionConfig(driver=...) or {DRIVER_ENV_VAR})."
        )
    local = LocalAdapter()
    chosen = local.default_driver(environ)
    if config.options:
        chosen = DriverConfig(chosen.entrypoint, {**chosen.options, **config.options})
    return DriverChoice(chosen, "no cloud host detected: local filesystem store", None, local.name)


def import_entrypoint(entrypoint: str) -> Callable[..., Any]:
    """Import ``package.module:attr.path`` and return the object."""
    module_name, _, attr_path = entrypoint.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SessionConfigError(f"cannot import driver module {module_name!r}: {exc}") from exc
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError as exc:
            raise SessionConfigError(f"{module_name!r} has no attribute {attr_path!r}") from exc
    if not callable(target):
        raise SessionConfigError(f"driver entrypoint {entrypoint!r} is not callable")
    return target  # type: ignore[no-any-return]


def build_driver(driver: DriverConfig | AnyDriver) -> AnyDriver:
    """Instantiate a DriverConfig (checking that the factory made a driver); pass a driver
    object through."""
    from .storage import check_driver  # here: storage loads only once a driver is built

    if not isinstance(driver, DriverConfig):
        return driver
    factory = import_entrypoint(driver.entrypoint)
    try:
        return check_driver(factory(**dict(driver.options)))
    except TypeError as exc:
        raise SessionConfigError(
            f"driver {driver.entrypoint!r} rejected its options: {exc}"
        ) from exc

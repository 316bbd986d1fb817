"""Storage drivers: the protocols, the built-in drivers and factories for every first-party one.

The cloud factories (:func:`dynamodb`, :func:`firestore`, :func:`azure_tables`) import their
adapter package only when called, so the core never loads a cloud SDK on its own.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..errors import SessionConfigError
from .base import (
    AsyncDriver,
    AsyncVersionedDriver,
    Driver,
    Record,
    SweepableDriver,
    VersionedDriver,
    WriteConflict,
)
from .fs_driver import FsDriver
from .memory_driver import MemoryDriver

__all__ = [
    "AsyncDriver",
    "AsyncVersionedDriver",
    "Driver",
    "FsDriver",
    "MemoryDriver",
    "Record",
    "SweepableDriver",
    "VersionedDriver",
    "WriteConflict",
    "azure_tables",
    "dynamodb",
    "firestore",
    "fs",
    "memory",
]


def memory(**options: Any) -> Any:
    """A store in this process's memory, bounded and self-sweeping: for tests and
    single-process development. Options: see :class:`MemoryDriver`."""
    return MemoryDriver(**options)


DEFAULT_FS_BASE = os.path.join(".hostsessions", "sessions")


def fs(base: str | os.PathLike[str] = DEFAULT_FS_BASE, **options: Any) -> Any:
    """A store of one file per session under ``base``, written atomically."""
    return FsDriver(base=base, **options)


def _from_adapter(module: str, factory: str, extra: str, options: dict[str, Any]) -> Any:
    try:
        package = importlib.import_module(module)
    except ImportError as exc:
        raise SessionConfigError(
            f"this driver needs the hostsessions-{extra} adapter: "
            f"pip install 'hostsessions[{extra}]'"
        ) from exc
    return getattr(package, factory)(**options)


def dynamodb(**options: Any) -> Any:
    """Amazon DynamoDB (``pip install 'hostsessions[aws]'``); see that adapter for options."""
    return _from_adapter("hostsessions_aws", "dynamodb", "aws", options)


def firestore(**options: Any) -> Any:
    """Google Cloud Firestore (``pip install 'hostsessions[gcp]'``); options: see that adapter."""
    return _from_adapter("hostsessions_gcp", "firestore", "gcp", options)


def azure_tables(**options: Any) -> Any:
    """Azure Table storage (``pip install 'hostsessions[azure]'``); see that adapter for options."""
    return _from_adapter("hostsessions_azure", "azure_tables", "azure", options)

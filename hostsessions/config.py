"""Configuration objects: what a user passes to the middleware."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from .checks import is_mapping, is_positive_number, is_text, is_whole_number
from .errors import SessionConfigError

if TYPE_CHECKING:
    from .drivers.base import AnyDriver

__all__ = [
    "COOKIE_NAME_PATTERN",
    "DEFAULT_FS_BASE",
    "DEFAULT_RETRY_BUDGET",
    "ENTRYPOINT_PATTERN",
    "CookieOptions",
    "DriverConfig",
    "SameSite",
    "SessionConfig",
]

COOKIE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]+$")
ENTRYPOINT_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

SameSite = Literal["lax", "strict", "none"]


@dataclass(frozen=True)
class CookieOptions:
    """The session cookie. HttpOnly is always on.

    ``secure=None`` sets Secure on every request except plain-http requests to a
    development or test host (localhost, loopback, ``*.test``, the frameworks' test
    clients' ``testserver``) that no proxy marks as https: local development and test
    clients work without TLS, and production never leaks the cookie (docs/security.md).
    """

    name: str = "hostsessions"
    domain: str | None = None
    path: str = "/"
    secure: bool | None = None
    same_site: SameSite = "lax"
    max_age: int | None = None
    partitioned: bool = False

    def __post_init__(self) -> None:
        if not is_text(self.name) or not COOKIE_NAME_PATTERN.match(self.name):
            raise SessionConfigError(
                f"invalid cookie name {self.name!r}: use letters, digits, '_' and '-' only"
            )
        if self.same_site not in ("lax", "strict", "none"):
            raise SessionConfigError(
                f"same_site must be 'lax', 'strict' or 'none', not {self.same_site!r}"
            )
        if self.same_site == "none" and self.secure is False:
            raise SessionConfigError("same_site='none' needs a Secure cookie; drop secure=False")
        if self.partitioned and self.secure is False:
            raise SessionConfigError("partitioned cookies must be Secure; drop secure=False")
        if self.max_age is not None and not is_whole_number(self.max_age):
            raise SessionConfigError(
                f"max_age must be a whole number of seconds >= 0, not {self.max_age!r}"
            )
        if not is_text(self.path) or not self.path.startswith("/") or ";" in self.path:
            raise SessionConfigError(
                f"cookie path must start with '/' and contain no ';': {self.path!r}"
            )
        if self.domain is not None and (
            not is_text(self.domain) or not re.fullmatch(r"[A-Za-z0-9.-]+", self.domain)
        ):
            raise SessionConfigError(f"invalid cookie domain {self.domain!r}")


@dataclass(frozen=True)
class DriverConfig:
    """A driver named by import path, loaded when the first session needs storage.

    ``entrypoint`` is ``"package.module:factory"``; the factory is called with ``options``
    as keyword arguments and returns a driver (sync or async, minimal or versioned).
    It is plain data, so it can be written to and read from configuration files.
    """

    entrypoint: str
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])

    def __post_init__(self) -> None:
        if not is_text(self.entrypoint) or not ENTRYPOINT_PATTERN.match(self.entrypoint):
            raise SessionConfigError(
                f"DriverConfig entrypoint must look like 'package.module:factory', "
                f"not {self.entrypoint!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"entrypoint": self.entrypoint, "options": dict(self.options)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriverConfig:
        return cls(entrypoint=data["entrypoint"], options=dict(data.get("options") or {}))


#: Seconds a save may spend retrying after write conflicts (``SessionConfig.retry_budget``).
DEFAULT_RETRY_BUDGET = 5.0
#: Where the filesystem store keeps sessions when nothing else is said (relative to the
#: working directory): the local adapter's choice and the ``fs`` driver's default.
DEFAULT_FS_BASE = os.path.join(".hostsessions", "sessions")


@dataclass(frozen=True, init=False)
class SessionConfig:
    """Everything the middleware needs to know.

    ``driver`` is a registered name (``"memory"``, ``"fs"``, ``"fs-lite"``, ``"redis"``,
    ``"dynamodb"``, ``"firestore"``, ``"azure-tables"``), a :class:`DriverConfig`, a driver
    object, or ``None`` to let the platform adapters choose (``HOSTSESSIONS_DRIVER``
    overrides that choice).
    ``options`` go to a named driver's factory. ``cookie`` is a :class:`CookieOptions` or
    just its name. ``ttl`` is the default lifetime of each key in seconds (``None``: keys
    never expire). ``retry_budget`` is how many seconds a save may spend retrying after
    write conflicts before it fails with :class:`SessionStorageError`.
    """

    driver: str | DriverConfig | AnyDriver | None
    options: Mapping[str, Any]
    cookie: CookieOptions
    ttl: float | None
    retry_budget: float

    def __init__(
        self,
        driver: str | DriverConfig | AnyDriver | None = None,
        options: Mapping[str, Any] | None = None,
        cookie: CookieOptions | str | None = None,
        ttl: float | None = None,
        *,
        retry_budget: float = DEFAULT_RETRY_BUDGET,
    ) -> None:
        cookie = _cookie_options(cookie)
        if ttl is not None and not is_positive_number(ttl):
            raise SessionConfigError(
                f"ttl must be a positive number of seconds or None, not {ttl!r}"
            )
        if isinstance(driver, str) and not driver:
            raise SessionConfigError("driver name must not be empty")
        if options is not None and not is_mapping(options):
            raise SessionConfigError("options must be a mapping of driver options")
        if options and not (driver is None or isinstance(driver, str)):
            raise SessionConfigError(
                "options go with a driver name (or auto-selection); put them in the "
                "DriverConfig or pass them to the driver you built"
            )
        if not is_positive_number(retry_budget):
            raise SessionConfigError(
                f"retry_budget must be a positive number of seconds, not {retry_budget!r}"
            )
        object.__setattr__(self, "driver", driver)
        object.__setattr__(self, "options", dict(options or {}))
        object.__setattr__(self, "cookie", cookie)
        object.__setattr__(self, "ttl", ttl)
        object.__setattr__(self, "retry_budget", float(retry_budget))


def _cookie_options(cookie: object) -> CookieOptions:
    if cookie is None:
        return CookieOptions()
    if isinstance(cookie, str):
        return CookieOptions(name=cookie)
    if isinstance(cookie, CookieOptions):
        return cookie
    raise SessionConfigError(
        f"cookie must be a CookieOptions or a cookie name, not {type(cookie).__name__}"
    )

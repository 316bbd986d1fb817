"""The ``hostsessions`` command: ``doctor``, ``gc`` and ``demo``."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence

from .adapters import DRIVER_ENV_VAR, choose_driver, installed_adapters
from .config import DriverConfig, SessionConfig
from .errors import SessionConfigError, SessionError
from .hosts import detect_host, near_misses

__all__ = ["SECRET_OPTION", "URL_PASSWORD", "build_parser", "demo", "doctor", "gc", "main"]


def _config_from(args: argparse.Namespace) -> SessionConfig:
    return SessionConfig(driver=getattr(args, "driver", None), options=_options(args))


def _options(args: argparse.Namespace) -> dict[str, str]:
    options: dict[str, str] = {}
    for item in getattr(args, "option", None) or ():
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SessionConfigError(f"--option takes NAME=VALUE, not {item!r}")
        options[name] = value
    return options


SECRET_OPTION = re.compile(r"secret|password|key|token|credential|connection_string|sas", re.I)
# The password in a URL's user part: redis://user:PASSWORD@host, rediss://:PASSWORD@host.
URL_PASSWORD = re.compile(r"(?<=://)([^/@:]*):[^/@]*@")


def _shown(name: str, value: object) -> str:
    """An option as doctor prints it: secrets are never echoed to a terminal or a log."""
    if SECRET_OPTION.search(name) and value:
        return "'***'"
    if isinstance(value, str):
        return repr(URL_PASSWORD.sub(r"\1:***@", value))
    return repr(value)


def doctor(args: argparse.Namespace) -> int:
    """Print what was detected, which driver was chosen and why."""
    environ = os.environ
    host = detect_host(environ)
    if host is not None:
        print(f"host:      {host.label} (from {', '.join(host.evidence)})")
    else:
        print("host:      none recognised (a machine of your own)")
        # Some of a host's variables but not all: say what was looked for and what is
        # missing, so a half-configured deployment is not mistaken for a laptop.
        for miss in near_misses(environ):
            print(f"partly:    {miss.signature.label}: looked for {', '.join(miss.looked_for)}")
            print(f"           missing {', '.join(miss.missing)}")
    adapters = installed_adapters()
    if adapters:
        for adapter in adapters:
            verdict = (
                "detects this environment" if adapter.detect(environ) else "not this environment"
            )
            names = ", ".join(sorted(adapter.drivers))
            print(f"adapter:   {adapter.name} ({verdict}); drivers: {names}")
    else:
        print("adapter:   none installed (pip install 'hostsessions[aws]', '[gcp]' or '[azure]')")
    print(f"{DRIVER_ENV_VAR}: {environ.get(DRIVER_ENV_VAR) or '(not set)'}")
    try:
        choice = choose_driver(_config_from(args), environ)
    except SessionError as exc:
        print(f"driver:    none: {exc}")
        return 1
    driver = choice.driver
    if isinstance(driver, DriverConfig):
        options = ", ".join(f"{k}={_shown(k, v)}" for k, v in driver.options.items())
        print(f"driver:    {driver.entrypoint}({options})")
    else:
        print(f"driver:    {driver!r}")
    print(f"because:   {choice.reason}")
    return 0


def gc(args: argparse.Namespace) -> int:
    """Delete expired sessions from stores that do not expire records on their own."""
    from .adapters import build_driver
    from .drivers.base import SweepableDriver

    choice = choose_driver(_config_from(args), os.environ)
    driver = build_driver(choice.driver)
    if not isinstance(driver, SweepableDriver):
        print(
            f"{type(driver).__name__} has no sweep(): its store expires records itself "
            "(or, for a custom driver, offers no way to find expired ones)"
        )
        return 0
    removed = driver.sweep()
    print(f"removed {removed} expired session(s) with {type(driver).__name__}")
    return 0


def demo(args: argparse.Namespace) -> int:
    """Run the shopping-cart demo on 127.0.0.1."""
    from .demo import DemoAddressError, run

    try:
        run(host=args.host, port=args.port, driver=args.driver)
    except DemoAddressError as problem:
        print(f"hostsessions demo: {problem}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hostsessions", description="Server-side sessions: diagnostics, sweeping and the demo."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler in (("doctor", doctor), ("gc", gc)):
        sub = commands.add_parser(name, help=(handler.__doc__ or "").strip().splitlines()[0])
        sub.add_argument("--driver", help="a driver name or package.module:factory (default: auto)")
        sub.add_argument(
            "--option",
            action="append",
            metavar="NAME=VALUE",
            help="a driver option, e.g. --option base=/srv/sessions (repeatable)",
        )
        sub.set_defaults(handler=handler)
    sub = commands.add_parser("demo", help=(demo.__doc__ or "").strip())
    sub.add_argument("--host", default="127.0.0.1")
    sub.add_argument("--port", type=int, default=8000)
    sub.add_argument("--driver", help="a driver name (default: auto, the filesystem store here)")
    sub.set_defaults(handler=demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except SessionError as exc:
        print(f"hostsessions: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

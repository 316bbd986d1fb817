"""What Django's session rules cost in the Django engine: the engine with each rule switched
off, next to the core's WSGI middleware around the same Django app, interleaved request by
request in one process (thread CPU time, so other processes on the machine count less).

The rules the engine keeps and the core's middleware (by default) does not:

- every key lives ``SESSION_COOKIE_AGE`` (the manager's ``ttl``);
- the whole session is renewed at each save (``SessionState.touch()``);
- the cookie is sent again, with ``Max-Age`` and ``expires``, on every response that saved.

Variants (``--variants``, the first is the reference the others are compared with):

    core          Django in hostsessions.wsgi.SessionMiddleware (framework_bench)
    core_ttl      the same with ``ttl=SESSION_COOKIE_AGE``
    core_rules    the same with ``ttl`` and the cookie re-sent with ``Max-Age``
    engine        SESSION_ENGINE="hostsessions.django" under hostsessions.django.SessionMiddleware
    no_renewal    the engine without the renewal at each save
    no_cookie     the engine without the cookie sent again (only when the ID changes)
    no_rules      the engine without the three rules (keys without a lifetime of their own)

The variants only exist here, to measure: each one breaks a rule the tests pin. Run with
the peer virtualenv that has Django (see benchmarks/README.md, "Flask and Django"), from
the repository root::

    "$PEERBENCH_DIR/venv/bin/python" benchmarks/peers/django_rules.py --n 300 --rounds 10
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import framework_bench  # noqa: E402

ENVIRON = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "QUERY_STRING": "",
    "SERVER_NAME": "testserver",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "testserver",
    "REMOTE_ADDR": "127.0.0.1",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def _without(*rules: str) -> type:
    """hostsessions.django.SessionMiddleware on an engine with ``rules`` switched off."""
    import hostsessions.django as engine
    from hostsessions.manager import SessionManager
    from hostsessions.session import Session

    manager = SessionManager(replace(engine.session_manager().config, ttl=None))
    manager._driver = engine.session_manager().driver()  # the same store as the others

    class Store(engine.SessionStore):  # type: ignore[misc]
        @classmethod
        def _for_checked_id(cls, cookie_id: str | None) -> Any:
            if "ttl" not in rules:
                return super()._for_checked_id(cookie_id)
            store = cls.__new__(cls)  # as the engine makes it, on the manager without ttl
            store._manager = manager
            store._cookie_key = cookie_id
            store._state = state = manager.new_state(cookie_id, id_checked=True)
            store._core = Session(state, manager.sync_store)
            return store

        def _prepare_save(self) -> None:
            if "renewal" not in rules:
                super()._prepare_save()

        def _respond(self, request: Any, response: Any) -> None:
            if "cookie" not in rules:
                super()._respond(request, response)
            elif self._wants_save(request, response):
                self.save()
                if self.session_key != self._cookie_key:
                    self._attach_cookie(response)

    class Middleware(engine.SessionMiddleware):  # type: ignore[misc]
        def __init__(self, get_response: Any) -> None:
            super().__init__(get_response)
            self.SessionStore = Store

    return Middleware


def _engine_without(*rules: str) -> Callable[[], Any]:
    def make() -> Any:
        framework_bench._django_settings()
        name = "Without_" + "_".join(rules)
        setattr(sys.modules[__name__], name, _without(*rules))
        return framework_bench._django_handler("hostsessions.django", f"{__name__}.{name}")

    return make


def _core_with(*, ttl: bool, cookie: bool) -> Callable[[], Any]:
    def make() -> Any:
        from django.conf import settings

        from hostsessions import CookieOptions, SessionConfig
        from hostsessions.wsgi import SessionMiddleware

        framework_bench._django_settings()
        config, _ = framework_bench._config("memory")
        age = settings.SESSION_COOKIE_AGE
        rules = SessionConfig(
            driver=config.driver,
            ttl=age if ttl else None,
            cookie=CookieOptions(max_age=age) if cookie else None,
        )
        return SessionMiddleware(framework_bench._django_handler(None), rules)

    return make


VARIANTS: dict[str, Callable[[], Any]] = {
    "core": framework_bench.make_django_core,
    "core_ttl": _core_with(ttl=True, cookie=False),
    "core_rules": _core_with(ttl=True, cookie=True),
    "engine": framework_bench.make_django_middleware,
    "no_renewal": _engine_without("renewal"),
    "no_cookie": _engine_without("cookie"),
    "no_rules": _engine_without("ttl", "renewal", "cookie"),
}


def request(app: Any, cookies: dict[str, str]) -> int:
    """One ``GET /b`` with the client's cookies; its thread CPU time in ns. The response's
    cookies are kept, as a browser keeps them."""
    environ = dict(ENVIRON, PATH_INFO="/b")
    environ["wsgi.input"] = io.BytesIO(b"")
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return lambda data: None

    begin = time.thread_time_ns()
    body = app(environ, start_response)
    b"".join(body)
    close = getattr(body, "close", None)
    if close is not None:
        close()
    spent = time.thread_time_ns() - begin
    if not started[0].startswith("200"):
        raise RuntimeError(f"/b answered {started[0]}")
    for name, value in started[1]:
        if name.lower() == "set-cookie":
            cookie_name, _, rest = value.partition("=")
            cookies[cookie_name] = rest.partition(";")[0]
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    options = parser.parse_args()
    names = options.variants.split(",")
    apps = {name: VARIANTS[name]() for name in names}
    cookies: dict[str, dict[str, str]] = {name: {} for name in names}
    for name in names:  # a session per variant, and warm code
        for _ in range(300):
            request(apps[name], cookies[name])
    times: dict[str, list[int]] = {name: [] for name in names}
    for _ in range(options.rounds):
        for i in range(options.n):
            for name in names if i % 2 == 0 else names[::-1]:
                times[name].append(request(apps[name], cookies[name]))
    medians = {name: statistics.median(times[name]) / 1000 for name in names}
    reference = medians[names[0]]
    import hostsessions

    print(f"hostsessions from {os.path.dirname(os.path.dirname(hostsessions.__file__))}")
    print(f"load average {os.getloadavg()[0]:.2f}; /b, thread CPU µs (median), vs {names[0]}")
    for name in names:
        print(f"{name:12s} {medians[name]:7.1f}  {medians[name] - reference:+5.1f}")


if __name__ == "__main__":
    main()

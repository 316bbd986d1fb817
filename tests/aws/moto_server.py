"""moto's server with one change: each request is handled whole before the next.

DynamoDB makes a conditional write atomic on its item. moto does not: it evaluates the
condition, then stores the item, with no lock between the two, so two requests on its
threaded server can both pass the same condition. Handling one request at a time gives
moto DynamoDB's atomicity (connections and I/O stay concurrent); the concurrency tests
then check the core and the driver, not a race inside moto.

    python tests/aws/moto_server.py PORT        (listens on 127.0.0.1)
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """The WSGI app ``app`` run under one lock, its response body read inside it."""
    lock = threading.Lock()

    def handle(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with lock:
            return list(app(environ, start_response))

    return handle


def main() -> None:
    port = int(sys.argv[1])
    app = serialized(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

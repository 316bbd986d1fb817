"""A threaded stdlib WSGI server for the demo and the tests: no dependency, quiet logs."""

from __future__ import annotations

import socketserver
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

__all__ = ["QuietHandler", "ThreadingWSGIServer", "make_dev_server"]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """The stdlib WSGI server, one thread per request."""

    daemon_threads = True
    request_queue_size = 128


def make_dev_server(host: str, port: int, app: Any, *, quiet: bool = True) -> ThreadingWSGIServer:
    handler = QuietHandler if quiet else WSGIRequestHandler
    return make_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=handler)

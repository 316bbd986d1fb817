"""The Secure rule, both sides (docs/security.md): the frameworks' own test clients keep
the session with zero config, while https (direct, or behind a TLS-terminating proxy) and
plain http to a public host name get Secure cookies. ASGI and WSGI share the rule."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.testclient import TestClient as FastAPITestClient
from litestar import Litestar, Request, get
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient as LitestarTestClient
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from hostsessions import SessionConfig
from hostsessions.asgi import SessionMiddleware, get_session
from hostsessions.drivers import memory
from hostsessions.fastapi import SessionDep
from hostsessions.testing.server import serve_asgi
from hostsessions.wsgi import SessionMiddleware as WsgiSessionMiddleware

CONFIG = SessionConfig(driver="memory")


async def count(request: StarletteRequest) -> JSONResponse:
    session = get_session(request)
    n = await session.get("n", 0) + 1
    session.set("n", n)
    return JSONResponse({"n": n})


def starlette_app() -> Starlette:
    app = Starlette(routes=[Route("/count", count)])
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver="memory"))
    return app


def fastapi_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver="memory"))

    @app.get("/count")
    async def counter(session: SessionDep) -> dict[str, int]:
        n = await session.get("n", 0) + 1
        session.set("n", n)
        return {"n": n}

    return app


def litestar_app() -> Litestar:
    @get("/count")
    async def counter(request: Request[Any, Any, Any]) -> dict[str, int]:
        session = get_session(request)
        n = await session.get("n", 0) + 1
        session.set("n", n)
        return {"n": n}

    return Litestar(
        route_handlers=[counter],
        middleware=[DefineMiddleware(SessionMiddleware, config=SessionConfig(driver=memory()))],
    )


def counts(client: Any) -> list[int]:
    return [client.get("/count").json()["n"] for _ in range(3)]


# ---- the frameworks' own test clients keep the session, with zero config --------------


def test_starlette_test_client_keeps_the_session() -> None:
    with TestClient(starlette_app()) as client:
        assert counts(client) == [1, 2, 3]
        assert "Secure" not in client.get("/count").headers.get("set-cookie", "")


def test_fastapi_test_client_keeps_the_session() -> None:
    with FastAPITestClient(fastapi_app()) as client:
        assert counts(client) == [1, 2, 3]


def test_httpx_asgi_transport_on_testserver_keeps_the_session() -> None:
    async def main() -> list[int]:
        transport = httpx.ASGITransport(app=fastapi_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return [(await client.get("/count")).json()["n"] for _ in range(3)]

    assert asyncio.run(main()) == [1, 2, 3]


def test_litestar_test_client_keeps_the_session() -> None:
    with LitestarTestClient(app=litestar_app()) as client:
        assert counts(client) == [1, 2, 3]


def test_litestar_through_uvicorn() -> None:
    with serve_asgi(litestar_app()) as url, httpx.Client(base_url=url) as client:
        assert counts(client) == [1, 2, 3]


# ---- https, direct or through a proxy, is Secure ------------------------------------------


def test_https_test_client_gets_a_secure_cookie_and_keeps_it() -> None:
    with TestClient(starlette_app(), base_url="https://testserver") as client:
        response = client.get("/count")
        assert "Secure" in response.headers["set-cookie"]
        assert counts(client) == [2, 3, 4]


@pytest.mark.parametrize(
    "header",
    [
        {"x-forwarded-proto": "https"},
        {"forwarded": "for=203.0.113.9;proto=https;host=shop.example.com"},
    ],
)
def test_a_tls_terminating_proxy_header_makes_it_secure(header: dict[str, str]) -> None:
    with TestClient(starlette_app()) as client:
        assert "Secure" in client.get("/count", headers=header).headers["set-cookie"]


def test_a_proxy_that_rewrites_the_scheme_makes_it_secure() -> None:
    """uvicorn's proxy-headers middleware (``--proxy-headers``) turns the scope's scheme
    into https; the hop to the app is plain http to 127.0.0.1."""

    async def strip_header_after_rewrite(scope: Any, receive: Any, send: Any) -> None:
        scope["headers"] = [(k, v) for k, v in scope["headers"] if k != b"x-forwarded-proto"]
        await app(scope, receive, send)

    app = starlette_app()
    proxied = ProxyHeadersMiddleware(strip_header_after_rewrite, trusted_hosts="*")
    with serve_asgi(proxied) as url:
        response = httpx.get(f"{url}/count", headers={"x-forwarded-proto": "https"})
    assert "Secure" in response.headers["set-cookie"]


def test_plain_http_to_a_public_host_name_stays_secure() -> None:
    with TestClient(starlette_app(), base_url="http://shop.example.com") as client:
        assert "Secure" in client.get("/count").headers["set-cookie"]
    with serve_asgi(starlette_app()) as url:
        response = httpx.get(f"{url}/count", headers={"host": "shop.example.com"})
    assert "Secure" in response.headers["set-cookie"]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def serve_https(app: Any, cert: Path, key: Path) -> Iterator[str]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def test_uvicorn_serving_https_on_localhost_gets_secure(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with (
        serve_https(starlette_app(), cert, key) as url,
        httpx.Client(base_url=url, verify=str(cert)) as client,
    ):
        response = client.get("/count")
        assert "Secure" in response.headers["set-cookie"]
        assert counts(client) == [2, 3, 4]


# ---- the same rule under WSGI ---------------------------------------------------------


def wsgi_set_cookie(**environ: str) -> str:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["hostsessions.session"].set("n", 1)
        start_response("200 OK", [])
        return [b"ok"]

    captured: list[list[tuple[str, str]]] = []
    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "wsgi.url_scheme": "http"}
    body = WsgiSessionMiddleware(app, CONFIG)(
        {**base, **environ}, lambda status, headers, exc=None: captured.append(headers)
    )
    list(body)
    body.close()  # type: ignore[attr-defined]
    return dict(captured[0])["Set-Cookie"]


@pytest.mark.parametrize(
    ("environ", "secure"),
    [
        ({"SERVER_NAME": "testserver"}, False),  # Django's test Client sends no Host
        ({"HTTP_HOST": "localhost:5000"}, False),  # Flask's test client
        ({"HTTP_HOST": "testserver", "HTTP_X_FORWARDED_PROTO": "https"}, True),
        ({"HTTP_HOST": "localhost", "HTTP_FORWARDED": "proto=https"}, True),
        ({"HTTP_HOST": "localhost", "wsgi.url_scheme": "https"}, True),
        ({"HTTP_HOST": "shop.example.com"}, True),
        ({"SERVER_NAME": "shop.example.com"}, True),
    ],
)
def test_wsgi_follows_the_same_rule(environ: dict[str, str], secure: bool) -> None:
    assert ("Secure" in wsgi_set_cookie(**environ)) is secure

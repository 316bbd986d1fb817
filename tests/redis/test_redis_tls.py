"""rediss:// URLs: TLS to a real redis-server, verified against the CA the user names, and
a plain SessionStorageError (not a hang, not a silent plaintext fallback) when it cannot be
verified."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from hostsessions import SessionStorageError, drivers
from hostsessions.drivers.redis_driver import AsyncRedisDriver
from hostsessions.testing.redis_server import RedisServer, free_port_pair

KEY = "k" * 43


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A redis-server with a TLS port whose certificate a fresh CA signed: (rediss URL, CA)."""
    folder = tmp_path_factory.mktemp("tls")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certificate.private_key_pem.write_to_path(str(folder / "server.key"))
    certificate.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
    authority.cert_pem.write_to_path(str(folder / "ca.crt"))
    tls_port = free_port_pair()
    extra = [
        "--tls-port", str(tls_port),
        "--tls-cert-file", str(folder / "server.crt"),
        "--tls-key-file", str(folder / "server.key"),
        "--tls-ca-cert-file", str(folder / "ca.crt"),
        "--tls-auth-clients", "no",
    ]  # fmt: skip
    with RedisServer(extra_args=extra):
        yield f"rediss://127.0.0.1:{tls_port}/0", folder / "ca.crt"


def test_a_rediss_url_stores_sessions_over_verified_tls(tls_server: tuple[str, Path]) -> None:
    url, authority = tls_server
    driver = drivers.redis(url, client_options={"ssl_ca_certs": str(authority)})
    version = driver.write(KEY, "over TLS", expires_at=None, expected_version=None)
    record = driver.read(KEY)
    assert record is not None
    assert (record.payload, record.version) == ("over TLS", version)
    driver.close()


def test_the_ca_can_be_named_in_the_url_so_an_environment_variable_says_it_all(
    tls_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, authority = tls_server
    monkeypatch.setenv("HOSTSESSIONS_REDIS_URL", f"{url}?ssl_ca_certs={authority}")
    driver = drivers.redis()
    driver.write(KEY + "u", "named in the URL", expires_at=None, expected_version=None)
    assert driver.read(KEY + "u") is not None
    driver.close()


def test_the_asyncio_twin_keeps_the_tls_options(tls_server: tuple[str, Path]) -> None:
    url, authority = tls_server

    async def main() -> None:
        twin = drivers.redis(url, client_options={"ssl_ca_certs": str(authority)}).to_async()
        assert isinstance(twin, AsyncRedisDriver)
        await twin.write("a" * 43, "async TLS", expires_at=None, expected_version=None)
        record = await twin.read("a" * 43)
        assert record is not None
        assert record.payload == "async TLS"
        await twin.aclose()

    asyncio.run(main())


def test_a_certificate_that_cannot_be_verified_is_a_storage_error(
    tls_server: tuple[str, Path],
) -> None:
    url, _ = tls_server
    driver = drivers.redis(url, timeout=2)  # the system's CAs do not know this one
    with pytest.raises(SessionStorageError, match=r"rediss://127\.0\.0\.1") as caught:
        driver.read(KEY)
    assert "TLS certificate is not trusted" in str(caught.value)
    assert "ssl_ca_certs" in str(caught.value), "the message names the fix"

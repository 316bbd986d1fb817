"""Authlib's Starlette OAuth client on the dict-style session: a full authorization-code
round trip (with PKCE) against a small OAuth provider on 127.0.0.1, both apps served by
uvicorn, the client's state kept in a hostsessions store."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from authlib.integrations.starlette_client import OAuth, OAuthError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from hostsessions import SessionConfig, codec
from hostsessions.asgi import SessionMiddleware
from hostsessions.testing import holds_no_session
from hostsessions.testing.server import serve_asgi

from .helpers import CountingDriver

CLIENT_ID = "shop"
CLIENT_SECRET = secrets.token_urlsafe(16)


# ---- the provider: just enough of RFC 6749 + RFC 7636 to refuse what it should -----------


def provider_app() -> Starlette:
    codes: dict[str, dict[str, str]] = {}
    tokens: dict[str, dict[str, str]] = {}

    async def authorize(request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return PlainTextResponse("bad client or response type", status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return PlainTextResponse("PKCE required", status_code=400)
        code = secrets.token_urlsafe(16)
        # the user "logs in" and consents at once
        codes[code] = {
            "redirect_uri": query["redirect_uri"],
            "challenge": query["code_challenge"],
            "user": "ada",
        }
        back = {"code": code, "state": query["state"]}
        return RedirectResponse(f"{query['redirect_uri']}?{urlencode(back)}", status_code=302)

    async def token(request: Request) -> Response:
        basic = request.headers.get("authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if basic != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = codes.pop(form.get("code", ""), None)  # single use
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier"))
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != grant["challenge"]:
            return JSONResponse({"error": "invalid_grant", "detail": "PKCE"}, status_code=400)
        access = secrets.token_urlsafe(16)
        tokens[access] = {"sub": grant["user"]}
        return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 3600})

    async def userinfo(request: Request) -> Response:
        access = request.headers.get("authorization", "").removeprefix("Bearer ")
        if access not in tokens:
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"sub": tokens[access]["sub"], "name": "Ada Lovelace"})

    return Starlette(
        routes=[
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo),
        ]
    )


# ---- the client app: Authlib's documented Starlette set-up, on hostsessions ---------------


def client_app(provider_url: str, driver: Any) -> Starlette:
    oauth = OAuth()
    oauth.register(
        "provider",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        authorize_url=f"{provider_url}/authorize",
        access_token_url=f"{provider_url}/token",
        api_base_url=f"{provider_url}/",
        client_kwargs={"code_challenge_method": "S256"},
    )

    async def login(request: Request) -> Response:
        redirect_uri = request.url_for("auth")
        response: Response = await oauth.provider.authorize_redirect(request, redirect_uri)
        return response

    async def auth(request: Request) -> Response:
        try:
            token = await oauth.provider.authorize_access_token(request)
        except OAuthError as error:
            return PlainTextResponse(f"login failed: {error.error}", status_code=400)
        userinfo = (await oauth.provider.get("userinfo", token=token)).json()
        request.session["user"] = userinfo
        request.session.regenerate()  # privileges changed: a new session ID
        return RedirectResponse("/me", status_code=303)

    async def me(request: Request) -> Response:
        return JSONResponse({"user": request.session.get("user"), "keys": list(request.session)})

    async def logout(request: Request) -> Response:
        request.session.pop("user", None)
        return RedirectResponse("/me", status_code=303)

    return Starlette(
        routes=[
            Route("/login", login),
            Route("/auth", auth, name="auth"),
            Route("/me", me),
            Route("/logout", logout),
        ],
        middleware=[
            Middleware(
                SessionMiddleware, config=SessionConfig(driver=driver), dict_session=True
            )
        ],
    )


@pytest.fixture(scope="module")
def provider_url() -> Iterator[str]:
    with serve_asgi(provider_app()) as url:
        yield url


def stored_keys(driver: CountingDriver, session_id: str) -> list[str]:
    record = driver.inner.read(session_id)
    assert record is not None, "the session is not in the hostsessions store"
    return list(codec.parse(record.payload))


def test_authorization_code_round_trip_through_uvicorn(provider_url: str) -> None:
    driver = CountingDriver()
    with (
        serve_asgi(client_app(provider_url, driver)) as url,
        httpx.Client(base_url=url) as browser,
    ):
        to_provider = browser.get("/login")
        assert to_provider.status_code == 302
        session_id = browser.cookies["hostsessions"]
        # Authlib's state (and PKCE verifier) are in the store, not in the cookie
        assert [k for k in stored_keys(driver, session_id) if k.startswith("_state_provider_")]
        state = parse_qs(urlparse(to_provider.headers["location"]).query)["state"][0]

        back = browser.get(to_provider.headers["location"])  # the provider, then /auth
        assert back.status_code == 302
        assert parse_qs(urlparse(back.headers["location"]).query)["state"] == [state]
        me = browser.get(back.headers["location"], follow_redirects=True)

        assert me.status_code == 200, me.text
        assert me.json()["user"] == {"sub": "ada", "name": "Ada Lovelace"}
        assert me.json()["keys"] == ["user"], "Authlib cleared its state after the callback"
        new_id = browser.cookies["hostsessions"]
        assert new_id != session_id, "the login regenerated the session ID"
        assert holds_no_session(driver.inner.read(session_id)), "the old ID holds no session"
        assert stored_keys(driver, new_id) == ["user"]

        browser.get("/logout", follow_redirects=True)
        assert browser.get("/me").json() == {"user": None, "keys": []}


def test_callback_from_another_browser_is_refused(provider_url: str) -> None:
    driver = CountingDriver()
    with (
        serve_asgi(client_app(provider_url, driver)) as url,
        httpx.Client(base_url=url) as victim,
        httpx.Client(base_url=url) as attacker,
    ):
        to_provider = attacker.get("/login")
        callback = httpx.get(to_provider.headers["location"]).headers["location"]
        # the victim follows the attacker's callback link: no state in the victim's session
        refused = victim.get(callback)
        assert refused.status_code == 400
        assert "mismatching_state" in refused.text
        assert victim.get("/me").json()["user"] is None


def test_round_trip_through_starlettes_test_client(provider_url: str) -> None:
    driver = CountingDriver()
    with TestClient(client_app(provider_url, driver)) as browser:
        to_provider = browser.get("/login", follow_redirects=False)
        callback = httpx.get(to_provider.headers["location"]).headers["location"]
        me = browser.get(callback, follow_redirects=True)
    assert me.status_code == 200, me.text
    assert me.json()["user"]["sub"] == "ada"


def test_without_the_dict_session_authlib_fails_saying_what_to_do(provider_url: str) -> None:
    """The AsyncSession is not a dict: Authlib's first use of it fails at once, pointing at
    the dict-style session, instead of storing nothing (or everything) silently."""
    app = client_app(provider_url, CountingDriver())
    app.user_middleware.clear()
    app.add_middleware(SessionMiddleware, config=SessionConfig(driver="memory"))
    with TestClient(app) as browser, pytest.raises(TypeError, match="dict-style session"):
        browser.get("/login", follow_redirects=False)

"""A Flask app as a user writes one: Flask-Login, flash messages, and the routes of the
concurrency checks (hostsessions.testing.server, JSON answers), all on ``flask.session`` with
hostsessions underneath and no SECRET_KEY. Served by gunicorn as
``tests.flask_site:create_app()`` (zero config: the local filesystem store under the
working directory) and driven through Flask's test client."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, flash, get_flashed_messages, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_login import (  # type: ignore[import-untyped]
    LoginManager,
    UserMixin,
    current_user,
    login_required,
    login_user,
    logout_user,
)

from hostsessions import SessionConfig
from hostsessions.flask import HostSessions, get_session

PASSWORDS = {"ada": "correct horse battery staple"}


class User(UserMixin):  # type: ignore[misc]
    def __init__(self, name: str) -> None:
        self.id = name


def create_app(config: SessionConfig | None = None) -> Flask:
    app = Flask(__name__)
    HostSessions(app, config)
    login_manager = LoginManager(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id in PASSWORDS else None

    @app.post("/login")
    def login() -> ResponseReturnValue:
        name = request.form["name"]
        if PASSWORDS.get(name) != request.form["password"]:
            return "wrong password", 403
        login_user(User(name))
        flash(f"welcome, {name}")
        return redirect("/messages")

    @app.get("/protected")
    @login_required  # type: ignore[misc]
    def protected() -> str:
        return f"hello {current_user.id}"

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        logout_user()
        flash("logged out")
        return redirect("/messages")

    @app.post("/flash")
    def add_flash() -> ResponseReturnValue:
        flash(request.form["message"], request.form.get("category", "message"))
        return redirect("/messages")

    @app.get("/messages")
    def messages() -> ResponseReturnValue:
        return jsonify([list(pair) for pair in get_flashed_messages(with_categories=True)])

    # ---- the routes hostsessions.testing.server's checks drive -------------------------

    @app.get("/set/<key>")
    def set_key(key: str) -> ResponseReturnValue:
        session[key] = True
        return jsonify("ok")

    @app.get("/incr")
    def incr() -> ResponseReturnValue:
        return jsonify(get_session().update("n", lambda n: n + 1, default=0))

    @app.get("/slow-set")
    def slow_set() -> ResponseReturnValue:
        session.get("anything")
        time.sleep(float(request.args.get("delay", "0.5")))
        session["late"] = True
        return jsonify("ok")

    @app.get("/destroy")
    def destroy() -> ResponseReturnValue:
        get_session().destroy()
        return jsonify("ok")

    @app.get("/dump")
    def dump() -> ResponseReturnValue:
        items: dict[str, Any] = dict(session)
        return jsonify({"id": get_session().id, "items": items})

    return app

"""A Cloud Run function (Functions Framework, HTTP) that keeps a session in Firestore.

``@with_session()`` gives the function a session; ``session_of(request)`` reads it. No
configuration: on Google Cloud the adapter picks Firestore. Locally, run it with the
Functions Framework against the Firestore emulator::

    gcloud emulators firestore start --host-port=127.0.0.1:8086 &
    FIRESTORE_EMULATOR_HOST=127.0.0.1:8086 GOOGLE_CLOUD_PROJECT=demo-shop \\
    HOSTSESSIONS_DRIVER=firestore functions-framework --target=handler --port=8080
"""

from __future__ import annotations

from typing import Any

import flask
import functions_framework
from hostsessions_gcp.functions import session_of, with_session


def _plus_one(visits: int) -> int:
    return visits + 1


@functions_framework.http
@with_session()
def handler(request: flask.Request) -> dict[str, Any]:
    session = session_of(request)
    if request.path == "/logout":
        session.destroy()
        return {"visits": 0}
    return {"visits": session.update("visits", _plus_one, default=0)}

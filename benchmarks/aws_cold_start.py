"""Cold start of the DynamoDB driver, and storage calls per request, against a local moto server.

    .venv/bin/python benchmarks/aws_cold_start.py [--runs 7]

Each cold figure is the median over ``--runs`` fresh interpreters (a Lambda cold start
is a fresh interpreter too):

- hostsessions, step by step: importing the app's side (core, ASGI middleware, adapter;
  no boto3), then what the driver's first use costs: importing boto3, creating the
  client, and the first call (GetItem);
- hostsessions, end to end: the first request of a fresh process through the ASGI
  middleware (a request that reads its session), then the second one;
- bare boto3, for comparison: importing boto3, creating a client, and one get_item.

Then the DynamoDB calls the middleware makes per request: untouched, read-only, and
modified (with and without an existing session).

The server is moto on 127.0.0.1, so call times are local round trips, not DynamoDB's
(single-digit milliseconds within a region): the import and client figures are the ones
that carry over to Lambda.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TABLE = "hostsessions-bench"
REGION = "us-east-1"
SESSION_ID = "b" * 43

STEPS = f"""
import json, time
t0 = time.perf_counter()
import hostsessions, hostsessions.asgi, hostsessions_aws
t1 = time.perf_counter()
import boto3
t2 = time.perf_counter()
from hostsessions_aws.driver import DynamoDBDriver
driver = DynamoDBDriver(table={TABLE!r}, region={REGION!r})
client = driver.client
t3 = time.perf_counter()
record = driver.read({SESSION_ID!r})
t4 = time.perf_counter()
assert record is not None
print(json.dumps({{"import hostsessions (no boto3)": t1 - t0, "import boto3": t2 - t1,
                  "create the client": t3 - t2, "first call (GetItem)": t4 - t3}}))
"""

REQUEST = f"""
import asyncio, json, time
t0 = time.perf_counter()
from hostsessions import SessionConfig
from hostsessions.asgi import SessionMiddleware
t1 = time.perf_counter()

async def page(scope, receive, send):
    cart = await scope["session"].get("cart", [])
    body = json.dumps(cart).encode()
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": body}})

app = SessionMiddleware(page, SessionConfig(driver="dynamodb",
                                            options={{"table": {TABLE!r}, "region": {REGION!r}}}))

async def request():
    scope = {{"type": "http", "method": "GET", "path": "/", "scheme": "http", "query_string": b"",
             "headers": [(b"host", b"localhost"), (b"cookie", b"hostsessions={SESSION_ID}")]}}
    sent = []
    async def receive():
        return {{"type": "http.request", "body": b""}}
    async def send(message):
        sent.append(message)
    await app(scope, receive, send)
    assert sent[0]["status"] == 200, sent

t2 = time.perf_counter()
asyncio.run(request())
t3 = time.perf_counter()
asyncio.run(request())
t4 = time.perf_counter()
print(json.dumps({{"import hostsessions (no boto3)": t1 - t0, "first request": t3 - t2,
                  "second request": t4 - t3}}))
"""

BARE = f"""
import json, time
t0 = time.perf_counter()
import boto3
t1 = time.perf_counter()
client = boto3.session.Session().client("dynamodb", region_name={REGION!r})
t2 = time.perf_counter()
client.get_item(TableName={TABLE!r}, Key={{"id": {{"S": {SESSION_ID!r}}}}}, ConsistentRead=True)
t3 = time.perf_counter()
print(json.dumps({{"import boto3": t1 - t0, "create the client": t2 - t1,
                  "first call (get_item)": t3 - t2}}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.05)


def cold(script: str, environ: dict[str, str], runs: int) -> dict[str, float]:
    """Median seconds of each step over ``runs`` fresh interpreters."""
    samples: dict[str, list[float]] = {}
    for _ in range(runs):
        output = subprocess.run(
            [sys.executable, "-c", script],
            env=environ,
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for step, seconds in json.loads(output).items():
            samples.setdefault(step, []).append(seconds)
    return {step: statistics.median(values) for step, values in samples.items()}


def calls_per_request() -> dict[str, int]:
    """DynamoDB calls the ASGI middleware makes for each kind of request (in this process)."""
    from hostsessions_aws.client import shared_client

    from hostsessions import SessionConfig
    from hostsessions.asgi import SessionMiddleware

    calls: list[str] = []
    shared_client(REGION).meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )

    async def page(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        session = scope["session"]
        if scope["path"] == "/read":
            await session.get("cart")
        elif scope["path"] == "/modify":
            session.set("cart", ["tea"])
        elif scope["path"] == "/destroy":
            session.destroy()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    config = SessionConfig(driver="dynamodb", options={"table": TABLE, "region": REGION})
    app = SessionMiddleware(page, config)

    def count(path: str, cookie: bool) -> int:
        headers = [(b"host", b"localhost")]
        if cookie:
            headers.append((b"cookie", f"hostsessions={SESSION_ID}".encode()))
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "scheme": "http",
            "query_string": b"",
            "headers": headers,
        }

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: MutableMapping[str, Any]) -> None:
            pass

        calls.clear()
        asyncio.run(app(scope, receive, send))
        return len(calls)

    return {
        "untouched": count("/", cookie=True),
        "read-only (existing session)": count("/read", cookie=True),
        "read-only (no cookie)": count("/read", cookie=False),
        "modified (existing session: read + conditional write)": count("/modify", cookie=True),
        "modified (new session: write only)": count("/modify", cookie=False),
        "destroyed": count("/destroy", cookie=True),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    process, url = start_moto()
    environ = {
        **os.environ,
        "AWS_ENDPOINT_URL_DYNAMODB": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "PYTHONPATH": str(REPO),
    }
    os.environ.update(environ)
    try:
        from hostsessions_aws.driver import DynamoDBDriver

        driver = DynamoDBDriver(table=TABLE, region=REGION, create_table=True)
        driver.set_item(SESSION_ID, '[["Map",1],"cart",{"data":2},[3],"tea"]')

        print(f"DynamoDB on a local moto server ({url}); medians of {args.runs} fresh processes\n")
        for title, script in (
            ("hostsessions, step by step", STEPS),
            ("hostsessions, first request through the ASGI middleware", REQUEST),
            ("bare boto3", BARE),
        ):
            print(title)
            for step, seconds in cold(script, environ, args.runs).items():
                print(f"  {step:<34} {seconds * 1000:8.1f} ms")
            print()
        print("DynamoDB calls per request")
        for kind, number in calls_per_request().items():
            print(f"  {kind:<56} {number}")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()

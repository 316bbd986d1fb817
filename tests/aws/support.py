"""Constants the AWS adapter's tests share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from hostsessions.testing.processes import free_port

__all__ = ["free_port"]

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
INSTALL = "uv pip install -e 'adapters/aws[testing,dev]'"

# Lambda's documented variables, as a Python function of ours would see them.
LAMBDA_ENVIRON = {
    "AWS_LAMBDA_FUNCTION_NAME": "shop",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
    "LAMBDA_TASK_ROOT": "/var/task",
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@dataclass(frozen=True)
class MotoServer:
    """A moto server process on 127.0.0.1."""

    url: str
    pid: int

    def new_table(self) -> str:
        """Create a fresh sessions table on the server and return its name."""
        from hostsessions_aws.client import create_table, shared_client

        name = f"sessions-{uuid.uuid4().hex[:12]}"
        create_table(shared_client(REGION, self.url), name)
        return name

"""botocore failures as :class:`~hostsessions.SessionStorageError`, with the fix.

Every message names the call, the table and the region, and what to do: create the
table from the template, grant the role its actions, use on-demand capacity, give
credentials, check the endpoint.
"""

from __future__ import annotations

import re

from hostsessions.checks import is_dict, is_nonempty_text
from hostsessions.errors import SessionConfigError, SessionStorageError

from .layout import EXPIRES_ATTRIBUTE
from .settings import TABLE_ENV_VAR, TEMPLATE_PATH

__all__ = ["ACCESS_CODES", "THROTTLING_CODES", "error_code", "http_status", "storage_error"]

THROTTLING_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
ACCESS_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
    }
)


def storage_error(
    action: str,
    exc: Exception,
    *,
    where: str,
    attempts: int,
    endpoint: str,
    actions: tuple[str, ...],
) -> Exception:
    """What to raise for ``exc``, raised by the DynamoDB call ``action`` on ``where``: a
    SessionStorageError that says what to do, or ``exc`` itself when it is not botocore's."""
    from botocore.exceptions import BotoCoreError, ClientError

    if isinstance(exc, SessionConfigError | SessionStorageError):
        return exc
    if not isinstance(exc, BotoCoreError | ClientError):
        return exc
    code = error_code(exc)
    message = (
        exc.response.get("Error", {}).get("Message", "") if isinstance(exc, ClientError) else ""
    ) or str(exc)
    # Some endpoints (moto's IAM checks among them) answer with an XML error document.
    if found := re.search(r"<Message>(.*?)</Message>", message, re.DOTALL):
        message = found.group(1)
    needed = ", ".join(actions)
    if code == "ResourceNotFoundException":
        text = (
            f"{where} does not exist ({action} failed). Create it with the CloudFormation "
            f"template {TEMPLATE_PATH} of hostsessions (on demand, TTL on "
            f"{EXPIRES_ATTRIBUTE!r}), or name an existing table with {TABLE_ENV_VAR} or "
            "table=...; for local development, create_table=True makes it. The role "
            f"needs {needed} on it."
        )
    elif code in ACCESS_CODES or http_status(exc) == 403:
        text = (
            f"not allowed to call dynamodb:{action} on {where}: {message}. The function's "
            f"role needs {needed} on this table: attach the policy of {TEMPLATE_PATH} "
            "(hostsessions), or check the credentials in use."
        )
    elif code in THROTTLING_CODES:
        text = (
            f"DynamoDB throttled {action} on {where} through {attempts} attempts "
            f"({code}: {message}). Use on-demand capacity (as {TEMPLATE_PATH} does) or raise "
            "the table's provisioned capacity."
        )
    elif code == "NoCredentialsError":
        text = (
            f"no AWS credentials for {action} on {where}: on Lambda the function's role "
            "provides them; elsewhere set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY."
        )
    elif code in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        text = (
            f"could not reach {endpoint} for {action} on {where} after {attempts} attempts: "
            f"{message}"
        )
    else:
        text = f"DynamoDB {action} on {where} failed: {code}: {message}"
    error = SessionStorageError(text)
    error.__cause__ = exc
    return error


def http_status(exc: BaseException) -> int | None:
    status = _response_field(exc, "ResponseMetadata", "HTTPStatusCode")
    return status if isinstance(status, int) else None


def error_code(exc: BaseException) -> str:
    """A ClientError's service error code, or a botocore exception's class name."""
    code = _response_field(exc, "Error", "Code")
    return code if is_nonempty_text(code) else type(exc).__name__


def _response_field(exc: BaseException, section: str, name: str) -> object:
    """``exc.response[section][name]`` of a botocore error; None where any is missing."""
    response: object = getattr(exc, "response", None)
    part = response.get(section) if is_dict(response) else None
    return part.get(name) if is_dict(part) else None

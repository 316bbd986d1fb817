"""Recognising the cloud host a process runs on, from the platforms' documented variables.

The core knows every supported host even without its adapter, so that a serverless
deployment without the right adapter fails at start-up instead of keeping sessions on
an instance's short-lived local disk.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    """A recognised hosting platform."""

    key: str  # e.g. "aws-lambda"
    label: str  # e.g. "AWS Lambda"
    cloud: str  # "aws", "gcp" or "azure": the extra and adapter that serve it
    evidence: tuple[str, ...]  # the variables that gave it away

    @property
    def install_hint(self) -> str:
        return f"pip install 'hostsessions[{self.cloud}]'"


def _present(environ: Mapping[str, str], *names: str) -> tuple[str, ...] | None:
    if all(environ.get(name) for name in names):
        return names
    return None


def detect_aws_lambda(environ: Mapping[str, str]) -> Host | None:
    found = _present(environ, "AWS_LAMBDA_FUNCTION_NAME")
    if found and (
        environ.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda")
        or environ.get("LAMBDA_TASK_ROOT")
        or environ.get("AWS_LAMBDA_RUNTIME_API")
    ):
        return Host("aws-lambda", "AWS Lambda", "aws", found)
    return None


def detect_google_cloud(environ: Mapping[str, str]) -> Host | None:
    # Functions on every current runtime (Cloud Run functions, and first-generation
    # functions after Python 3.7) set FUNCTION_TARGET with K_SERVICE and K_REVISION; a local
    # Functions Framework run sets only FUNCTION_TARGET and FUNCTION_SIGNATURE_TYPE.
    if found := _present(environ, "FUNCTION_TARGET", "K_SERVICE", "K_REVISION"):
        return Host("gcp-cloud-run-functions", "Cloud Run functions", "gcp", found)
    if found := _present(environ, "K_SERVICE", "K_REVISION", "K_CONFIGURATION"):
        return Host("gcp-cloud-run", "Cloud Run", "gcp", found)
    if found := _present(environ, "CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION"):
        return Host("gcp-cloud-run-job", "Cloud Run job", "gcp", found)
    # First-generation Cloud Functions on the oldest runtimes.
    if found := _present(environ, "FUNCTION_NAME", "GCP_PROJECT"):
        return Host("gcp-cloud-functions-gen1", "Cloud Functions (1st gen)", "gcp", found)
    if found := _present(environ, "X_GOOGLE_FUNCTION_NAME"):
        return Host("gcp-cloud-functions-gen1", "Cloud Functions (1st gen)", "gcp", found)
    # App Engine standard sets GAE_APPLICATION; flexible sets the service/version/instance
    # trio; the local development server sets GAE_ENV=localdev.
    if environ.get("GAE_ENV") != "localdev":
        if found := _present(environ, "GAE_APPLICATION"):
            return Host("gcp-app-engine", "App Engine", "gcp", found)
        if found := _present(environ, "GAE_SERVICE", "GAE_VERSION", "GAE_INSTANCE"):
            return Host("gcp-app-engine", "App Engine (flexible)", "gcp", found)
    return None


def detect_azure(environ: Mapping[str, str]) -> Host | None:
    if found := _present(environ, "FUNCTIONS_WORKER_RUNTIME"):
        return Host("azure-functions", "Azure Functions", "azure", found)
    if found := _present(environ, "FUNCTIONS_EXTENSION_VERSION"):
        return Host("azure-functions", "Azure Functions", "azure", found)
    if found := _present(environ, "WEBSITE_SITE_NAME"):
        return Host("azure-app-service", "Azure App Service", "azure", found)
    return None


DETECTORS = (detect_aws_lambda, detect_google_cloud, detect_azure)


def detect_host(environ: Mapping[str, str]) -> Host | None:
    """The cloud host these variables describe, or None for a machine of one's own."""
    for detector in DETECTORS:
        host = detector(environ)
        if host is not None:
            return host
    return None

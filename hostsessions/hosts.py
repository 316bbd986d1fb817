"""Recognising the cloud host a process runs on, from the platforms' documented variables.

The core knows every supported host even without its adapter, so that a serverless
deployment without the right adapter fails at start-up instead of keeping sessions on
an instance's short-lived local disk.

Each host is a :class:`Signature`: the variables its platform sets, all of which must be
present. The same table says what ``hostsessions doctor`` looked for, and which variables
were missing when only some of a host's were set (a copied ``.env`` file, a local
emulation of the platform, a platform that changed its variables).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "AWS_LAMBDA",
    "AZURE",
    "GOOGLE_CLOUD",
    "SIGNATURES",
    "Host",
    "NearMiss",
    "Requirement",
    "Signature",
    "Variable",
    "detect_aws_lambda",
    "detect_azure",
    "detect_google_cloud",
    "detect_host",
    "host_variables",
    "near_misses",
]


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


@dataclass(frozen=True)
class Variable:
    """One environment variable a platform sets: present and non-empty (and, with a
    ``prefix``, starting with it)."""

    name: str
    prefix: str = ""

    def found_in(self, environ: Mapping[str, str]) -> bool:
        value = environ.get(self.name) or ""
        return bool(value) and value.startswith(self.prefix)

    def __str__(self) -> str:
        return f"{self.name}={self.prefix}*" if self.prefix else self.name


@dataclass(frozen=True)
class Requirement:
    """One of these variables must be set (a single variable, most often)."""

    alternatives: tuple[Variable, ...]

    def met_by(self, environ: Mapping[str, str]) -> str | None:
        """The name of the variable that meets this requirement, or None."""
        for variable in self.alternatives:
            if variable.found_in(environ):
                return variable.name
        return None

    def __str__(self) -> str:
        if len(self.alternatives) == 1:
            return str(self.alternatives[0])
        return "one of (" + ", ".join(str(v) for v in self.alternatives) + ")"


def _requires(*names: str | tuple[Variable, ...]) -> tuple[Requirement, ...]:
    return tuple(
        Requirement(name if isinstance(name, tuple) else (Variable(name),)) for name in names
    )


@dataclass(frozen=True)
class Signature:
    """How one host is recognised: every requirement met, and no excluding value."""

    key: str
    label: str
    cloud: str
    requires: tuple[Requirement, ...]
    # Variables whose value says "not really this host" (App Engine's local dev server).
    excluded_by: tuple[tuple[str, str], ...] = ()

    def match(self, environ: Mapping[str, str]) -> Host | None:
        if any(environ.get(name) == value for name, value in self.excluded_by):
            return None
        evidence = [requirement.met_by(environ) for requirement in self.requires]
        if None in evidence:
            return None
        return Host(self.key, self.label, self.cloud, tuple(e for e in evidence if e))

    def near_miss(self, environ: Mapping[str, str]) -> NearMiss | None:
        """Some of this host's variables are set but not all: what was found and missing."""
        if any(environ.get(name) == value for name, value in self.excluded_by):
            return None
        found = [r.met_by(environ) for r in self.requires]
        if all(found) or not any(found):
            return None
        return NearMiss(
            self,
            found=tuple(name for name in found if name),
            missing=tuple(str(r) for r, name in zip(self.requires, found, strict=True) if not name),
        )


@dataclass(frozen=True)
class NearMiss:
    """A host partly recognised: ``found`` were set, ``missing`` were not."""

    signature: Signature
    found: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def looked_for(self) -> tuple[str, ...]:
        return tuple(str(r) for r in self.signature.requires)


AWS_LAMBDA = (
    Signature(
        "aws-lambda",
        "AWS Lambda",
        "aws",
        _requires(
            "AWS_LAMBDA_FUNCTION_NAME",
            (
                Variable("AWS_EXECUTION_ENV", "AWS_Lambda"),
                Variable("LAMBDA_TASK_ROOT"),
                Variable("AWS_LAMBDA_RUNTIME_API"),
            ),
        ),
    ),
)

GOOGLE_CLOUD = (
    # Functions on every current runtime (Cloud Run functions, and first-generation
    # functions after Python 3.7) set FUNCTION_TARGET with K_SERVICE and K_REVISION; a local
    # Functions Framework run sets only FUNCTION_TARGET and FUNCTION_SIGNATURE_TYPE.
    Signature(
        "gcp-cloud-run-functions",
        "Cloud Run functions",
        "gcp",
        _requires("FUNCTION_TARGET", "K_SERVICE", "K_REVISION"),
    ),
    Signature(
        "gcp-cloud-run", "Cloud Run", "gcp", _requires("K_SERVICE", "K_REVISION", "K_CONFIGURATION")
    ),
    Signature(
        "gcp-cloud-run-job",
        "Cloud Run job",
        "gcp",
        _requires("CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION"),
    ),
    # First-generation Cloud Functions on the oldest runtimes.
    Signature(
        "gcp-cloud-functions-gen1",
        "Cloud Functions (1st gen)",
        "gcp",
        _requires("FUNCTION_NAME", "GCP_PROJECT"),
    ),
    Signature(
        "gcp-cloud-functions-gen1",
        "Cloud Functions (1st gen)",
        "gcp",
        _requires("X_GOOGLE_FUNCTION_NAME"),
    ),
    # App Engine standard sets GAE_APPLICATION; flexible sets the service/version/instance
    # trio; the local development server sets GAE_ENV=localdev.
    Signature(
        "gcp-app-engine",
        "App Engine",
        "gcp",
        _requires("GAE_APPLICATION"),
        excluded_by=(("GAE_ENV", "localdev"),),
    ),
    Signature(
        "gcp-app-engine",
        "App Engine (flexible)",
        "gcp",
        _requires("GAE_SERVICE", "GAE_VERSION", "GAE_INSTANCE"),
        excluded_by=(("GAE_ENV", "localdev"),),
    ),
)

AZURE = (
    Signature("azure-functions", "Azure Functions", "azure", _requires("FUNCTIONS_WORKER_RUNTIME")),
    Signature(
        "azure-functions", "Azure Functions", "azure", _requires("FUNCTIONS_EXTENSION_VERSION")
    ),
    Signature("azure-app-service", "Azure App Service", "azure", _requires("WEBSITE_SITE_NAME")),
)

SIGNATURES: tuple[Signature, ...] = AWS_LAMBDA + GOOGLE_CLOUD + AZURE


def _first_match(signatures: tuple[Signature, ...], environ: Mapping[str, str]) -> Host | None:
    for signature in signatures:
        host = signature.match(environ)
        if host is not None:
            return host
    return None


def detect_aws_lambda(environ: Mapping[str, str]) -> Host | None:
    return _first_match(AWS_LAMBDA, environ)


def detect_google_cloud(environ: Mapping[str, str]) -> Host | None:
    return _first_match(GOOGLE_CLOUD, environ)


def detect_azure(environ: Mapping[str, str]) -> Host | None:
    return _first_match(AZURE, environ)


def host_variables() -> tuple[str, ...]:
    """Every variable a host signature reads: what a test clears so the machine it runs on
    does not pass for a cloud host."""
    names: dict[str, None] = {}
    for signature in (*AWS_LAMBDA, *GOOGLE_CLOUD, *AZURE):
        for requirement in signature.requires:
            names.update(dict.fromkeys(variable.name for variable in requirement.alternatives))
        names.update(dict.fromkeys(name for name, _ in signature.excluded_by))
    return tuple(names)


def detect_host(environ: Mapping[str, str]) -> Host | None:
    """The cloud host these variables describe, or None for a machine of one's own."""
    return _first_match(SIGNATURES, environ)


def near_misses(environ: Mapping[str, str]) -> list[NearMiss]:
    """Hosts partly recognised: some of their variables set, some missing."""
    return [miss for s in SIGNATURES if (miss := s.near_miss(environ)) is not None]

"""Every module of the core and of the adapters says what it offers, in ``__all__``, and
the API the documentation shows goes through public modules and exported names only.

Read from the source (no module is imported, so no SDK is needed): a module without a
literal ``__all__``, an ``__all__`` naming something the module does not define, a doc
importing from a private (``_name``) module, or a doc importing a name its module does
not export, fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    ROOT / "hostsessions",
    ROOT / "adapters" / "aws" / "hostsessions_aws",
    ROOT / "adapters" / "gcp" / "hostsessions_gcp",
    ROOT / "adapters" / "azure" / "hostsessions_azure",
]
DOCS = sorted(
    [*(ROOT / "docs").glob("*.md"), ROOT / "README.md", *(ROOT / "adapters").glob("*/README.md")]
)


def module_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(package.parent).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = module_files()


def exported(path: Path) -> list[str] | None:
    """The module's ``__all__`` when it is a literal list or tuple of strings, else None."""
    for node in ast.parse(path.read_text()).body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
            value = node.value
            if isinstance(value, ast.List | ast.Tuple) and all(
                isinstance(item, ast.Constant) and isinstance(item.value, str)
                for item in value.elts
            ):
                return [item.value for item in value.elts]  # type: ignore[union-attr]
            return None
    return None


def bound_names(path: Path) -> set[str]:
    """Names the module binds at its top level (in ``if TYPE_CHECKING:`` and ``try:`` too)."""
    names: set[str] = set()
    tree = ast.parse(path.read_text())
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(target.id for target in targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.If | ast.Try):
            pending.extend(node.body)
            pending.extend(node.orelse)
            if isinstance(node, ast.Try):
                pending.extend(node.finalbody)
                for handler in node.handlers:
                    pending.extend(handler.body)
    return names


def lazy_names(path: Path) -> set[str]:
    """Names a module-level ``__getattr__`` answers (``if name in ("A", "B")``)."""
    source = path.read_text()
    match = re.search(r"def __getattr__\(name: str\).*?if name in \(([^)]*)\)", source, re.S)
    return set(re.findall(r'"(\w+)"', match.group(1))) if match else set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_declares_what_it_offers(module: str) -> None:
    path = MODULES[module]
    names = exported(path)
    assert names is not None, f"{module} ({path.relative_to(ROOT)}) has no literal __all__"
    missing = set(names) - bound_names(path) - lazy_names(path) - submodules(module)
    assert not missing, f"{module}.__all__ names what the module does not define: {missing}"
    assert len(names) == len(set(names)), f"{module}.__all__ lists a name twice"


def submodules(module: str) -> set[str]:
    prefix = module + "."
    return {name[len(prefix) :] for name in MODULES if name.startswith(prefix)}


# `from hostsessions.x import a, b` (possibly over several lines in parentheses).
IMPORT = re.compile(r"^\s*from\s+(hostsessions[\w.]*)\s+import\s+(\([^)]*\)|[^\n#]+)", re.M)
# `hostsessions.x.name` in backquotes, as the prose names things.
REFERENCE = re.compile(r"`(hostsessions[\w.]*)(?:[(\[`:]|\s)")


def documented_imports() -> list[tuple[str, str, str]]:
    """(doc, module, name) for every name the docs import from a hostsessions module."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in IMPORT.finditer(text):
            clauses = re.sub(r"#[^\n]*", "", match.group(2)).strip("() \n")
            for clause in clauses.split(","):
                name = clause.split()[0] if clause.split() else ""  # `main as cli`: main
                if name.isidentifier():
                    found.append((doc.name, match.group(1), name))
        for match in REFERENCE.finditer(text):
            module, _, name = match.group(1).rpartition(".")
            if match.group(1) in MODULES:
                found.append((doc.name, match.group(1), ""))
            elif module in MODULES:
                found.append((doc.name, module, name))
    return found


@pytest.mark.parametrize(
    ("doc", "module", "name"), documented_imports(), ids=lambda part: part or "module"
)
def test_documented_api_goes_through_public_modules_and_exported_names(
    doc: str, module: str, name: str
) -> None:
    assert module in MODULES, f"{doc} imports from {module}, which is no module here"
    private = [part for part in module.split(".") if part.startswith("_")]
    assert not private, f"{doc} shows the private module {module} to users"
    if name and not name.startswith("__"):
        names = exported(MODULES[module]) or []
        assert name in names or name in submodules(module), (
            f"{doc} imports {name} from {module}, which does not export it (__all__)"
        )


def test_the_checks_see_every_module_and_the_documented_imports() -> None:
    # Guard against a pattern that silently matches nothing.
    assert {"hostsessions.asgi", "hostsessions_aws.driver", "hostsessions_gcp.plans"} <= set(
        MODULES
    )
    imports = documented_imports()
    assert ("api.md", "hostsessions.asgi", "SessionMiddleware") in imports
    assert any(module == "hostsessions.codec" and name == "parse" for _, module, name in imports)

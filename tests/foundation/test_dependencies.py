"""pyproject.toml declares what the service imports, with lower bounds it works with, and nothing for development.

The production image installs `.` without extras: whatever the code imports must be a runtime dependency, and
no development tool may come along with them.
"""

import ast
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import ROOT

APP_PACKAGES = ("config", "leads", "emails", "funnel", "webhooks")
DEV_TOOLS = {"honcho", "pytest", "pytest-django", "playwright", "hypothesis", "ruff", "mypy", "django-stubs",
             "time-machine", "aiosmtpd", "celery-types", "trustme"}


def _project() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def runtime_requirements() -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, _project()["dependencies"])}


def imported_distributions() -> dict[str, set[str]]:
    """Distribution name → the app modules that import it (top-level imports of third-party packages)."""
    local = set(APP_PACKAGES)
    owners = metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                         else [])
                for name in names:
                    top = name.split(".")[0]
                    if top in local or top in sys.stdlib_module_names:
                        continue
                    for dist in owners.get(top, [top]):
                        found.setdefault(canonicalize_name(dist), set()).add(str(path.relative_to(ROOT)))
    return found


def test_everything_the_code_imports_is_a_declared_runtime_dependency() -> None:
    declared = runtime_requirements()
    # Installed as part of a declared requirement's own name (psycopg[binary] brings psycopg-binary).
    undeclared = {dist: sorted(files) for dist, files in imported_distributions().items() if dist not in declared}
    assert not undeclared, f"imported but not in [project].dependencies: {undeclared}"


def test_lower_bounds_admit_only_releases_with_what_the_code_uses() -> None:
    declared = runtime_requirements()
    # StripeClient.v1 (funnel/checkout, stripe_reconcile) first shipped in stripe 12.5.0.
    assert not declared["stripe"].specifier.contains(Version("12.4.0"))
    assert declared["stripe"].specifier.contains(Version("12.5.0"))
    # emails/dispatch.py catches urllib3.exceptions.NameResolutionError, new in urllib3 2.0.
    assert not declared["urllib3"].specifier.contains(Version("1.26.20"))
    # Every pinned version (what CI runs) is inside its declared range.
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split() if "==" in line)
    pinned: dict[str, Version] = {canonicalize_name(name): Version(version) for name, version in pins.items()}
    outside = {name: str(pinned[name]) for name, req in declared.items() if not req.specifier.contains(pinned[name])}
    assert not outside, f"constraints.txt pins outside pyproject.toml's ranges: {outside}"


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution pip installs for these requirements (from the installed metadata, extras followed)."""
    seen: set[str] = set()
    todo = [(r, frozenset(r.extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # not installed here, so not required on this platform/Python
        for line in dist.requires or []:
            sub = Requirement(line)
            env = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if sub.marker is None or any(sub.marker.evaluate(e) for e in env):
                todo.append((sub, frozenset(sub.extras)))
    return {key.split("[")[0] for key in seen}


def test_the_production_install_brings_no_development_tool() -> None:
    runtime = _closure(list(runtime_requirements().values()))
    assert not runtime & DEV_TOOLS, f"installed in production: {sorted(runtime & DEV_TOOLS)}"
    dev = {canonicalize_name(Requirement(r).name) for r in _project()["optional-dependencies"]["dev"]}
    assert "honcho" in dev, "`make run` installs the dev extra and starts honcho from it"
    # The image installs the project without extras (the lead's Dockerfile; checked, not edited, here).
    installs = [line for line in Path(ROOT / "Dockerfile").read_text().splitlines() if "pip install" in line]
    assert installs and not any("[dev]" in line or "honcho" in line for line in installs), installs

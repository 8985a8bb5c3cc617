"""Every third-party module the project imports at run time is a declared dependency.

A package that comes in through another one (lxml through feedgen, multidict through aiohttp)
can be dropped or pinned apart by its parent at any release; importing it directly means
declaring it (issue 14).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.conftest import REPO

PACKAGES = ("config", "feeds", "scheduler")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def imported_modules() -> dict[str, set[str]]:
    """Top-level third-party module -> the files importing it (TYPE_CHECKING imports too)."""
    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top not in sys.stdlib_module_names and top not in PACKAGES:
                        found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_package_is_a_declared_dependency() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in project["dependencies"]}
    declared |= {_name(r) for r in project["optional-dependencies"]["postgres"]}
    distributions = packages_distributions()
    modules = imported_modules()
    assert {"lxml", "multidict", "sqlalchemy", "pydantic"} <= set(modules)  # the scan works
    undeclared = {
        module: sorted(paths)
        for module, paths in modules.items()
        if not {_name(d) for d in distributions.get(module, [module])} & declared
    }
    assert undeclared == {}

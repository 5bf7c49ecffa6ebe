"""The import graph of Keel's own modules, read from the source (every import, at the top
of a module or inside a function): apps import only from apps to their left, no module
imports a module that imports it back, and imports sit at the top of the module."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# docs/ARCHITECTURE.md's layers: an app imports only from apps of a lower rank.
RANK = {
    "crm": 0,
    "contacts": 1,
    "pipeline": 2,
    "mail": 3,
    "governance": 4,
    "reporting": 4,
    "api": 4,
    "intelligence": 5,
    "demo": 6,
    "benchmarks": 6,
}
# The project's list of tenant URLs names every app's views: it is the one place in crm
# that may look to the right (see docs/ARCHITECTURE.md, Layers).
MAY_IMPORT_ANY_APP = {"crm.tenant_urls"}
# Where an import inside a function is the only correct place, and why (a module's full
# name, or the last part of its name for every module so named).
LOCAL_IMPORTS_ALLOWED = {
    # AppConfig.ready(): models and registries exist only once the app registry is loaded.
    "apps": "AppConfig.ready() registers with other apps once every app is loaded",
    # crm/__init__.py imports the Celery app while settings load, before the app registry
    # is ready: TenantTask loads Tenant when a task runs, not when the module is imported.
    "crm.celery": "imported while settings load, before models can be imported",
}


@dataclass(frozen=True)
class Import:
    source: str
    target: str
    line: int
    local: bool


def _modules() -> dict[str, Path]:
    found = {}
    for app in RANK:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The Keel module a dotted name lives in (`crm.models.User` → `crm.models`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports() -> list[Import]:
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parent + ([base] if base else []))
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = _resolve(name)
                if target and target != module:
                    found.append(Import(module, target, node.lineno, id(node) not in top_level))
    return found


IMPORTS = _imports()


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_reader_sees_the_modules_and_their_imports():
    assert {"crm.tenancy", "contacts.models", "pipeline.services.deals"} <= MODULES.keys()
    assert any(i.source.startswith("pipeline.") and i.target == "crm.tenancy" for i in IMPORTS)


def test_apps_import_only_from_apps_to_their_left():
    wrong = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in IMPORTS
        if i.source not in MAY_IMPORT_ANY_APP
        and i.source.split(".")[0] != i.target.split(".")[0]
        and RANK[i.target.split(".")[0]] >= RANK[i.source.split(".")[0]]
    ]
    assert wrong == []


def test_no_module_imports_a_module_that_imports_it_back():
    assert _cycles() == []


def test_imports_are_at_the_top_of_the_module():
    inside = [
        f"{i.source}:{i.line} imports {i.target} inside a function"
        for i in IMPORTS
        if i.local
        and i.source not in LOCAL_IMPORTS_ALLOWED
        and i.source.rpartition(".")[2] not in LOCAL_IMPORTS_ALLOWED
    ]
    assert inside == []

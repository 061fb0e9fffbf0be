"""The architecture stays as docs/architecture.md draws it: layers that import only
downwards, no import cycle between modules, and no module too large to read.

Every import counts, also one inside a function or under ``TYPE_CHECKING``: a cycle
that only type checking sees is still two modules that cannot be understood apart.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent / "roost"
MAX_LINES = 400

# Lower layers never import higher ones. registry, cache and runtime are independent
# backends on the same layer: none of them imports another.
LAYERS = {
    "domain": 0,
    "base": 1,  # the modules right under roost/: pure logic and thin OS helpers
    "registry": 2,
    "cache": 2,
    "runtime": 2,
    "services": 3,
    "composition": 4,
    "api": 5,
    "web": 5,
    "cli": 6,
    "__main__": 7,
}
INDEPENDENT = {"registry", "cache", "runtime"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def layer(module: str) -> str:
    """A subpackage is its own layer; a module right under roost/ is base, but for the
    composition root and the entry point."""
    top = module.split(".")[1] if "." in module else ""
    if top and (ROOT / top).is_dir():
        return top
    return top if top in ("composition", "__main__") else "base"


def imports_of(module: str) -> set[str]:
    """The roost modules ``module`` imports, anywhere in it."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:  # "from roost.services import runner" is a module
                candidate = f"{origin}.{alias.name}"
                found.add(candidate if candidate in MODULES else origin)
    resolved = set()
    for name in found:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            resolved.add(name)
    return resolved


GRAPH = {module: imports_of(module) for module in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def upward(graph: dict[str, set[str]]) -> Iterator[str]:
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            source_layer, target_layer = layer(module), layer(target)
            if LAYERS[target_layer] > LAYERS[source_layer] or (
                source_layer != target_layer and {source_layer, target_layer} <= INDEPENDENT
            ):
                yield f"{module} ({source_layer}) imports {target} ({target_layer})"


def test_every_module_is_in_a_known_layer() -> None:
    assert {layer(module) for module in MODULES} <= set(LAYERS)
    assert layer("roost.domain.states") == "domain"
    assert layer("roost.files") == "base"
    assert layer("roost.services.runner") == "services"
    assert layer("roost.composition") == "composition"
    assert layer("roost.cli.main") == "cli"


def test_imports_are_resolved_to_modules() -> None:
    assert "roost.services.context" in GRAPH["roost.services.lifecycle"]
    assert "roost.services.runner" in GRAPH["roost.services.lifecycle"]  # "from x import y"
    assert "roost.domain.access" in GRAPH["roost.auth"]


def test_there_is_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_no_layer_imports_a_higher_one() -> None:
    assert list(upward(GRAPH)) == []


def test_the_checks_find_what_they_look_for() -> None:
    """The checks above would fail: a cycle and an upward import, made up here."""
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    graph["roost.domain.states"].add("roost.services.lifecycle")
    assert any("roost.domain.states" in component for component in cycles(graph))
    assert "roost.domain.states (domain) imports roost.services.lifecycle (services)" in list(
        upward(graph)
    )
    graph = {name: set(targets) for name, targets in GRAPH.items()}
    graph["roost.cache.redis"].add("roost.registry.database")
    assert list(upward(graph)) == [
        "roost.cache.redis (cache) imports roost.registry.database (registry)"
    ]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_too_long(module: str) -> None:
    lines = len(MODULES[module].read_text().splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines: split it by concept"

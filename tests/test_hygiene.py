"""House rules that code review alone does not keep: the core never imports textual or click, no import
cycles inside the package, no private names imported across modules.

The import graph is read from the source with :mod:`ast` (module-level and function-level imports alike, so a
cycle hidden in a deferred import counts too; imports under ``if TYPE_CHECKING:`` do not).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "gridscope"
CORE = ("grid", "reliability", "capacity")
SKIP_DIRS = {"tests", "benchmarks", ".venv", "build", "dist", ".git", "examples"}


def _modules() -> dict[str, Path]:
    """Dotted module name → file, for every module of the package (the repository root is ``gridscope``)."""
    out = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP_DIRS or any(p.startswith(".") for p in rel.parts):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PACKAGE, *parts])] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) of every import in ``path`` outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    target = base[: len(base) - (child.level - 1)] + ([child.module] if child.module else [])
                    name = ".".join(target)
                else:
                    name = child.module or ""
                found.append((name, [a.name for a in child.names], child.lineno))
            elif isinstance(child, ast.Import):
                found.extend((a.name, [], child.lineno) for a in child.names)
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for name, names, _ in _imports(mod, path):
            if not name.startswith(PACKAGE):
                continue
            # "from . import x" / "from .pkg import module" imports submodules, not just the package
            subs = [f"{name}.{n}" for n in names if f"{name}.{n}" in mods]
            targets = subs or ([name] if name in mods else [])
            graph[mod].update(t for t in targets if t != mod)
    return graph


def test_the_import_graph_sees_the_package():
    graph = _graph()
    assert "gridscope.grid.topology" in graph and "gridscope.reliability.impact" in graph
    # a known edge, so the parser cannot silently see nothing
    assert "gridscope.grid.topology" in graph["gridscope.reliability.impact"]


def test_no_import_cycles():
    import networkx as nx

    graph = nx.DiGraph()
    for mod, targets in _graph().items():
        graph.add_node(mod)
        graph.add_edges_from((mod, t) for t in targets)
    # a package __init__ that lazily re-exports its modules is not an edge (importlib strings), so every
    # cycle found here is a real one
    cycles = [c for c in nx.simple_cycles(graph)]
    assert cycles == [], "import cycles: " + "; ".join(" -> ".join([*c, c[0]]) for c in cycles[:10])


def test_no_private_names_imported_across_modules():
    offenders = []
    for mod, path in _modules().items():
        for name, names, line in _imports(mod, path):
            if name.startswith(PACKAGE):
                offenders += [f"{path.relative_to(ROOT)}:{line} imports {n} from {name}" for n in names
                              if n.startswith("_") and not n.startswith("__")]
    assert offenders == []


def test_data_flows_one_way():
    """grid imports neither reliability nor capacity; reliability does not import capacity; no core module
    imports the study, the CLI or the TUI."""
    graph = _graph()
    upper = ("gridscope.study", "gridscope.cli", "gridscope.tui", "gridscope.annual")  # cli covers cli_*
    bad = []
    for mod, targets in graph.items():
        room = mod.split(".")[1] if mod.count(".") else ""
        for t in targets:
            if room in CORE and t.startswith(upper):
                bad.append(f"{mod} -> {t}")
            if room == "grid" and t.startswith(("gridscope.reliability", "gridscope.capacity")):
                bad.append(f"{mod} -> {t}")
            if room == "reliability" and t.startswith("gridscope.capacity"):
                bad.append(f"{mod} -> {t}")
    assert bad == []


@pytest.mark.slow
def test_core_imports_without_textual_and_click():
    """Import every module of grid, reliability and capacity in a fresh interpreter: neither textual nor click
    may load."""
    core = sorted(m for m in _modules() if m.split(".")[1:2] and m.split(".")[1] in CORE)
    code = (
        "import importlib, json, sys\n"
        f"for m in {core!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in ('textual', 'click'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert len(core) > 20
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

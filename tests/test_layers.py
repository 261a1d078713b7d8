"""Layers run one way and no module of ``xpcs_core`` imports itself back (docs/architecture.md, "Layers").

Every import counts, at module level or inside a function; only imports under
``if TYPE_CHECKING:`` (never executed) are left out. Also: no module over 400 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "xpcs_core"

# lowest first: a module may import modules of its own layer or of a lower one
LAYERS: list[tuple[str, ...]] = [
    ("errors", "config"),
    ("kernels",),  # shared array kernels: numpy and errors only (except the two below)
    ("backend_info", "hookspecs"),
    ("plugins", "backends", "costs"),
    ("geometry", "speckle"),
    ("qmap",),
    ("partition", "binning"),
    ("io", "masks"),
    ("fitting", "kernels.lsq", "kernels.posterior", "correlation", "averaging"),
    ("plot", "bench"),
    ("batching",),
    ("testing",),
    ("gui",),
    ("cli",),
]


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> set[str]:
    """Modules of xpcs_core that ``path`` imports (resolved to modules, not names)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                for a in child.names:
                    full = f"{child.module}.{a.name}"
                    found.add(full if full in MODULES else child.module)
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m.split(".")[0] == "xpcs_core" and m in MODULES}


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _layer(module: str) -> int | None:
    rest = module.removeprefix("xpcs_core").lstrip(".")
    best = None
    for rank, prefixes in enumerate(LAYERS):
        for p in prefixes:
            if rest == p or rest.startswith(p + "."):
                if best is None or len(p) > best[1]:
                    best = (rank, len(p))
    return None if best is None else best[0]


def test_every_module_has_a_layer():
    missing = [m for m in MODULES if m != "xpcs_core" and _layer(m) is None]
    assert not missing, f"modules without a layer in tests/test_layers.py: {missing}"


def test_imports_run_down_the_layers():
    upward = [
        f"{m} (layer {LAYERS[_layer(m)]}) imports {t} (layer {LAYERS[_layer(t)]})"
        for m, targets in GRAPH.items() if m != "xpcs_core"
        for t in targets if t != "xpcs_core" and _layer(t) > _layer(m)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles():
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            strongconnect(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_cycle_check_sees_function_level_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from xpcs_core.io.result import open_result\n")
    assert _imports(src) == {"xpcs_core.io.result"}
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import xpcs_core.io.result\n")
    assert _imports(src) == set()


@pytest.mark.parametrize("root", ["xpcs_core", "plugins"])
def test_no_module_over_400_lines(root):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / root).rglob("*.py")
            if "build" not in p.parts and (n := len(p.read_text().splitlines())) > 400}
    assert not long, long

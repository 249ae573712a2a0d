"""The tree shows the design (docs/architecture.md): one folder per step, a small shared vocabulary directly
under ``mattebench/``, every error in one place, no import cycle and no import back up to a package above,
and importing one step loads no later step."""

from __future__ import annotations

import ast
import builtins
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from mattebench import errors

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("metrics", "data", "methods", "scoring", "runs", "report", "tracks", "commands")


def _module_files() -> dict[str, Path]:
    """Dotted name -> file, for mattebench/, baselines/ (as mattebench_baselines) and benchmarks/."""
    out = {}
    for folder, name in (("mattebench", "mattebench"), ("baselines", "mattebench_baselines"), ("benchmarks", "benchmarks")):
        for f in sorted((ROOT / folder).rglob("*.py")):
            parts = [name, *f.relative_to(ROOT / folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = f
    return out


def _edges() -> set[tuple[str, str]]:
    """(importer, imported) over every import, lazy ones included, resolved to the module files above."""
    mods = _module_files()
    edges = set()
    for mod, f in mods.items():
        pkg = mod if f.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([node.module] if node.module else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for n in names:
                n = "mattebench_baselines" + n[len("baselines"):] if n.split(".")[0] == "baselines" else n
                while n not in mods and "." in n:
                    n = n.rpartition(".")[0]
                if n in mods and n != mod:
                    edges.add((mod, n))
    return edges


def test_at_most_ten_modules_directly_under_mattebench():
    top = sorted(p.name for p in (ROOT / "mattebench").glob("*.py"))
    assert len(top) <= 10, top


def test_no_import_runs_back_up_to_a_package_above():
    up = sorted(f"{a} imports {b}" for a, b in _edges() if a.startswith(b + "."))
    assert not up, "\n".join(up)


def test_no_import_cycle():
    graph: dict[str, set[str]] = {}
    for a, b in _edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []

    def visit(v: str, path: list[str]) -> None:
        state[v] = 1
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                cycles.append(" -> ".join(path[path.index(w):] + [w]))
            elif w not in state:
                visit(w, path + [w])
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v, [v])
    assert not cycles, "\n".join(cycles)


@pytest.mark.parametrize("module", ["mattebench", "mattebench.metrics", "mattebench.data", "mattebench.methods",
                                    "mattebench.scoring", "mattebench.runs", "mattebench.report"])
def test_importing_a_step_loads_no_later_step(module):
    code = (f"import sys, {module}\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('mattebench.', 'mattebench_baselines')))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout.split()
    own = module.split(".")[1] if "." in module else None
    later = STEPS[STEPS.index(own) + 1:] if own else STEPS
    bad = [m for m in loaded if m.split(".")[1] in later or m.startswith("mattebench_baselines")]
    assert not bad, f"import {module} loads {bad}"


def test_the_root_loads_its_public_names_on_use():
    import mattebench

    for name in mattebench.__all__:
        assert getattr(mattebench, name) is not None
    with pytest.raises(AttributeError):
        mattebench.no_such_name  # noqa: B018


def test_every_error_class_is_in_errors_with_an_exit_code():
    """No module but mattebench/errors.py defines an exception (warnings are not errors); each one there says
    what the command line exits with."""
    error_names = {n for n, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, BaseException)}
    error_names |= {n for n, c in vars(builtins).items()
                    if isinstance(c, type) and issubclass(c, BaseException) and not issubclass(c, Warning)}
    elsewhere = []
    for mod, f in _module_files().items():
        if mod == "mattebench.errors" or mod.startswith("benchmarks"):
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
                if any(b in error_names for b in bases):
                    elsewhere.append(f"{f.relative_to(ROOT)}:{node.lineno} {node.name}({', '.join(bases)})")
    assert not elsewhere, "error classes outside mattebench/errors.py:\n" + "\n".join(elsewhere)
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, BaseException) and c.__module__ == errors.__name__]
    assert len(classes) >= 30
    for c in classes:
        assert isinstance(c.__dict__.get("exit_code"), int), f"{c.__name__} states no exit code of its own"

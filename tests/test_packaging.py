"""The package layout of pyproject.toml: baselines/ imports as mattebench_baselines, every package is listed."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
IMPORT_NAME = {"mattebench": "mattebench", "baselines": "mattebench_baselines"}  # folder -> import name
# Data-only packages: the guides messages point to, installed inside mattebench (mattebench/errors.py)
GUIDE_PACKAGES = {"mattebench.docs": "docs", "mattebench.dataset_docs": "datasets"}


def _packages_on_disk() -> set[str]:
    out = set()
    for folder, name in IMPORT_NAME.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            out.add(".".join((name, *rel)))
    return out


def test_every_package_folder_is_listed_so_a_wheel_holds_it():
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"]) - set(GUIDE_PACKAGES)
    assert listed == _packages_on_disk()
    assert PYPROJECT["tool"]["setuptools"]["package-dir"] == {"mattebench_baselines": "baselines", **GUIDE_PACKAGES}


def test_entry_points_name_importable_objects_under_the_package_names():
    for group in ("mattebench.methods", "mattebench.datasets"):
        for name, target in PYPROJECT["project"]["entry-points"][group].items():
            module, _, attr = target.partition(":")
            assert module.split(".")[0] in ("mattebench", "mattebench_baselines"), (name, target)
            assert hasattr(importlib.import_module(module), attr), (name, target)


def test_mattebench_baselines_is_the_baselines_folder():
    import mattebench_baselines

    assert Path(mattebench_baselines.__file__).resolve().parent == (ROOT / "baselines").resolve()


def test_nothing_imports_the_folder_name():
    """``import mattebench_baselines`` would load every method module a second time, under another name."""
    found = []
    for folder in ("mattebench", "baselines", "tests", "benchmarks"):
        for p in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
                found += [f"{p.relative_to(ROOT)}:{node.lineno} {n}" for n in names if n.split(".")[0] == "baselines"]
    assert not found, "import mattebench_baselines instead:\n" + "\n".join(found)

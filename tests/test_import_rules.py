"""The import rules of docs/architecture.md, checked over the source (a plain test, no import-linter).

Every module of ``mattebench/`` and ``baselines/`` is parsed with :mod:`ast`; every import counts,
module level or inside a function (a lazy import is still a dependency), and so does
``importlib.import_module("...")`` with a literal name. The table is
:mod:`mattebench.architecture_rules`; each test prints every violation it finds, not the first.
"""

from __future__ import annotations

import ast
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import pytest

from mattebench import architecture_rules as rules

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mattebench", "baselines")  # folders; baselines' import name may change, its folder stays
BASELINE_NAMES = ("baselines", "mattebench_baselines")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


@lru_cache(maxsize=None)
def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(f)] = f
    return out


def _resolve_from(mod: str, is_pkg: bool, node: ast.ImportFrom) -> list[str]:
    """The modules a ``from X import a, b`` names: ``X.a`` where that is a module, else ``X``."""
    if node.level:
        base = mod.split(".") if is_pkg else mod.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    known = _modules()
    out = []
    for alias in node.names:
        sub = f"{target}.{alias.name}"
        out.append(sub if sub in known or sub == "mattebench.__version__" else target)
    return out


def _imports(mod: str, path: Path) -> Iterator[tuple[str, int]]:
    """(imported dotted name, line) for every import of one module."""
    is_pkg = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            for name in _resolve_from(mod, is_pkg, node):
                yield name, node.lineno
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and ((isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                   or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__")))):
            yield node.args[0].value, node.lineno


def _project(name: str) -> bool:
    return name.split(".")[0] in ("mattebench", *BASELINE_NAMES)


def _as_known(name: str) -> str:
    """An imported name as the module file that holds it (``mattebench.data.trimap.x`` -> ``mattebench.data.trimap``);
    baselines under its other import name map to the folder's name."""
    if name == "mattebench.__version__":
        return name  # the version string (vocabulary); `from mattebench import __version__`
    top, _, rest = name.partition(".")
    if top in BASELINE_NAMES:
        name = "baselines" + ("." + rest if rest else "")
    known = _modules()
    while name not in known and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


@lru_cache(maxsize=None)
def _graph() -> dict[str, tuple[tuple[str, str, int], ...]]:
    """module -> ((imported name as written, the project module it lands in or "", line), ...)."""
    out = {}
    for mod, path in _modules().items():
        out[mod] = tuple((name, _as_known(name) if _project(name) else "", line) for name, line in _imports(mod, path))
    return out


def _where(mod: str, line: int) -> str:
    return f"{_modules()[mod].relative_to(ROOT)}:{line}"


def _known(importer: str, imported: str) -> bool:
    return any(importer == a and imported == b for a, b, _ in rules.KNOWN_EXCEPTIONS)


def _violations() -> list[str]:
    found = []
    for mod, imports in _graph().items():
        part = rules.part_of(mod)
        if part is None:
            continue  # reported by test_every_module_has_a_part
        for name, target, line in imports:
            if not target:
                if name.split(".")[0] in part.never_external:
                    found.append(f"{_where(mod, line)}: {mod} ({part.name}) imports {name}, which {part.name} never imports")
                continue
            if _known(mod, target):
                continue
            other = rules.part_of(target)
            if other is not None and other.name != part.name and other.name not in part.may_import:
                found.append(f"{_where(mod, line)}: {mod} ({part.name}) imports {target} ({other.name}); "
                             f"{part.name} may import only {', '.join(part.may_import) or 'nothing of the project'}")
            for importer_pat, imported_pat, why in rules.FORBIDDEN:
                if fnmatchcase(mod, importer_pat) and (fnmatchcase(name, imported_pat) or fnmatchcase(target, imported_pat)):
                    found.append(f"{_where(mod, line)}: {mod} imports {name}: {why}")
            if fnmatchcase(target, "mattebench.commands*") and not any(fnmatchcase(mod, p) for p in rules.COMMANDS_ONLY_FROM):
                found.append(f"{_where(mod, line)}: {mod} imports {target}: only the command line imports mattebench.commands")
    return sorted(set(found))


def test_every_module_has_a_part():
    unplaced = sorted(m for m in _modules() if rules.part_of(m) is None)
    assert not unplaced, "modules in no part of mattebench.architecture_rules.PARTS (add them):\n" + "\n".join(unplaced)


def test_every_part_names_known_parts():
    names = {p.name for p in rules.PARTS}
    bad = [f"{p.name} -> {q}" for p in rules.PARTS for q in p.may_import if q not in names]
    assert not bad, "\n".join(bad)


def test_imports_follow_the_rules():
    found = _violations()
    assert not found, f"{len(found)} import(s) break docs/architecture.md:\n" + "\n".join(found)


def test_known_exceptions_still_occur():
    """An exception that was fixed is removed from the list, so the list only shrinks."""
    graph = _graph()
    stale = [f"{a} -> {b}" for a, b, _ in rules.KNOWN_EXCEPTIONS
             if not any(target == b for _, target, _ in graph.get(a, ()))]
    assert not stale, "KNOWN_EXCEPTIONS that no longer occur (delete them):\n" + "\n".join(stale)


def test_the_report_never_reaches_a_method_even_indirectly():
    """No report module reaches the registry, the scorer, the runner or a baseline through another module."""
    graph = _graph()
    banned = ("mattebench.methods.registry", "mattebench.scoring.scorer", "mattebench.runs.runner", "baselines*")
    found = []
    for start in (m for m in graph if fnmatchcase(m, "mattebench.report*")):
        seen, stack, via = {start}, [start], {start: ""}
        while stack:
            cur = stack.pop()
            for _, target, _ in graph.get(cur, ()):
                if not target or target in seen or _known(cur, target):
                    continue
                seen.add(target)
                via[target] = cur
                stack.append(target)
        for hit in sorted(m for m in seen if any(fnmatchcase(m, b) for b in banned)):
            chain, cur = [hit], hit
            while via[cur]:
                cur = via[cur]
                chain.append(cur)
            found.append(" -> ".join(reversed(chain)))
    assert not found, "the report reaches a method (chains):\n" + "\n".join(found)


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    """The parser counts imports inside functions, relative imports and import_module with a literal name."""
    src = ("from __future__ import annotations\n"
           "def f():\n    from ..methods.registry import create_method\n    return create_method\n"
           "def g():\n    import importlib\n    return importlib.import_module('mattebench.scoring.scorer')\n")
    f = tmp_path / "mattebench" / "report" / "probe.py"
    f.parent.mkdir(parents=True)
    f.write_text(src)
    names = {n for n, _ in _imports("mattebench.report.probe", f)}
    assert {"mattebench.methods.registry", "mattebench.scoring.scorer"} <= {_as_known(n) for n in names if _project(n)}


@pytest.mark.parametrize("module, part", [
    ("mattebench.report.figures", "report"), ("mattebench.metrics.fast", "metrics"), ("mattebench.data.synthetic", "data"),
    ("mattebench_baselines.modnet.model", "methods"), ("mattebench.commands.run", "commands"), ("mattebench.runs.record", "record"),
])
def test_part_of_picks_the_most_specific_pattern(module, part):
    assert rules.part_of(module).name == part


def test_architecture_doc_carries_the_table():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = rules.markdown_table()
    assert table in doc, ("docs/architecture.md does not carry the table of mattebench.architecture_rules; "
                          "paste the output of `python -c 'from mattebench.architecture_rules import markdown_table; "
                          "print(markdown_table())'` between its markers")

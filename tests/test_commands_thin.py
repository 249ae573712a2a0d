"""The CLI commands stay thin: each parses its arguments, calls one engine function, prints.

Read from the source with ``ast`` (nothing is imported or run): engine code that creeps back into
``mattebench/commands/`` shows up as a long function, as an import of the array stack (engine
code works on pixels and tensors; a command only on arguments and results), or as an import of the
compositing, frame-streaming or image-I/O internals that the engine modules own.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

COMMANDS = Path(__file__).resolve().parents[1] / "mattebench" / "commands"
MAX_LINES = 60

# Packages that only engine code needs: a command that imports one is computing, not parsing.
ARRAY_STACK = ("numpy", "torch", "cv2", "PIL", "scipy", "skimage", "pymatting")
# Engine internals a command must reach only through its engine function (mattebench.tracks.predict,
# mattebench.tracks.export, ...): compositing, streaming frames through a method, reading and writing pixels,
# checking predictions.
INTERNAL_MODULES = (
    "mattebench.data.compose",
    "mattebench.tracks.stream",
    "mattebench.data.frames",
    "mattebench.data.io",
    "mattebench.scoring.scorer",
    "mattebench.data.trimap_values",
)
INTERNAL_NAMES = ("composite", "BACKGROUNDS", "OneFrameDelay", "iter_frames", "input_kind", "predict_stream",
                  "check_prediction", "read_image", "write_image", "write_alpha", "write_alpha16", "read_checked_trimap")


def command_modules() -> list[Path]:
    return sorted(p for p in COMMANDS.glob("*.py") if p.name != "__init__.py")


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imports(source: str, package: str = "mattebench.commands") -> list[tuple[str, str]]:
    """(module, imported name or "") for every import in a module of ``package``, relative imports resolved."""
    out: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, "") for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for a in node.names:
                out.append((module, a.name))
                out.append((f"{module}.{a.name}", ""))  # `from .. import io` imports the module mattebench.io
    return out


def test_the_command_modules_are_found():
    names = {p.stem for p in command_modules()}
    assert {"predict", "train", "export", "run", "robustness", "data", "conventions"} <= names


def test_imports_are_resolved_like_python_does():
    # the checker itself: relative imports of both forms land on the absolute module names
    got = imports("from ..io import read_image\nfrom .. import compositing\nimport numpy as np\nfrom ._options import x\n"
                  "def f():\n    from ..video.stream import Frame\n")
    assert ("mattebench.io", "read_image") in got and ("mattebench.compositing", "") in got
    assert ("numpy", "") in got and ("mattebench.commands._options", "x") in got
    assert ("mattebench.video.stream", "Frame") in got  # imports inside functions count too


@pytest.mark.parametrize("path", command_modules(), ids=lambda p: p.name)
def test_no_long_functions(path: Path):
    long = [f"{n.name} ({n.end_lineno - n.lineno + 1} lines, line {n.lineno})" for n in ast.walk(_tree(path))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_LINES]
    assert not long, f"{path.name}: move the engine part of {', '.join(long)} into an engine module"


@pytest.mark.parametrize("path", command_modules(), ids=lambda p: p.name)
def test_no_array_stack(path: Path):
    used = sorted({m for m, _ in imports(path.read_text(encoding="utf-8")) if m.split(".")[0] in ARRAY_STACK})
    assert not used, f"{path.name} imports {', '.join(used)}: pixel and tensor work belongs in an engine module"


@pytest.mark.parametrize("path", command_modules(), ids=lambda p: p.name)
def test_no_compositing_or_streaming_internals(path: Path):
    bad = sorted({f"{m}.{n}" if n else m for m, n in imports(path.read_text(encoding="utf-8"))
                  if m in INTERNAL_MODULES or n in INTERNAL_NAMES})
    assert not bad, f"{path.name} imports engine internals {', '.join(bad)}: call the engine function instead"

"""Where the shared real data and models are, and skips that say what is missing.

The shared folder sits beside the checkout (``../shared``) or where MATTEBENCH_SHARED points; nothing
from it is ever copied into the project. The exported-model runners need optional libraries
(``pip install 'mattebench[onnx,tflite]'``; ``make test`` installs them): a test that needs one skips,
naming it, where it is absent, instead of failing on an install step.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("MATTEBENCH_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared")).resolve()
MODELS = SHARED / "models"

_EXTRA_OF = {"onnx": "export", "onnxruntime": "onnx", "ai_edge_litert": "tflite"}


def need_module(module: str) -> None:
    """Skip unless ``module`` imports; the reason names the extra that brings it."""
    if importlib.util.find_spec(module) is None:
        extra = _EXTRA_OF.get(module, module)
        pytest.skip(f"{module} is not installed (pip install 'mattebench[{extra}]'; make test installs it)")


def need_path(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"real test data not here: {path} is absent (set MATTEBENCH_SHARED to the shared folder)")

"""An exported model as a mattebench method: the backend-independent part (card, identity, predict).

A backend (:mod:`.onnx_backend`, :mod:`.tflite_backend`) opens the file and runs one input; this class
turns an image into that input by the :class:`~.io_spec.IOSpec` and the output back into a matte. The
model file is checked when the method is built (an input that is no image, an output that is no map,
an input size other than the preset's): a clear :class:`~.io_spec.ModelSpecError`, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence

import numpy as np
from mattebench_baselines.exported.io_spec import (
    IOSpec,
    ModelSpecError,
    alpha_map,
    build_spec,
    prepare,
    restore,
)
from mattebench_baselines.exported.presets import Preset, get_preset
from mattebench_baselines.saved_predictions import card_from_options

from mattebench import environment
from mattebench.types import MethodCard


class Backend(Protocol):
    kind: str  # "ONNX" / "TFLite"
    input_name: str
    input_shape: tuple[Any, ...]  # may hold None / strings for dynamic axes
    output_names: list[str]
    output_shapes: list[tuple[Any, ...]]
    runtime: str  # "onnxruntime 1.x (CPUExecutionProvider)"

    def run(self, x: np.ndarray) -> list[np.ndarray]: ...


def _static(d: Any) -> Optional[int]:
    return int(d) if isinstance(d, (int, np.integer)) and int(d) > 0 else None


def input_layout(shape: Sequence[Any], path: Path, kind: str) -> str:
    """nchw when dim 1 is 3, nhwc when the last is 3; anything else is not an image input."""
    if len(shape) != 4:
        raise ModelSpecError(f"{path}: the {kind} model's input has shape {list(shape)}; an image matting model takes "
                             f"1x3xHxW or 1xHxWx3. This file is not a matting/segmentation model, or needs other inputs.")
    if _static(shape[1]) == 3:
        return "nchw"
    if _static(shape[3]) == 3:
        return "nhwc"
    raise ModelSpecError(f"{path}: the {kind} model's input {list(shape)} has no axis of 3 colour channels (at 1 or 3); "
                         f"not an RGB image model")


class ExportedModel:
    """``predict(image) -> alpha`` through an exported network; an :class:`mattebench.types.ExternalInput`."""

    needs_trimap = False

    def __init__(self, backend: Backend, path: Path, preset: Optional[str], options: dict[str, Any], name: Optional[str],
                 family: str, paper: str, url: str, notes: str):
        self.backend, self.path = backend, path
        self.preset: Optional[Preset] = get_preset(preset) if preset else None
        base = self.preset.spec if self.preset else IOSpec()
        self.spec = build_spec(base, options)
        self.layout = self.spec.layout or input_layout(backend.input_shape, path, backend.kind)
        self.spec = self._fit_to_model(self.spec)
        self.output_index = self._output_index()
        self._sha256 = environment.sha256_file(path)
        self.name = name or path.stem
        pre = self.preset
        what = (f"{backend.kind} model {path.name} (sha256 {self._sha256[:12]}) run with {backend.runtime}"
                + (f"; preset {pre.name}: {pre.source}" if pre else "") + f"; {self.spec.describe()}"
                + (f". {pre.note}" if pre and pre.note else ""))
        self.card: MethodCard = card_from_options(self.name, family, paper or (pre.paper if pre else ""),
                                                  url or (pre.url if pre else ""), notes, what,
                                                  licence=pre.licence if pre else "unknown")
        if self.card.needs_trimap:
            raise ModelSpecError("--family trimap-based: exported models here take the image only (no trimap input)")

    # -- checks against the file ------------------------------------------------------------------
    def _fit_to_model(self, spec: IOSpec) -> IOSpec:
        shape = self.backend.input_shape
        hw = (shape[2], shape[3]) if self.layout == "nchw" else (shape[1], shape[2])
        fixed = (_static(hw[0]), _static(hw[1]))
        if fixed[0] and fixed[1]:
            if spec.ref_size is not None:
                raise ModelSpecError(f"{self.path}: the model's input is fixed at {fixed[0]}x{fixed[1]}, but the options ask "
                                     f"for a reference-size rule (ref_size={spec.ref_size}); use -m size=[{fixed[0]},{fixed[1]}]")
            if spec.size is not None and tuple(spec.size) != fixed:
                raise ModelSpecError(f"{self.path}: the model's input is {list(shape)} ({fixed[0]}x{fixed[1]}), but the "
                                     f"{'preset ' + self.preset.name if self.preset else 'options'} expect "
                                     f"{spec.size[0]}x{spec.size[1]}: wrong file for this preset, or set -m size=[H,W]")
            if spec.size is None:
                import dataclasses

                spec = dataclasses.replace(spec, size=fixed)
        if self.preset and self.preset.input_name and self.backend.input_name != self.preset.input_name:
            raise ModelSpecError(f"{self.path}: preset {self.preset.name} expects the input tensor {self.preset.input_name!r}, "
                                 f"this file's is {self.backend.input_name!r}: wrong file for this preset?")
        return spec

    def _output_index(self) -> int:
        names = self.backend.output_names
        want = self.spec.output
        if isinstance(want, int) or (isinstance(want, str) and want.isdigit()):
            i = int(want)
            if not 0 <= i < len(names):
                raise ModelSpecError(f"{self.path}: -m output={want} but the model has {len(names)} output(s): {names}")
            return i
        if want is None or (want not in names and len(names) == 1 and self.preset is not None):
            return 0  # the only output (a preset's name is a hint: exports may name it otherwise)
        if want not in names:
            raise ModelSpecError(f"{self.path}: no output named {want!r}; the model's outputs are {names} (-m output=NAME|INDEX)")
        return names.index(want)

    # -- ExternalInput ----------------------------------------------------------------------------
    def input_identity(self) -> dict[str, Any]:
        return {"source": f"exported {self.backend.kind} model", "model_file": str(self.path.resolve()), "model_sha256": self._sha256,
                "model_spec": self.spec.describe()}

    def unmatched(self, sample_ids: Sequence[str]) -> list[str]:
        return []

    # -- inference --------------------------------------------------------------------------------
    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        x = prepare(self.spec, image, self.layout)
        outs = self.backend.run(x)
        a = alpha_map(self.spec, outs[self.output_index], self.layout, f"{self.path.name}")
        return restore(self.spec, a, tuple(np.asarray(image).shape[:2]))


def model_path(model: Optional[str | os.PathLike[str]], kind: str, ext: str) -> Path:
    if not model:
        raise ModelSpecError(f"--method {kind.lower()} needs -m model=PATH (a local .{ext} file; nothing is downloaded)")
    p = Path(model)
    if not p.is_file():
        raise ModelSpecError(f"-m model={p}: no such file")
    return p

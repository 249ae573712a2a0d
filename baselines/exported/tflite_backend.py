"""LiteRT (TensorFlow Lite) backend for :class:`~.model.ExportedModel` (extra ``mattebench[tflite]``: ai-edge-litert)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
from mattebench_baselines.exported.io_spec import ModelSpecError


class TFLiteBackend:
    kind = "TFLite"

    def __init__(self, path: Path, device: Optional[str] = None, threads: Optional[int] = None):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise ModelSpecError("--method tflite needs LiteRT: pip install 'mattebench[tflite]' (ai-edge-litert)") from exc
        if device and str(device).startswith("cuda"):
            warnings.warn(f"--device {device}: LiteRT runs TFLite models on the CPU here", stacklevel=3)
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=int(threads) if threads else None)
            self.interpreter.allocate_tensors()
        except Exception as exc:  # LiteRT raises ValueError/RuntimeError for foreign or broken files
            raise ModelSpecError(f"{path}: LiteRT cannot load it as a TFLite model ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:300] if str(exc) else ''})") from exc
        inputs = self.interpreter.get_input_details()
        if len(inputs) != 1:
            raise ModelSpecError(f"{path}: the model has {len(inputs)} inputs; an image matting model takes one image tensor")
        self._input = inputs[0]
        if self._input["dtype"] != np.float32:
            raise ModelSpecError(f"{path}: the input is {np.dtype(self._input['dtype']).name}; only float32 TFLite models "
                                 f"are supported (quantised models need their own scale and zero point)")
        self.input_name = str(self._input["name"])
        self.input_shape: tuple[Any, ...] = tuple(int(d) for d in self._input["shape"])
        self._outputs = self.interpreter.get_output_details()
        self.output_names = [str(o["name"]) for o in self._outputs]
        self.output_shapes = [tuple(int(d) for d in o["shape"]) for o in self._outputs]
        try:
            from ai_edge_litert import __version__ as version
        except ImportError:
            version = "?"
        self.runtime = f"LiteRT {version} (CPU)"

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        if tuple(x.shape) != self.input_shape:
            raise ModelSpecError(f"input {list(x.shape)} does not fit the TFLite model's {list(self.input_shape)}")
        self.interpreter.set_tensor(self._input["index"], x)
        self.interpreter.invoke()
        return [self.interpreter.get_tensor(o["index"]).copy() for o in self._outputs]

"""onnxruntime backend for :class:`~.model.ExportedModel` (extra ``mattebench[onnx]``)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional

import numpy as np
from mattebench_baselines.exported.io_spec import ModelSpecError


class OnnxBackend:
    kind = "ONNX"

    def __init__(self, path: Path, device: Optional[str] = None, threads: Optional[int] = None):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelSpecError("--method onnx needs onnxruntime: pip install 'mattebench[onnx]'") from exc
        so = ort.SessionOptions()
        so.log_severity_level = 3  # old exports list weights as inputs: onnxruntime warns once per tensor
        if threads:
            so.intra_op_num_threads = int(threads)
            so.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if device and str(device).startswith("cuda"):
            if "CUDAExecutionProvider" in ort.get_available_providers():
                index = str(device).split(":", 1)[1] if ":" in str(device) else "0"
                providers = [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]
            else:
                warnings.warn(f"--device {device}: this onnxruntime has no CUDA provider (pip install onnxruntime-gpu); "
                              f"running on the CPU", stacklevel=3)
        try:
            self.session = ort.InferenceSession(str(path), so, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for foreign or broken files
            raise ModelSpecError(f"{path}: onnxruntime cannot load it as an ONNX model ({type(exc).__name__}: "
                                 f"{str(exc).splitlines()[0][:300]})") from exc
        # Only the image input: initializers listed as graph inputs (old exporters) have defaults.
        inputs = [i for i in self.session.get_inputs()]
        if len(inputs) != 1:
            raise ModelSpecError(f"{path}: the model has {len(inputs)} inputs ({', '.join(i.name for i in inputs[:5])}); "
                                 f"an image matting model takes one image tensor")
        self.input_name = inputs[0].name
        self.input_shape: tuple[Any, ...] = tuple(inputs[0].shape)
        if "float" not in inputs[0].type:
            raise ModelSpecError(f"{path}: the input {self.input_name!r} is {inputs[0].type}; expected a float image tensor")
        self.output_names = [o.name for o in self.session.get_outputs()]
        self.output_shapes = [tuple(o.shape) for o in self.session.get_outputs()]
        used = self.session.get_providers()[0]
        self.runtime = f"onnxruntime {ort.__version__} ({used})"

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        return list(self.session.run(None, {self.input_name: x}))

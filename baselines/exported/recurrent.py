"""Recurrent video matting models with RobustVideoMatting's I/O contract: ``--method onnx -m preset=rvm -m model=FILE``.

Contract (PeterL1n/RobustVideoMatting@53d74c6 documentation/inference.md L27-64, L87-105, L205-217; branch ``onnx``
export_onnx.py L40-73, model/decoder.py L191-192):

- ONNX: inputs ``src`` [B,3,H,W] RGB in [0,1] (the model's dtype), ``r1i..r4i`` (the first frame gets zeros of
  shape [1,1,1,1], broadcast inside), ``downsample_ratio`` float32 [1]; outputs ``fgr, pha, r1o..r4o``; each
  frame's ``rXo`` is the next frame's ``rXi``.
- TorchScript (``.pt``/``.torchscript``): ``model(src, r1, r2, r3, r4, downsample_ratio)`` -> ``[fgr, pha, r1..r4]``,
  initial states ``None``, the ratio a Python float.
- The ratio: ``-m downsample_ratio=R``, else RVM's table for the frame size (inference.md L27-32; ``-m shot=portrait``
  or ``full-body``), else its auto rule min(512 / max(H, W), 1) (inference.py L153-157). The rule is recorded in the
  run's provenance (the input identity); each clip's choice in :attr:`RecurrentModel.last_ratio`.

The state is carried from frame to frame within a clip (:meth:`predict_sequence`, one call per clip: the scorer
asks for every frame of a clip in order) and starts from zeros at every clip; :meth:`predict` on a single image
is a clip of one frame. Each frame of a clip comes back with its foreground (an HxWx4 array: alpha, then the
foreground truncated to 8 bits as RVM's writer saves it, inference_utils.py L44, L82, over 255), for RVM's
foreground metrics. Timing: :attr:`timing` sums
the model calls alone (what published speed tests time) and the whole loop (preprocessing, state, output).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
from mattebench_baselines.exported.io_spec import ModelSpecError
from mattebench_baselines.saved_predictions import card_from_options

from mattebench import environment

ONNX_INPUTS = ("src", "r1i", "r2i", "r3i", "r4i", "downsample_ratio")
ONNX_OUTPUTS = ("fgr", "pha", "r1o", "r2o", "r3o", "r4o")
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".torchscript")
# inference.md L27-32: (long side, short side) -> (portrait, full body)
RATIO_TABLE = {(1280, 720): (0.375, 0.6), (1920, 1080): (0.25, 0.4), (3840, 2160): (0.125, 0.2)}
RATIO_RULE = ("RVM's recommendation by frame size (inference.md L27-32: <= 512 -> 1, 1280x720 -> 0.375/0.6, 1920x1080 -> "
              "0.25/0.4, 3840x2160 -> 0.125/0.2 portrait/full body), else min(512 / max(H, W), 1) (inference.py L153-157)")


def recommended_downsample_ratio(height: int, width: int, shot: str = "portrait") -> tuple[float, str]:
    """(ratio, where it comes from) for a frame size: RVM's table, then its auto rule."""
    if height <= 0 or width <= 0:
        raise ValueError(f"frame size {width}x{height} is not positive")
    if shot not in ("portrait", "full-body"):
        raise ModelSpecError(f"-m shot={shot!r}: expected portrait or full-body (RVM's two columns)")
    long, short = max(height, width), min(height, width)
    if long <= 512:
        return 1.0, "RVM inference.md table: <= 512x512 -> 1"
    if (long, short) in RATIO_TABLE:
        r = RATIO_TABLE[(long, short)][0 if shot == "portrait" else 1]
        return r, f"RVM inference.md table: {long}x{short} {shot} -> {r}"
    return min(512 / long, 1.0), "RVM inference.py auto_downsample_ratio: min(512 / max(H, W), 1)"


class _OnnxRVM:
    kind = "ONNX"

    def __init__(self, path: Path, device: Optional[str], threads: Optional[int]):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelSpecError("--method onnx needs onnxruntime: pip install 'mattebench[onnx]'") from exc
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if threads:
            so.intra_op_num_threads, so.inter_op_num_threads = int(threads), 1
        providers = ["CPUExecutionProvider"]
        if device and str(device).startswith("cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
            providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        try:
            self.sess = ort.InferenceSession(str(path), so, providers=providers)
        except Exception as exc:  # onnxruntime raises its own types for foreign or broken files
            raise ModelSpecError(f"{path}: onnxruntime cannot load it ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})") from exc
        ins = [i.name for i in self.sess.get_inputs()]
        self.outs = [o.name for o in self.sess.get_outputs()]
        if sorted(ins) != sorted(ONNX_INPUTS) or sorted(self.outs) != sorted(ONNX_OUTPUTS):
            raise ModelSpecError(f"{path}: inputs {ins}, outputs {self.outs}; preset rvm needs RobustVideoMatting's contract: "
                                 f"inputs {list(ONNX_INPUTS)}, outputs {list(ONNX_OUTPUTS)}")
        src_type = self.sess.get_inputs()[ins.index("src")].type
        self.dtype = np.float16 if "float16" in src_type else np.float32
        self.runtime = f"onnxruntime {ort.__version__} ({self.sess.get_providers()[0]})"

    def fresh(self) -> list[Any]:
        return [np.zeros((1, 1, 1, 1), dtype=self.dtype) for _ in range(4)]

    def step(self, src: np.ndarray, rec: list[Any], ratio: float) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        feed = {"src": src.astype(self.dtype), "downsample_ratio": np.array([ratio], dtype=np.float32)}
        feed.update({f"r{i + 1}i": r for i, r in enumerate(rec)})
        res = dict(zip(self.outs, self.sess.run(None, feed)))
        return res["fgr"], res["pha"], [res[f"r{i}o"] for i in range(1, 5)]


class _TorchScriptRVM:
    kind = "TorchScript"

    def __init__(self, path: Path, device: Optional[str], threads: Optional[int]):
        import torch

        self.torch, self.device = torch, torch.device(device or "cpu")
        try:
            self.model = torch.jit.load(str(path), map_location=self.device).eval()
        except Exception as exc:  # noqa: BLE001 - a foreign file: say so
            raise ModelSpecError(f"{path}: torch.jit.load cannot load it ({type(exc).__name__}: {str(exc).splitlines()[0][:300]})") from exc
        self.dtype = next((p.dtype for p in self.model.parameters()), torch.float32)
        self.runtime = f"torch {torch.__version__} TorchScript ({self.device})"

    def fresh(self) -> list[Any]:
        return [None] * 4

    def step(self, src: np.ndarray, rec: list[Any], ratio: float) -> tuple[np.ndarray, np.ndarray, list[Any]]:
        with self.torch.no_grad():
            x = self.torch.from_numpy(src).to(self.device, self.dtype)
            out = self.model(x, rec[0], rec[1], rec[2], rec[3], float(ratio))
        if len(out) != 6:
            raise ModelSpecError(f"the TorchScript model returned {len(out)} outputs; RVM's contract is [fgr, pha, r1, r2, r3, r4]")
        return out[0].float().cpu().numpy(), out[1].float().cpu().numpy(), list(out[2:])


@dataclass
class Timing:
    """Seconds inside the model calls, and for the whole loop around them, over ``frames`` frames."""

    frames: int = 0
    model_s: float = 0.0
    end_to_end_s: float = 0.0

    def fps(self) -> dict[str, float]:
        rate = lambda s: self.frames / s if s > 0 else float("nan")  # noqa: E731
        return {"frames": self.frames, "model_fps": rate(self.model_s), "end_to_end_fps": rate(self.end_to_end_s)}


@dataclass
class RecurrentModel:
    """A RobustVideoMatting-style model as a sequence method (see the module docstring)."""

    path: Path
    downsample_ratio: Optional[float] = None
    shot: str = "portrait"
    device: Optional[str] = None
    threads: Optional[int] = None
    name: Optional[str] = None
    family: str = "trimap-free"
    paper: str = ""
    url: str = ""
    notes: str = ""
    timing: Timing = field(default_factory=Timing)
    last_ratio: tuple[float, str] = (float("nan"), "")
    needs_trimap = False

    def __post_init__(self) -> None:
        if self.downsample_ratio is not None and not 0 < float(self.downsample_ratio) <= 1:
            raise ModelSpecError(f"-m downsample_ratio={self.downsample_ratio}: expected 0 < r <= 1")
        recommended_downsample_ratio(1, 1, self.shot)  # checks the shot
        ts = self.path.suffix.lower() in TORCHSCRIPT_SUFFIXES
        self.backend = (_TorchScriptRVM if ts else _OnnxRVM)(self.path, self.device, self.threads)
        self._sha256 = environment.sha256_file(self.path)
        what = (f"{self.backend.kind} model {self.path.name} (sha256 {self._sha256[:12]}) run with {self.backend.runtime}; "
                f"preset rvm: RobustVideoMatting's recurrent contract, state carried within a clip and reset between clips; "
                f"downsample ratio {self._ratio_text()}")
        self.card = card_from_options(self.name or self.path.stem, self.family, self.paper or
                                      "Lin et al. Robust High-Resolution Video Matting with Temporal Guidance. WACV 2022",
                                      self.url or "https://github.com/PeterL1n/RobustVideoMatting", self.notes, what,
                                      licence="the user's file (RVM code and weights: GPL-3.0)")

    def _ratio_text(self) -> str:
        return f"{self.downsample_ratio} (given)" if self.downsample_ratio is not None else f"by frame size, {self.shot}: {RATIO_RULE}"

    # -- ExternalInput ------------------------------------------------------------------------------
    def input_identity(self) -> dict[str, Any]:
        return {"source": f"exported {self.backend.kind} model", "model_file": str(self.path.resolve()), "model_sha256": self._sha256,
                "model_spec": f"preset rvm (recurrent); downsample_ratio {self._ratio_text()}"}

    def unmatched(self, sample_ids: Sequence[str]) -> list[str]:
        return []

    # -- inference ----------------------------------------------------------------------------------
    def start_clip(self, height: int, width: int) -> None:
        """Zero state and the clip's ratio: call before the first frame of every clip."""
        self._rec = self.backend.fresh()
        self.last_ratio = ((float(self.downsample_ratio), "given") if self.downsample_ratio is not None
                           else recommended_downsample_ratio(height, width, self.shot))
        self._size = (height, width)

    def step(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The next frame of the clip: (alpha HxW float32, foreground HxWx3 uint8 truncated); the state moves on."""
        t_start = time.perf_counter()
        f = np.asarray(image)
        if f.dtype != np.uint8 or f.ndim != 3 or f.shape[2] != 3:
            raise ModelSpecError(f"frame: dtype {f.dtype} shape {f.shape}; expected HxWx3 uint8 RGB")
        if f.shape[:2] != self._size:
            raise ModelSpecError(f"frame of {f.shape[1]}x{f.shape[0]} in a clip of {self._size[1]}x{self._size[0]} frames")
        src = (f.astype(np.float32) / np.float32(255.0)).transpose(2, 0, 1)[None].copy()
        t0 = time.perf_counter()
        fgr, pha, self._rec = self.backend.step(src, self._rec, self.last_ratio[0])  # this frame's states feed the next
        self.timing.model_s += time.perf_counter() - t0
        alpha = np.clip(np.asarray(pha, np.float32)[0, 0], 0.0, 1.0)
        fg8 = (np.clip(np.asarray(fgr, np.float32)[0].transpose(1, 2, 0), 0.0, 1.0) * np.float32(255.0)).astype(np.uint8)
        self.timing.frames += 1
        self.timing.end_to_end_s += time.perf_counter() - t_start
        return alpha, fg8

    def predict_sequence(self, frames: Sequence[np.ndarray], trimaps: Optional[Sequence[Any]] = None) -> list[np.ndarray]:
        """One clip, in order, from a zero state: per frame an HxWx4 float32 array, the alpha then the 8-bit
        foreground / 255 (one array per frame is what a method host sends back; the scorer takes it apart)."""
        if not len(frames):
            return []
        first = np.asarray(frames[0])
        self.start_clip(first.shape[0], first.shape[1])
        out = []
        for f in frames:
            alpha, fg8 = self.step(f)
            out.append(np.dstack([alpha, fg8.astype(np.float32) / np.float32(255.0)]))
        return out

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        """A single image: a clip of one frame (no state from earlier images)."""
        first = np.asarray(image)
        self.start_clip(first.shape[0], first.shape[1])
        return self.step(image)[0]

"""How an exported model wants its input and gives its matte: one frozen spec, built from ``-m`` options.

Options (every one optional; a preset fills them, explicit options override the preset):

- input rule: ``size=[H,W]`` (fixed; default the model's static input size), or ``ref_size=N`` with
  ``multiple=M`` (MODNet's rule: short side to N when the image is outside [N, N], both sides rounded
  down to multiples of M); ``resize=area|bilinear|bicubic|nearest|antialias`` for the way in and
  ``resize_out=...`` for the matte back to the image size (``antialias``: PIL bilinear, which
  averages over the footprint when shrinking, as ``tf.image.resize(antialias=True)``);
  ``resize_stage=uint8`` resizes the 8-bit image (rounded, as ``cv2.resize(frame)`` in most demos) and
  ``float`` the pixel values unrounded (MODNet's official order: normalise, then resize);
- ``channels=rgb|bgr``; ``layout=nchw|nhwc`` (default: read from the model's input shape);
- normalisation ``scale`` (multiplies), ``mean`` and ``std`` (per channel, in the input's channel
  order) applied in ``norm_order=scale-first`` (``(x * scale - mean) / std``) or ``meanstd-first``
  (``(x - mean) / std * scale``), x being the 0..255 pixel values;
- output: ``output=NAME|INDEX``, ``channel=C`` (which channel is alpha), ``activation=none|sigmoid|softmax``
  (softmax over the channel axis, then ``channel``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Any, Optional, Sequence, Union

import numpy as np

from mattebench.errors import ModelSpecError, PredictionError
from mattebench.types import AtLeast

RESIZES = ("area", "bilinear", "bicubic", "nearest", "antialias")
ACTIVATIONS = ("none", "sigmoid", "softmax")
NORM_ORDERS = ("scale-first", "meanstd-first")
MAX_OUTPUT_CHANNELS = 4  # more is no alpha / class-score axis of a portrait model


@dataclass(frozen=True)
class IOSpec:
    size: Optional[tuple[int, int]] = None  # fixed (H, W)
    ref_size: Optional[int] = None  # reference rule (MODNet)
    multiple: int = 1
    resize: str = "bilinear"
    resize_out: str = "bilinear"
    resize_stage: str = "uint8"
    channels: str = "rgb"
    layout: Optional[str] = None  # nchw / nhwc; None = from the model
    scale: float = 1.0 / 255.0
    mean: tuple[float, ...] = (0.0, 0.0, 0.0)
    std: tuple[float, ...] = (1.0, 1.0, 1.0)
    norm_order: str = "scale-first"
    output: Union[str, int, None] = None
    channel: int = 0
    activation: str = "none"

    def describe(self) -> str:
        rule = (f"fixed {self.size[0]}x{self.size[1]}" if self.size else
                f"reference size {self.ref_size}, multiples of {self.multiple}" if self.ref_size else "the image's own size")
        norm = (f"x*{self.scale:.6g} then (x-mean)/std" if self.norm_order == "scale-first" else f"(x-mean)/std then x*{self.scale:.6g}")
        return (f"input: {self.channels.upper()}, {rule}, resize {self.resize} in / {self.resize_out} out; {norm} with "
                f"mean {list(self.mean)} std {list(self.std)}; alpha: output {self.output if self.output is not None else 0} "
                f"channel {self.channel}, activation {self.activation}")


def _pair(value: Any, name: str) -> tuple[int, int]:
    v = [value, value] if isinstance(value, int) else list(value)
    if len(v) != 2 or not all(isinstance(x, int) and x > 0 for x in v):
        raise ModelSpecError(f"-m {name}={value!r}: give [H,W] as two positive integers, e.g. -m {name}=[256,256]")
    return int(v[0]), int(v[1])


def _triple(value: Any, name: str) -> tuple[float, ...]:
    v = [value] * 3 if isinstance(value, (int, float)) else list(value)
    if len(v) != 3:
        raise ModelSpecError(f"-m {name}={value!r}: give one number or three (one per channel), e.g. -m {name}=[0.5,0.5,0.5]")
    return tuple(float(x) for x in v)


def _choice(value: Any, name: str, choices: Sequence[str]) -> str:
    if str(value) not in choices:
        raise ModelSpecError(f"-m {name}={value!r}: choose one of {', '.join(choices)}")
    return str(value)


# Every input/output option build_spec takes, with the type of value it expects (for `-m` checks before any sample).
SPEC_OPTIONS: dict[str, Any] = {
    "size": Any, "ref_size": Annotated[int, AtLeast(1)], "multiple": Annotated[int, AtLeast(1)],
    "resize": str, "resize_out": str, "resize_stage": str,
    "channels": str, "layout": str, "scale": float, "mean": Any, "std": Any, "norm_order": str,
    "output": Any, "channel": int, "activation": str,
}


def build_spec(base: IOSpec, options: dict[str, Any]) -> IOSpec:
    """The preset's spec with the user's options applied (each validated with an actionable message)."""
    o = dict(options)
    changes: dict[str, Any] = {}
    if "size" in o:
        changes.update(size=_pair(o.pop("size"), "size"), ref_size=None)
    if "ref_size" in o:
        changes.update(ref_size=int(o.pop("ref_size")), size=None)
    if "multiple" in o:
        changes["multiple"] = max(1, int(o.pop("multiple")))
    for key in ("resize", "resize_out"):
        if key in o:
            changes[key] = _choice(o.pop(key), key, RESIZES)
    if "resize_stage" in o:
        changes["resize_stage"] = _choice(o.pop("resize_stage"), "resize_stage", ("uint8", "float"))
    if "channels" in o:
        changes["channels"] = _choice(str(o.pop("channels")).lower(), "channels", ("rgb", "bgr"))
    if "layout" in o:
        changes["layout"] = _choice(str(o.pop("layout")).lower(), "layout", ("nchw", "nhwc"))
    if "scale" in o:
        changes["scale"] = float(o.pop("scale"))
    for key in ("mean", "std"):
        if key in o:
            changes[key] = _triple(o.pop(key), key)
    if "norm_order" in o:
        changes["norm_order"] = _choice(o.pop("norm_order"), "norm_order", NORM_ORDERS)
    if "output" in o:
        changes["output"] = o.pop("output")
    if "channel" in o:
        changes["channel"] = int(o.pop("channel"))
    if "activation" in o:
        changes["activation"] = _choice(o.pop("activation"), "activation", ACTIVATIONS)
    if o:
        raise ModelSpecError(f"unknown model option(s) {', '.join(sorted(o))}; the input/output options are "
                             f"{', '.join(SPEC_OPTIONS)} (besides model, preset, threads)")
    spec = dataclasses.replace(base, **changes)
    if any(s == 0 for s in spec.std):
        raise ModelSpecError("-m std: a standard deviation of 0 divides by zero")
    return spec


# -- image side -----------------------------------------------------------------------------------
def model_size(spec: IOSpec, h: int, w: int) -> tuple[int, int]:
    """(H, W) the model runs at for an h x w image."""
    if spec.size is not None:
        return spec.size
    if spec.ref_size is not None:
        from mattebench_baselines.modnet.inference import inference_size

        return inference_size(h, w, spec.ref_size, spec.multiple)
    m = spec.multiple
    return max(m, h - h % m), max(m, w - w % m)


def resize(a: np.ndarray, size: tuple[int, int], how: str) -> np.ndarray:
    """Resize an HxW(xC) float32 array to (H, W) with the named filter."""
    if a.shape[:2] == tuple(size):
        return a
    import cv2

    h, w = size
    if how == "antialias":
        from PIL import Image

        if a.ndim == 2:
            return np.asarray(Image.fromarray(a.astype(np.float32), mode="F").resize((w, h), Image.BILINEAR), np.float32)
        chans = [np.asarray(Image.fromarray(a[..., c].astype(np.float32), mode="F").resize((w, h), Image.BILINEAR)) for c in range(a.shape[2])]
        return np.stack(chans, axis=2).astype(np.float32)
    flag = {"area": cv2.INTER_AREA, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC, "nearest": cv2.INTER_NEAREST}[how]
    return cv2.resize(a, (w, h), interpolation=flag)


def prepare(spec: IOSpec, image: np.ndarray, layout: str) -> np.ndarray:
    """HxWx3 uint8 RGB -> the model's 1x3xHxW (nchw) or 1xHxWx3 (nhwc) float32 input."""
    x = np.asarray(image)
    if x.ndim == 2:
        x = np.repeat(x[:, :, None], 3, axis=2)
    x = x[:, :, :3]
    if spec.channels == "bgr":
        x = x[:, :, ::-1]
    size = model_size(spec, *x.shape[:2])
    if spec.resize_stage == "uint8" and spec.resize != "antialias":
        x = resize(np.ascontiguousarray(x.astype(np.uint8)), size, spec.resize).astype(np.float32)
    else:
        x = resize(np.ascontiguousarray(x.astype(np.float32)), size, spec.resize)
    mean, std = np.asarray(spec.mean, np.float32), np.asarray(spec.std, np.float32)
    if spec.norm_order == "scale-first":
        x = (x * np.float32(spec.scale) - mean) / std
    else:
        x = (x - mean) / std * np.float32(spec.scale)
    x = x.astype(np.float32)[None]
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2) if layout == "nchw" else x)


# -- matte side -----------------------------------------------------------------------------------
def _softmax(a: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def alpha_map(spec: IOSpec, out: np.ndarray, layout: str, where: str) -> np.ndarray:
    """The model's output (1xCxHxW, 1xHxWxC, 1xHxW or HxW) -> HxW float32 alpha at the model's size."""
    a = np.asarray(out, dtype=np.float32)
    if a.ndim == 4:
        a = a[0]
    elif a.ndim == 3 and a.shape[0] == 1 and a.shape[1] > 4 and a.shape[2] > 4:
        a = a[0][None] if layout == "nchw" else a[0][..., None]
    if a.ndim == 2:
        a = a[None] if layout == "nchw" else a[..., None]
    if a.ndim != 3:
        raise PredictionError(f"{where}: model output has shape {np.shape(out)}; expected a map (1xCxHxW or 1xHxWxC)")
    axis = 0 if layout == "nchw" else 2
    # The output may use the other layout than the input (TF-converted graphs): a few channels at one end
    # and a map's sides at the other say which.
    if a.shape[axis] > MAX_OUTPUT_CHANNELS and a.shape[2 - axis] <= MAX_OUTPUT_CHANNELS:
        axis = 2 - axis
    if spec.activation == "softmax":
        a = _softmax(a, axis)
    if not 0 <= spec.channel < a.shape[axis]:
        raise PredictionError(f"{where}: -m channel={spec.channel} but the output has {a.shape[axis]} channel(s)")
    a = a[spec.channel] if axis == 0 else a[..., spec.channel]
    if spec.activation == "sigmoid":
        a = 1.0 / (1.0 + np.exp(-a))
    return a.astype(np.float32)


def restore(spec: IOSpec, alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return np.clip(resize(alpha, shape, spec.resize_out), 0.0, 1.0).astype(np.float32)

"""Exported models as methods: ``--method onnx -m model=PATH`` and ``--method tflite -m model=PATH``.

Options: ``preset=`` (see :mod:`.presets`: modnet, mediapipe-selfie, sinet, ...), the input/output
options of :mod:`.io_spec`, ``name``/``family``/``paper``/``url``/``notes`` for the card (the run
folder is named by ``name``, default the file's stem), ``device`` (onnx: the CUDA provider when
``cuda`` and available) and ``threads``. The run identity holds the file's sha256.
"""

from __future__ import annotations

from typing import Annotated, Any, Optional

from mattebench_baselines.exported.io_spec import SPEC_OPTIONS, ModelSpecError
from mattebench_baselines.exported.model import ExportedModel, model_path
from mattebench_baselines.exported.presets import get_preset
from mattebench_baselines.exported.recurrent import RecurrentModel

from mattebench.contract import method
from mattebench.types import FAMILY_FREE, AtLeast, MethodCard

CARD_OPTIONS = ("name", "family", "paper", "url", "notes")
RECURRENT_OPTIONS = ("downsample_ratio", "shot")  # preset rvm (mattebench_baselines.exported.recurrent)


def _build(kind: str, ext: str, backend_type: Any, model: Optional[str], preset: Optional[str], device: Optional[str],
           threads: Optional[int], name: Optional[str], family: str, paper: str, url: str, notes: str,
           options: dict[str, Any]) -> ExportedModel:
    path = model_path(model, kind, ext)
    if preset:
        get_preset(preset)  # an unknown preset fails before the file is opened
    recurrent = {k: options.pop(k) for k in RECURRENT_OPTIONS if k in options}
    if preset == "rvm":
        return RecurrentModel(path, device=device, threads=threads, name=name, family=family, paper=paper, url=url, notes=notes,
                              **recurrent)
    if recurrent:
        raise ModelSpecError(f"-m {', '.join(recurrent)}: only for recurrent models (-m preset=rvm)")
    backend = backend_type(path, device=device, threads=threads)
    return ExportedModel(backend, path, preset, options, name, family, paper, url, notes)


ONNX_CARD = MethodCard(name="onnx", notes="an exported ONNX model (-m model=PATH); its card comes from the options",
                      input_size="by the preset or -m size / ref_size", weights_option="")  # the model file is the weights
TFLITE_CARD = MethodCard(name="tflite", notes="an exported TFLite model (-m model=PATH); its card comes from the options",
                         input_size="by the preset or -m size / ref_size", weights_option="")

# The options each factory takes (its named parameters and the input/output options of io_spec), so that an
# unknown or mistyped -m key is refused before any sample, as for every other method.
_COMMON_OPTIONS: dict[str, Any] = {"model": str, "preset": str, "device": str, "threads": Annotated[int, AtLeast(1)], "name": str,
                                   "family": str, "paper": str, "url": str, "notes": str, "downsample_ratio": float, "shot": str,
                                   **SPEC_OPTIONS}


@method(ONNX_CARD, options=_COMMON_OPTIONS)
def create_onnx(model: Optional[str] = None, preset: Optional[str] = None, device: Optional[str] = None,
                threads: Annotated[Optional[int], AtLeast(1)] = None, name: Optional[str] = None,
                family: str = FAMILY_FREE, paper: str = "",
                url: str = "", notes: str = "", **options: Any) -> ExportedModel:
    """An ONNX model run with onnxruntime (see the module docstring for the options)."""
    from mattebench_baselines.exported.onnx_backend import OnnxBackend

    return _build("ONNX", "onnx", OnnxBackend, model, preset, device, threads, name, family, paper, url, notes, options)


@method(TFLITE_CARD, options=_COMMON_OPTIONS)
def create_tflite(model: Optional[str] = None, preset: Optional[str] = None, device: Optional[str] = None,
                  threads: Annotated[Optional[int], AtLeast(1)] = None, name: Optional[str] = None,
                  family: str = FAMILY_FREE, paper: str = "",
                  url: str = "", notes: str = "", **options: Any) -> ExportedModel:
    """A TFLite model run with LiteRT (see the module docstring for the options)."""
    from mattebench_baselines.exported.tflite_backend import TFLiteBackend

    return _build("TFLite", "tflite", TFLiteBackend, model, preset, device, threads, name, family, paper, url, notes, options)

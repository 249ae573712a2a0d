"""Exported models as methods (--method onnx / tflite): I/O options, presets, export round trip, bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mattebench_baselines.exported import create_onnx
from mattebench_baselines.exported.io_spec import (
    IOSpec,
    ModelSpecError,
    alpha_map,
    build_spec,
    prepare,
)
from mattebench_baselines.exported.presets import PRESETS
from torch import nn

from mattebench.commands.cli import main
from mattebench.tracks import export as exporting
from mattebench.types import ExternalInput

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def random_official_checkpoint(path: Path, seed: int = 0) -> Path:
    """MODNet with weights that exercise every layer, saved in the official format (module. prefix,
    backbone twice): official init for convs, random BN affine and running statistics, nonzero biases."""
    from mattebench_baselines.modnet.model import MODNet

    torch.manual_seed(seed)
    m = MODNet()
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
            if mod.affine:
                mod.weight.data.uniform_(0.8, 1.2)
                mod.bias.data.uniform_(-0.1, 0.1)
        if isinstance(mod, nn.Conv2d) and mod.bias is not None:
            mod.bias.data.uniform_(-0.05, 0.05)
    sd = {"module." + k: v for k, v in m.state_dict().items()}
    sd.update({"module.lr_branch.backbone." + k[len("module.backbone."):]: v for k, v in list(sd.items()) if k.startswith("module.backbone.")})
    torch.save(sd, path)
    return path


@pytest.fixture(scope="module")
def modnet_export(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    ckpt = random_official_checkpoint(d / "random-official.ckpt")
    out = d / "modnet.onnx"
    assert main(["export", "--method", "modnet", "--checkpoint", str(ckpt), "--format", "onnx", "--out", str(out),
                 "--size", "256", "256"]) == 0
    return ckpt, out


def test_export_check_input_is_not_degenerate():
    xs = exporting.check_inputs(torch.zeros(1, 3, 64, 96))
    assert len(xs) == 3 and all(x.shape == (1, 3, 64, 96) for x in xs)
    assert all(float(x.std()) > 0.1 and -1 <= float(x.min()) and float(x.max()) <= 1 for x in xs)


def test_export_writes_official_tensor_names(modnet_export):
    _, path = modnet_export
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["input"] and [o.name for o in model.graph.output] == ["output"]


def test_exported_modnet_runs_unchanged_and_matches_eager(modnet_export):
    """ONNX (preset modnet) vs eager MODNet on synthetic portraits: max |difference| <= 1e-4."""
    from mattebench_baselines.modnet import create_modnet

    from mattebench.data.synthetic import SyntheticDataset

    ckpt, path = modnet_export
    eager = create_modnet(checkpoint=str(ckpt), ref_size=256)
    exported = create_onnx(model=str(path), preset="modnet", ref_size=256, name="modnet-onnx")
    ds = SyntheticDataset(size=(288, 224))  # inside [256, 256] rule: no resize, so both see the same pixels
    for sid in ds.ids()[:2]:
        image = ds.load(sid).image
        a, b = eager.predict(image), exported.predict(image)
        assert a.shape == b.shape == image.shape[:2]
        assert float(np.abs(a - b).max()) <= 1e-4
        assert float(a.std()) > 1e-3  # the random weights give a non-constant matte


def test_float64_arbiter_judges_the_export(modnet_export):
    import onnxruntime as ort
    from mattebench_baselines.modnet import create_modnet

    ckpt, path = modnet_export
    module, example = create_modnet(checkpoint=str(ckpt)).export_module(64, 64)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    res = exporting.float64_arbiter(module, session, exporting.check_inputs(example))
    assert res["ok"] and res["export_vs_float64"] < 1e-3 and res["eager_vs_float64"] < 1e-3

    class Broken:  # a session whose matte is off by 1e-2: the arbiter must blame the export
        def run(self, _names, feeds):
            return [session.run(None, feeds)[0] + 1e-2]

    assert not exporting.float64_arbiter(module, Broken(), exporting.check_inputs(example))["ok"]


def test_card_identity_and_run_folder(modnet_export, tmp_path):
    from conftest import TinyDataset

    from mattebench.runs.runner import evaluate

    _, path = modnet_export
    _, summary = evaluate("onnx", TinyDataset(), method_options={"model": str(path), "preset": "modnet", "name": "my-modnet",
                                                                "ref_size": 64}, out=tmp_path / "runs")
    assert summary.method == "my-modnet" and summary.run_dir.endswith("my-modnet")
    settings = json.loads((Path(summary.run_dir) / "run.json").read_text())
    import hashlib

    assert settings["model_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary.method_card.url == "https://github.com/ZHKKKe/MODNet"
    assert summary.counts.ok == 6
    assert isinstance(create_onnx(model=str(path), preset="modnet"), ExternalInput)


# -- the options, on hand-checked values -------------------------------------------------------------
def test_normalisation_orders_and_channels():
    img = np.zeros((2, 2, 3), np.uint8)
    img[..., 0], img[..., 1], img[..., 2] = 255, 51, 0
    x = prepare(build_spec(IOSpec(), {"size": [2, 2], "mean": 0.5, "std": 0.5}), img, "nchw")
    assert x.shape == (1, 3, 2, 2) and np.allclose(x[0, :, 0, 0], [1.0, -0.6, -1.0])
    x = prepare(build_spec(IOSpec(), {"size": [2, 2], "channels": "bgr", "mean": [10, 20, 30], "std": 2,
                                      "norm_order": "meanstd-first", "scale": 0.5}), img, "nhwc")
    assert x.shape == (1, 2, 2, 3) and np.allclose(x[0, 0, 0], [(0 - 10) / 2 * 0.5, (51 - 20) / 2 * 0.5, (255 - 30) / 2 * 0.5])


def test_sinet_preset_matches_its_published_preprocessing():
    """SINet/sinet_video.py: cv2.resize of the BGR frame to 320x320, (x - mean) / std, then /255, CHW."""
    import cv2

    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (200, 150, 3), dtype=np.uint8)
    frame = cv2.resize(rgb[:, :, ::-1].copy(), (320, 320)).astype(np.float32)
    mean = [102.890434, 111.25247, 126.91212]
    std = [62.93292, 62.82138, 66.355705]
    want = (((frame - mean) / std) / 255).transpose(2, 0, 1)[None]
    got = prepare(PRESETS["sinet"].spec, rgb, "nchw")
    assert np.allclose(got, want, atol=1e-6)


def test_alpha_map_softmax_sigmoid_and_channels():
    logits = np.stack([np.zeros((4, 4)), np.full((4, 4), np.log(3.0))])[None]  # p(class 1) = 3 / 4
    spec = build_spec(IOSpec(), {"activation": "softmax", "channel": 1})
    assert np.allclose(alpha_map(spec, logits, "nchw", "t"), 0.75)
    spec = build_spec(IOSpec(), {"activation": "sigmoid"})
    assert np.allclose(alpha_map(spec, np.zeros((1, 4, 4, 1)), "nhwc", "t"), 0.5)
    with pytest.raises(Exception, match="channel=3"):
        alpha_map(build_spec(IOSpec(), {"channel": 3}), logits, "nchw", "t")


def test_bad_options_are_clear():
    with pytest.raises(ModelSpecError, match="resize"):
        build_spec(IOSpec(), {"resize": "lanczos9"})
    with pytest.raises(ModelSpecError, match="unknown model option"):
        build_spec(IOSpec(), {"mena": 1})
    with pytest.raises(ModelSpecError, match="preset"):
        create_onnx(model=__file__, preset="nope")


# -- files that are not matting models ---------------------------------------------------------------
def _vector_model(path: Path) -> Path:
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "vector", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_onnx_file_that_is_not_a_matting_model(tmp_path, capsys):
    path = _vector_model(tmp_path / "classifier.onnx")
    with pytest.raises(ModelSpecError, match=r"input has shape \[1, 10\].*not a matting"):
        create_onnx(model=str(path))
    (tmp_path / "garbage.onnx").write_bytes(b"not a protobuf at all" * 10)
    with pytest.raises(ModelSpecError, match="cannot load it as an ONNX model"):
        create_onnx(model=str(tmp_path / "garbage.onnx"))
    rc = main(["run", "--method", "onnx", "-m", f"model={path}", "--dataset", "synthetic", "--limit", "1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and "not a matting" in err and "Traceback" not in err
    rc = main(["run", "--method", "onnx", "--dataset", "synthetic", "--limit", "1", "--out", str(tmp_path / "r")])
    assert rc == 2 and "model=PATH" in capsys.readouterr().err


def test_cuda_device_uses_the_cuda_provider_only_when_available(modnet_export, monkeypatch):
    import onnxruntime as ort

    _, path = modnet_export
    if "CUDAExecutionProvider" in ort.get_available_providers():
        m = create_onnx(model=str(path), preset="modnet", device="cuda")
        assert "CUDAExecutionProvider" in m.backend.runtime
    else:
        with pytest.warns(UserWarning, match="no CUDA provider"):
            m = create_onnx(model=str(path), preset="modnet", device="cuda")
        assert "CPUExecutionProvider" in m.backend.runtime


def test_output_in_the_other_layout_is_recognised():
    nhwc = np.zeros((1, 8, 6, 2), np.float32)
    nhwc[..., 1] = 0.25
    assert np.allclose(alpha_map(build_spec(IOSpec(), {"channel": 1}), nhwc, "nchw", "t"), 0.25)
    nchw = np.zeros((1, 2, 8, 6), np.float32)
    nchw[:, 1] = 0.75
    assert np.allclose(alpha_map(build_spec(IOSpec(), {"channel": 1}), nchw, "nhwc", "t"), 0.75)

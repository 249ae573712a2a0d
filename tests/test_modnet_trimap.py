"""`modnet-trimap`: Tables 1-2's "MODNet (trimap)", the trimap as a fourth input channel."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pytest
import torch
from mattebench_baselines.modnet import create_modnet_easpp, create_modnet_trimap
from mattebench_baselines.modnet.checkpoints import load_backbone
from mattebench_baselines.modnet.inference import encode_trimap
from mattebench_baselines.modnet.model import MODNet, count_parameters
from test_modnet_cli import cli
from test_train import TinyDataset

from mattebench import evaluate, method_card
from mattebench.errors import CheckpointError, MattebenchError
from mattebench.methods.registry import register_dataset, unregister_dataset


def quiet(factory, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(**kw)


def test_one_more_input_channel_wherever_the_image_enters():
    # The image enters five convolutions (backbone stem; D: conv_enc2x, conv_hr4x[0], conv_hr[0]; F: conv_f[0]),
    # all 3x3: each gains one input channel of (out channels x 3 x 3) weights.
    hr = 32
    extra = 9 * (32 + hr + 2 * hr + hr + hr // 2)
    for context in ("se", "easpp"):
        assert count_parameters(MODNet(in_channels=4, context=context)) == count_parameters(MODNet(context=context)) + extra
    m = MODNet(in_channels=4, context="easpp")
    assert m.backbone.model.features[0][0].weight.shape == (32, 4, 3, 3)
    _, _, matte = m(torch.zeros(1, 4, 64, 64), True)
    assert matte.shape == (1, 1, 64, 64)


def test_trimap_code_and_nearest_resize():
    t = np.array([[0, 128, 255, 7]], np.uint8)
    np.testing.assert_array_equal(encode_trimap(t, (1, 4))[0, 0].numpy(), [[-1, 0, 1, 0]])
    big = np.zeros((40, 40), np.uint8)
    big[10:30, 10:30] = 128
    big[15:25, 15:25] = 255
    code = encode_trimap(big, (32, 32))
    assert set(torch.unique(code).tolist()) == {-1.0, 0.0, 1.0}  # no blended values after resizing


def test_card_and_predict_need_the_trimap():
    card = method_card("modnet-trimap")
    assert card.needs_trimap and card.family == "trimap-based" and card.trainable
    m = quiet(create_modnet_trimap)
    assert m.needs_trimap and m.name == "modnet-trimap" and m.model.in_channels == 4
    img = np.random.default_rng(0).integers(0, 256, (45, 70, 3), dtype=np.uint8)
    tri = np.zeros((45, 70), np.uint8)
    tri[10:35, 20:50] = 128
    with pytest.raises(MattebenchError, match="takes a trimap"):
        m.predict(img)
    a = m.predict(img, tri)
    assert a.shape == (45, 70) and a.dtype == np.float32
    with pytest.raises(MattebenchError, match="not defined for trimap_input"):
        m.adapt("nowhere")


def test_the_trimap_channel_changes_the_prediction():
    torch.manual_seed(0)
    m = MODNet(in_channels=4, context="easpp").eval()
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    a = torch.full((1, 1, 64, 64), -1.0)
    b = torch.ones(1, 1, 64, 64)
    with torch.no_grad():
        _, da, _ = m.train()(torch.cat((x, a), 1), False)[:3]
        _, db, _ = m(torch.cat((x, b), 1), False)[:3]
    assert (da - db).abs().max() > 1e-4  # D sees the trimap directly


def test_backbone_rgb_filters_load_and_trimap_channel_starts_at_zero(tmp_path):
    rgb = MODNet(context="easpp").backbone.model.state_dict()
    path = tmp_path / "mobilenetv2_human_seg.ckpt"
    torch.save(rgb, path)
    m = MODNet(in_channels=4, context="easpp")
    load_backbone(m, path)
    w = m.backbone.model.features[0][0].weight
    torch.testing.assert_close(w[:, :3], rgb["features.0.0.weight"])
    assert torch.count_nonzero(w[:, 3]) == 0


def test_train_save_load_and_evaluate_with_the_datasets_trimaps(tmp_path):
    out = tmp_path / "train"
    register_dataset("tiny-trimap-train", lambda root=None: TinyDataset())
    try:
        assert cli("train", "--method", "modnet-trimap", "--dataset", "tiny-trimap-train", "--steps", 2, "--size", 64,
                   "--batch", 2, "--out", out, "--quiet", "--device", "cpu") == 0
    finally:
        unregister_dataset("tiny-trimap-train")
    rows = list(csv.DictReader(open(out / "loss.csv")))
    assert rows and np.isfinite(float(rows[-1]["loss"]))
    ck = out / "final.ckpt"
    loaded = create_modnet_trimap(checkpoint=str(ck))
    assert loaded.checkpoint["format"]
    # a trimap-input checkpoint in the plain network: the message names the method that loads it
    with pytest.raises(CheckpointError, match="--method modnet-trimap -m variant=easpp"):
        create_modnet_easpp(checkpoint=str(ck))
    rows, summary = evaluate("modnet-trimap", "synthetic", method_options={"checkpoint": str(ck)}, limit=2,
                             out=tmp_path / "runs")
    assert summary.counts.ok == 2 and summary.counts.error == 0, summary.counts
    assert summary.method_card.family == "trimap-based" and summary.method_card.needs_trimap

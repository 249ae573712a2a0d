"""The MODNet-facing commands: train, predict (with --ofd, --batch), adapt (SOC), export."""

from __future__ import annotations

import argparse
import csv

import numpy as np
import pytest
import torch
from mattebench_baselines.modnet import create_modnet
from test_train import TinyDataset

from mattebench.commands import adapt as adapt_cmd
from mattebench.commands import export as export_cmd
from mattebench.commands import predict as predict_cmd
from mattebench.commands import train as train_cmd
from mattebench.data.io import read_alpha, read_image, write_image
from mattebench.methods.registry import register_dataset, unregister_dataset
from mattebench.tracks import export as exporting


def cli(*argv):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    for mod in (train_cmd, predict_cmd, adapt_cmd, export_cmd):
        mod.add_parser(sub)
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A checkpoint from `mattebench train` on a tiny registered dataset (2 steps at 64 px)."""
    out = tmp_path_factory.mktemp("train")
    register_dataset("tiny-train-test", lambda root=None: TinyDataset())
    try:
        assert cli("train", "--method", "modnet", "--dataset", "tiny-train-test", "--steps", 2, "--size", 64, "--batch", 2,
                   "--out", out, "--quiet", "--loss", "official", "--device", "cpu") == 0
    finally:
        unregister_dataset("tiny-train-test")
    rows = list(csv.DictReader(open(out / "loss.csv")))
    assert rows and float(rows[-1]["loss"]) > 0
    return out / "final.ckpt"


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    d = tmp_path_factory.mktemp("frames")
    ds = TinyDataset(n=4, h=48, w=64)
    for i in ds.ids():
        write_image(d / f"{i}.png", ds.load(i).image)
    return d


def test_predict_folder_writes_mattes_and_composites(trained, frames, tmp_path):
    assert cli("predict", "--method", "modnet", "--checkpoint", trained, "--input", frames, "--out", tmp_path, "--quiet", "--batch", 3) == 0
    names = sorted(p.name for p in (tmp_path / "alpha").iterdir())
    assert names == ["s00.png", "s01.png", "s02.png", "s03.png"]
    comp = read_image(tmp_path / "composite" / "s01.png")
    assert comp.shape == (48, 64, 3)
    # the written matte is the method's prediction, rounded to 8 bits
    method = create_modnet(checkpoint=str(trained))
    expected = method.predict(read_image(frames / "s01.png"))
    np.testing.assert_allclose(read_alpha(tmp_path / "alpha" / "s01.png"), np.round(expected * 255) / 255, atol=1 / 255 + 1e-6)


def test_predict_with_ofd_keeps_every_frame(trained, frames, tmp_path):
    assert cli("predict", "--method", "modnet", "--checkpoint", trained, "--input", frames, "--out", tmp_path, "--ofd", "--quiet",
               "--background", "none") == 0
    assert len(list((tmp_path / "alpha").iterdir())) == 4 and not (tmp_path / "composite").exists()


def test_adapt_writes_soc_checkpoint(trained, frames, tmp_path):
    assert cli("adapt", "--method", "modnet", "--checkpoint", trained, "--input", frames, "--steps", 2, "--out", tmp_path,
               "--ref-size", 64, "--quiet") == 0
    adapted = create_modnet(checkpoint=str(tmp_path / "soc.ckpt"))
    assert adapted.checkpoint["format"] == "mattebench checkpoint"


def test_export_torchscript_matches_eager(trained, tmp_path):
    out = tmp_path / "modnet.pt"
    assert cli("export", "--method", "modnet", "--checkpoint", trained, "--format", "torchscript", "--out", out, "--size", 64, 96) == 0
    scripted = torch.jit.load(str(out))
    method = create_modnet(checkpoint=str(trained))
    for shape in ((1, 3, 64, 96), (2, 3, 128, 160)):  # the trace holds for other sizes too (scale factors, not sizes)
        x = torch.rand(shape) * 2 - 1
        with torch.no_grad(), torch.jit.optimized_execution(False):
            torch.testing.assert_close(scripted(x), method.model(x, True)[2], atol=1e-5, rtol=1e-5)


def test_export_onnx_when_available(trained, tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    res = exporting.export(create_modnet(checkpoint=str(trained)), "onnx", tmp_path / "modnet.onnx", (64, 64))
    assert res["checked_with"] == "onnxruntime" and res["max_abs_diff"] < exporting.TOLERANCE
    assert (tmp_path / "modnet.onnx").stat().st_size > 1_000_000


def test_predict_video_with_ofd(trained, tmp_path):
    import cv2

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG video")
    ds = TinyDataset(n=3, h=48, w=64)
    for i in ds.ids():
        writer.write(np.ascontiguousarray(ds.load(i).image[:, :, ::-1]))
    writer.release()
    assert cli("predict", "--method", "modnet", "--checkpoint", trained, "--input", path, "--out", tmp_path / "o", "--ofd", "--quiet") == 0
    assert sorted(p.name for p in (tmp_path / "o" / "alpha").iterdir()) == ["frame_000000.png", "frame_000001.png", "frame_000002.png"]

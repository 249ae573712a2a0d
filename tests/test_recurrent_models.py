"""Recurrent models (``--method onnx -m preset=rvm``): the state is carried from frame to frame within a clip and
reset between clips, checked against RVM's documented loop (tests/_rvm_toy.py) on a small model whose output depends
on its state, so that a runner that drops or resets the state at the wrong time fails these tests."""

import math

import numpy as np
import pytest

import _rvm_toy as T
from _video_trees import build_folder_tree
from mattebench.data.video_layouts import VIDEOMATTE_512x288
from mattebench.methods.registry import create_method
from mattebench.metrics import conventions as C
from mattebench.runs.runner import evaluate
from mattebench_baselines.exported.io_spec import ModelSpecError
from mattebench_baselines.exported.recurrent import RecurrentModel, recommended_downsample_ratio


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("rvm")
    T.export_onnx(str(d / "toy.onnx"))
    T.export_torchscript(str(d / "toy.pt"))
    return d


def _frames(seed, n=5, h=18, w=32):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]


def test_onnx_and_torchscript_follow_the_documented_loop(toy):
    frames = _frames(0)
    want = T.manual_loop(str(toy / "toy.onnx"), frames, 1.0)
    for path in (toy / "toy.onnx", toy / "toy.pt"):
        got = create_method("onnx", model=str(path), preset="rvm").predict_sequence(frames)
        for x, (wa, wf) in zip(got, want):
            assert x.shape == wa.shape + (4,) and np.allclose(x[..., 0], np.clip(wa, 0, 1), atol=1e-6)
            f8 = np.round(x[..., 1:] * 255).astype(int)  # the foreground truncated to 8 bits, as RVM saves it
            assert np.abs(f8 - (np.clip(wf, 0, 1) * np.float32(255)).astype(int)).max() <= 1  # +-1: float rounding at .0


def test_output_depends_on_the_state_and_clips_start_fresh(toy):
    m = create_method("onnx", model=str(toy / "toy.onnx"), preset="rvm")
    a, b = _frames(1), _frames(2)
    seq = m.predict_sequence(a)
    alone = m.predict(a[3])
    assert np.abs(seq[3][..., 0] - alone).max() > 1e-3  # frame 3 depends on frames 0-2
    first_b = m.predict_sequence(b)[0][..., 0]
    assert np.allclose(first_b, m.predict(b[0]), atol=1e-7)  # clip B starts from zeros
    m.start_clip(*a[0].shape[:2])
    for f in a:
        m.step(f)
    leaked = m.step(b[0])[0]  # what a runner that never resets would give
    assert np.abs(leaked - first_b).max() > 1e-3


def test_default_ratio_is_rvms_recommendation_and_is_recorded(toy):
    assert recommended_downsample_ratio(288, 512)[0] == 1.0
    assert recommended_downsample_ratio(1080, 1920)[0] == 0.25
    assert recommended_downsample_ratio(1920, 1080, "full-body")[0] == 0.4  # portrait orientation too
    assert recommended_downsample_ratio(720, 1280)[0] == 0.375
    assert recommended_downsample_ratio(540, 600)[0] == pytest.approx(512 / 600)
    m = create_method("onnx", model=str(toy / "toy.onnx"), preset="rvm")
    assert "by frame size" in m.input_identity()["model_spec"]
    given = create_method("onnx", model=str(toy / "toy.onnx"), preset="rvm", downsample_ratio=0.5)
    f = _frames(3, n=1)
    assert not np.allclose(given.predict(f[0]), m.predict(f[0]))  # the ratio reaches the model
    assert given.last_ratio == (0.5, "given") and "0.5 (given)" in given.input_identity()["model_spec"]
    with pytest.raises(ModelSpecError, match="downsample_ratio"):
        create_method("onnx", model=str(toy / "toy.onnx"), preset="rvm", downsample_ratio=1.5)
    with pytest.raises(ModelSpecError, match="only for recurrent"):
        create_method("onnx", model=str(toy / "toy.onnx"), downsample_ratio=0.5)


def test_a_non_rvm_model_is_refused(tmp_path):
    import torch

    class One(torch.nn.Module):
        def forward(self, x):
            return x.mean(1, keepdim=True)

    torch.onnx.export(One(), (torch.rand(1, 3, 8, 8),), str(tmp_path / "one.onnx"), input_names=["input"],
                      output_names=["output"], dynamo=False)
    with pytest.raises(ModelSpecError, match="RobustVideoMatting"):
        RecurrentModel(tmp_path / "one.onnx")


def test_run_on_a_videomatte_tree_carries_state_per_clip(toy, tmp_path):
    gt = build_folder_tree(VIDEOMATTE_512x288, tmp_path / "gt", clips=2, frames=4, size=(32, 18))
    rows, rec = evaluate("onnx", "videomatte-512x288", method_options={"model": str(toy / "toy.onnx"), "preset": "rvm"},
                         data_root=str(gt))
    assert all(r["status"] == "ok" for r in rows), rows
    from mattebench.methods.registry import load_dataset

    ds = load_dataset("videomatte-512x288", root=str(gt))
    for r in rows:  # each clip from a zero state, every frame in order: RVM's loop per clip
        c = ds.load(r["id"])
        frames = [c.frames[i] for i in range(len(c.frames))]
        want = T.manual_loop(str(toy / "toy.onnx"), frames, 1.0)
        alphas = [(np.clip(a, 0, 1) * np.float32(255)).astype(np.uint8) for a, _ in want]
        fgrs = [(np.clip(f, 0, 1) * np.float32(255)).astype(np.uint8) for _, f in want]
        mads = [C.score(a, c.alphas[i], None, ("rvm-lr",), pred_fgr=fgrs[i], gt_fgr=c.fgs[i]) for i, a in enumerate(alphas)]
        assert math.isclose(r["mad@rvm-lr"], np.mean([m["mad@rvm-lr"] for m in mads]), rel_tol=1e-5), r["id"]
        assert math.isclose(r["fgr_mse@rvm-lr"], np.mean([m["fgr_mse@rvm-lr"] for m in mads]), rel_tol=1e-4), r["id"]
    assert rec.provenance.input and "by frame size" in str(rec.provenance.input)


def test_predict_on_a_frame_folder_and_a_video_writes_alpha_and_foreground(toy, tmp_path, capsys):
    import cv2

    from mattebench.commands.cli import main
    from mattebench.data.io import read_alpha_u8

    frames = _frames(4, n=4, h=32, w=48)
    (tmp_path / "frames").mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(tmp_path / "frames" / f"{i:04d}.png"), f[..., ::-1])
    assert main(["predict", "--method", "onnx", "-m", f"model={toy / 'toy.onnx'}", "-m", "preset=rvm",
                 "--input", str(tmp_path / "frames"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "fps in the model alone" in printed and "fps end to end" in printed
    want = create_method("onnx", model=str(toy / "toy.onnx"), preset="rvm").predict_sequence(frames)  # the state carried
    for i in range(4):
        a = read_alpha_u8(tmp_path / "out" / "alpha" / f"{i:04d}.png")
        assert np.abs(a.astype(int) - np.round(want[i][..., 0] * 255).astype(int)).max() <= 1
        fg = cv2.imread(str(tmp_path / "out" / "foreground" / f"{i:04d}.png"))[..., ::-1]
        assert np.abs(fg.astype(int) - np.round(want[i][..., 1:] * 255).astype(int)).max() <= 0
    video = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (48, 32))
    for f in frames:
        w.write(f[..., ::-1])
    w.release()
    assert main(["predict", "--method", "onnx", "-m", f"model={toy / 'toy.onnx'}", "-m", "preset=rvm",
                 "--input", str(video), "--out", str(tmp_path / "vout"), "--quiet"]) == 0
    assert len(list((tmp_path / "vout" / "foreground").iterdir())) == 4


def test_bench_reports_model_only_and_end_to_end(toy, capsys):
    from mattebench.commands.cli import main
    from mattebench.tracks.bench import bench

    rec = bench("onnx", size=64, warmup=1, iters=3, options={"model": str(toy / "toy.onnx"), "preset": "rvm"})
    assert rec["recurrent"] and rec["iters"] == 3 and rec["e2e_iters"] == 3
    assert rec["latency_ms"] > 0 and rec["e2e_ms"] > 0 and rec["downsample_ratio"] == 1.0  # no timing comparison: values only
    assert main(["bench", "--method", "onnx", "-m", f"model={toy / 'toy.onnx'}", "-m", "preset=rvm", "--size", "64",
                 "--warmup", "1", "--iters", "2"]) == 0
    out = capsys.readouterr().out
    assert "model-only" in out and "end-to-end" in out and "state carried" in out

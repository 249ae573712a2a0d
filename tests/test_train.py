"""The shared training loop: trimap recipe, schedule, batches, log, checkpoints, resume; MODNet round trip."""

from __future__ import annotations

import csv
import random
import warnings

import numpy as np
import pytest
import torch
from mattebench_baselines.modnet import create_modnet
from torch import nn

from mattebench.methods.train import (
    TrainingError,
    schedule_factor,
    train,
    training_trimap,
)
from mattebench.methods.train.batches import BatchMaker
from mattebench.methods.train.loop import stage_plan
from mattebench.types import DatasetCard, Sample


class TinyDataset:
    """A finite dataset honouring the Dataset contract: soft-edged discs composited on noise, with fg/bg."""

    card = DatasetCard(name="tiny", needs_root=False)

    def __init__(self, n=5, h=72, w=88):
        self.n, self.h, self.w = n, h, w

    def ids(self):
        return [f"s{i:02d}" for i in range(self.n)]

    def __len__(self):
        return self.n

    def fingerprint(self):
        return "tiny"

    def load(self, id):
        i = int(id[1:])
        rng = np.random.default_rng(i)
        yy, xx = np.mgrid[: self.h, : self.w]
        r = np.hypot(yy - self.h / 2, xx - self.w / 2 - 5 * i)
        alpha = np.clip((22 - r) / 4, 0, 1).astype(np.float32)
        fg = np.broadcast_to(rng.integers(0, 256, 3), (self.h, self.w, 3)).astype(np.uint8)
        bg = rng.integers(0, 256, (self.h, self.w, 3)).astype(np.uint8)
        img = np.round(alpha[..., None] * fg + (1 - alpha[..., None]) * bg).astype(np.uint8)
        return Sample(id=id, image=img, alpha=alpha, fg=fg, bg=bg)


class TinyStream(TinyDataset):
    def training_sample(self, index):
        return self.load(f"s{index % 7:02d}")


class TinyMethod:
    """A two-layer conv net with the training contract (fast)."""

    default_optimizer = {"name": "sgd", "lr": 0.1, "momentum": 0.9}
    default_schedule = {"name": "step", "every": 0.5, "gamma": 0.1}
    input_multiple = 8

    def __init__(self):
        torch.manual_seed(0)
        self.model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1), nn.Sigmoid())

    def training_step(self, batch, stage):
        pred = self.model(batch["image"])
        loss = (pred - batch["alpha"]).abs().mean()
        return loss, {"l1": float(loss.detach())}

    def save_checkpoint(self, path):
        torch.save(self.model.state_dict(), path)


# -- trimap recipe -----------------------------------------------------------------------------------------
def _brute_trimap(alpha, d, e):
    """Literal reading: fg = a >= 0.9, not_bg = a > 0; unknown where max over the d x d window of not_bg
    differs from min over the e x e window of fg (windows centred, mirrored border as scipy 'reflect')."""
    fg, nb = (alpha >= 0.9).astype(float), (alpha > 0).astype(float)
    pd, pe = d // 2, e // 2
    nbp, fgp = np.pad(nb, pd, mode="symmetric"), np.pad(fg, pe, mode="symmetric")
    out = fg.copy()
    for y in range(alpha.shape[0]):
        for x in range(alpha.shape[1]):
            if nbp[y : y + d, x : x + d].max() - fgp[y : y + e, x : x + e].min() != 0:
                out[y, x] = 0.5
    return out


def test_training_trimap_matches_literal_recipe():
    rng = np.random.default_rng(3)
    alpha = np.zeros((20, 24), np.float32)
    alpha[6:14, 5:15] = 1.0
    alpha[5, 5:15] = 0.4
    alpha[9, 18] = 0.05  # an isolated wisp of hair
    got = training_trimap(alpha, rng, kernels=(3, 5))
    np.testing.assert_array_equal(got, _brute_trimap(alpha, 3, 5))
    assert set(np.unique(got)) <= {0.0, 0.5, 1.0}
    assert np.all(got[(alpha > 0) & (alpha < 0.9)] == 0.5)


def test_training_trimap_kernel_sizes_scale_with_crop():
    alpha = np.zeros((256, 256), np.float32)
    alpha[64:192, 64:192] = 1
    t = training_trimap(alpha, random.Random(0), size=256)
    band = np.count_nonzero(t[128] == 0.5)  # two bands crossing the middle row, each d//2 + e//2 wide
    assert 2 * (5 + 5) <= band <= 2 * (10 + 10) + 2


# -- schedule and stages -------------------------------------------------------------------------------------
def test_step_schedule_is_papers_x01_every_quarter():
    spec = {"name": "step", "every": 0.25, "gamma": 0.1}
    got = [schedule_factor(spec, f) for f in (0.0, 0.2499, 0.25, 0.5, 0.75, 0.999)]
    np.testing.assert_allclose(got, [1, 1, 0.1, 0.01, 0.001, 0.001])
    assert schedule_factor({"name": "poly", "power": 1.0}, 0.25) == pytest.approx(0.75)


def test_stage_plan_covers_all_steps():
    assert stage_plan([("seg", 0.3), ("fusion", 0.2), ("joint", 0.5)], 10) == [("seg", 0, 3), ("fusion", 3, 5), ("joint", 5, 10)]


# -- batches -------------------------------------------------------------------------------------------------
def test_batches_are_deterministic_and_well_formed():
    maker = BatchMaker(TinyDataset(), size=32, batch=3, seed=1, total_steps=4)
    a, b = maker[2], BatchMaker(TinyDataset(), size=32, batch=3, seed=1, total_steps=4)[2]
    for k in ("image", "alpha", "trimap", "fg", "bg"):
        assert torch.equal(a[k], b[k]), k
    assert a["image"].shape == (3, 3, 32, 32) and a["alpha"].shape == (3, 1, 32, 32)
    assert set(torch.unique(a["trimap"]).tolist()) <= {0.0, 0.5, 1.0}
    assert 0 <= float(a["image"].min()) and float(a["image"].max()) <= 1
    # crops are consistent across maps: image equals the composite of the cropped alpha, fg and bg up to resampling
    comp = a["alpha"] * a["fg"] + (1 - a["alpha"]) * a["bg"]
    assert float((comp - a["image"]).abs().mean()) < 0.03


# -- the loop --------------------------------------------------------------------------------------------------
def test_train_writes_log_and_checkpoints_and_resumes_exactly(tmp_path):
    ref = TinyMethod()
    train(ref, TinyDataset(), steps=6, size=24, batch=2, out=tmp_path / "a", log_every=1, save_every=2, progress=False)

    class Stop(Exception):
        pass

    def stop_at_4(row):
        if row["step"] == 4:
            raise Stop

    first = TinyMethod()
    with pytest.raises(Stop):
        train(first, TinyDataset(), steps=6, size=24, batch=2, out=tmp_path / "b", log_every=1, save_every=2, progress=False, on_log=stop_at_4)
    second = TinyMethod()  # a fresh process would rebuild the method from scratch
    res = train(second, TinyDataset(), steps=6, size=24, batch=2, out=tmp_path / "b", log_every=1, save_every=2, progress=False)
    for k, v in ref.model.state_dict().items():
        torch.testing.assert_close(second.model.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    rows = list(csv.DictReader(open(tmp_path / "b" / "loss.csv")))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [float(r["lr"]) for r in rows] == pytest.approx([0.1, 0.1, 0.1, 0.01, 0.01, 0.01])
    assert {"loss", "l1", "stage", "epoch", "samples_per_s"} <= set(rows[0])
    assert res.checkpoint.exists() and (tmp_path / "b" / "last.ckpt").exists()
    with pytest.raises(TrainingError, match="different training run"):
        train(TinyMethod(), TinyDataset(), steps=6, size=32, batch=2, out=tmp_path / "b", progress=False)


def test_train_epochs_and_streams_and_errors(tmp_path):
    res = train(TinyMethod(), TinyDataset(n=4), epochs=1.5, size=16, batch=2, out=tmp_path / "e", progress=False)
    assert res.steps == 3
    res = train(TinyMethod(), TinyStream(), steps=2, size=16, batch=2, out=tmp_path / "s", progress=False)
    assert res.steps == 2
    with pytest.raises(TrainingError, match="--steps"):
        train(TinyMethod(), TinyStream(), epochs=1, out=tmp_path / "x", progress=False)
    with pytest.raises(TrainingError, match="multiple of 8"):
        train(TinyMethod(), TinyDataset(), steps=1, size=20, out=tmp_path / "y", progress=False)
    with pytest.raises(TrainingError, match="loss became"):
        train(TinyMethod(), TinyDataset(), steps=3, size=16, batch=1, lr=1e30, out=tmp_path / "z", progress=False)


@pytest.mark.parametrize("loss", ["paper", "official"])
def test_modnet_train_checkpoint_predict_roundtrip(tmp_path, loss):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        method = create_modnet(loss=loss)
    res = train(method, TinyDataset(), steps=2, size=64, batch=2, out=tmp_path, progress=False, log_every=1)
    rows = list(csv.DictReader(open(tmp_path / "loss.csv")))
    assert {"semantic", "detail", "matte", "comp"} <= set(rows[0]) and len(rows) == 2
    loaded = create_modnet(checkpoint=str(res.checkpoint))
    img = TinyDataset().load("s01").image
    np.testing.assert_allclose(loaded.predict(img), method.predict(img), atol=1e-6)


class TwoStageMethod(TinyMethod):
    """Stage 'first' trains the first conv only; 'second' the last conv only."""

    train_stages = [("first", 0.5), ("second", 0.5)]
    default_schedule = {"name": "constant"}

    def stage_parameters(self, stage):
        return self.model[0].parameters() if stage == "first" else self.model[2].parameters()


def test_stages_train_only_their_parameters(tmp_path):
    m = TwoStageMethod()
    w0, w2 = m.model[0].weight.clone(), m.model[2].weight.clone()
    seen = []
    train(m, TinyDataset(), steps=2, size=16, batch=1, out=tmp_path / "a", progress=False, log_every=1, on_log=lambda r: seen.append(r["stage"]))
    assert seen == ["first", "second"]
    assert not torch.equal(m.model[0].weight, w0) and not torch.equal(m.model[2].weight, w2)
    # the first stage only: the last conv is untouched
    m2 = TwoStageMethod()
    m2.train_stages = [("first", 1.0)]
    w2 = m2.model[2].weight.clone()
    train(m2, TinyDataset(), steps=2, size=16, batch=1, out=tmp_path / "c", progress=False)
    assert torch.equal(m2.model[2].weight, w2)
    assert all(p.requires_grad for p in m2.model.parameters())  # flags restored after training

"""The one packing path for shipped MODNets (baselines/modnet/method.py): the method and network come from the
trained checkpoint, a mismatch with --method is refused, and the packed file, its index entry and its curve
agree (sha256, float16, input rule, the method that loads it)."""

from __future__ import annotations

import csv
import json
import warnings

import pytest
import torch
from mattebench_baselines.modnet import checkpoints as ckpt
from mattebench_baselines.modnet import method as ship

from mattebench.errors import CheckpointError
from mattebench.methods.registry import create_method


def _trained(tmp_path, method: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = create_method(method, device="cpu")
    path = tmp_path / f"{method}.ckpt"
    m.save_checkpoint(path)
    run = tmp_path / f"run-{method}"
    run.mkdir()
    (run / "train.json").write_text(json.dumps({"method": method, "steps": 20}))
    with open(run / "loss.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["step", "lr", "loss", "semantic", "detail", "matte", "comp", "elapsed_s"])
        for step in (10, 20):
            w.writerow([step, 1e-4, 1.0 / step, 0.1, 0.5, 0.2, 0.05, step * 1.5])
    return path, run


@pytest.mark.parametrize("method", ["modnet", "modnet-trimap"])
def test_pack_reads_the_method_from_the_checkpoint(tmp_path, method):
    source, run = _trained(tmp_path, method)
    out = tmp_path / "weights"
    out.mkdir()
    entry = ship.pack(source, f"x-{method}", 224, [run, run], "test", weights_dir=out)
    assert entry["method"] == method and entry["input_rule"] == {"ref_size": 224, "multiple": 32}
    packed = out / entry["file"]
    assert entry["sha256"] == ckpt.sha256(packed)
    index = json.loads((out / "index.json").read_text())
    assert index["checkpoints"] == [entry]
    raw = torch.load(packed, map_location="cpu", weights_only=True)
    assert {v.dtype for v in raw["state_dict"].values() if v.is_floating_point()} == {torch.float16}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded = create_method(method, device="cpu", checkpoint=str(packed))
    assert loaded.input_rule.source == "checkpoint" and loaded.ref_size == 224
    with open(out / f"x-{method}.curve.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["phase"], r["step"]) for r in rows] == [("1", "10"), ("1", "20"), ("2", "30"), ("2", "40")]


def test_pack_refuses_a_method_the_checkpoint_does_not_hold(tmp_path):
    source, _ = _trained(tmp_path, "modnet-trimap")
    with pytest.raises(CheckpointError, match="modnet-trimap network"):
        ship.pack(source, "wrong", 256, [], "", weights_dir=tmp_path, method="modnet")
    assert ship.main(["--from", str(source), "--name", "wrong", "--ref-size", "256", "--method", "modnet",
                      "--weights-dir", str(tmp_path)]) == 2
    assert not (tmp_path / "wrong.ckpt").exists() and not (tmp_path / "index.json").exists()

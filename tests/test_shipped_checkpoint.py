"""The checkpoint shipped in the package (issue 17): name resolution, integrity, fp16 -> fp32, input rule,
provenance, error on unknown names, and (with ../shared) that it is useful on real portraits."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from baselines.modnet import checkpoint as ckpt
from baselines.modnet import create_modnet
from mattebench import shipped
from mattebench.cli import main
from mattebench.errors import CheckpointError
from mattebench.runner import evaluate

NAME = "mattebench:modnet-synthetic"
WEIGHTS = Path(shipped.__file__).resolve().parent / "weights"
SHARED = Path(os.environ.get("MATTEBENCH_SHARED", Path(__file__).resolve().parents[1] / ".." / "shared"))
# Measured by benchmarks/soc_real.py ("before" row of leaderboards/real/soc.md) on the 21 evaluation pairs.
MEASURED_EVAL_MSE = 0.1010
CONSTANT_HALF_MSE = 0.248  # issue 17: predicting 0.5 everywhere on these photos


@pytest.fixture(scope="module")
def entry():
    return shipped.lookup(NAME)


def _quiet_modnet(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_modnet(**kw)


def test_the_name_resolves_to_a_file_inside_the_installed_package(entry):
    path = shipped.resolve(NAME)
    assert path.is_file() and path.parent == WEIGHTS
    assert entry.method == "modnet" and NAME in {s.spec for s in shipped.shipped_checkpoints().values()}
    assert shipped.resolve("some/plain/path.ckpt") == Path("some/plain/path.ckpt")  # a path stays a path


def test_sha256_matches_the_index_and_the_card(entry):
    digest = ckpt.sha256(NAME)
    assert digest == entry.sha256 == ckpt.sha256(shipped.resolve(NAME))
    card = (WEIGHTS / "CARD.md").read_text()
    assert digest in card, "CARD.md must quote the shipped file's sha256"
    assert NAME in card


def test_shipped_files_fit_the_size_budget():
    sizes = {p.name: p.stat().st_size for p in WEIGHTS.glob("*.ckpt")}
    assert sizes and all(s <= 15_000_000 for s in sizes.values()), sizes
    assert sum(sizes.values()) <= 30_000_000


def test_fp16_on_disk_loads_as_fp32_strictly():
    raw = torch.load(shipped.resolve(NAME), map_location="cpu", weights_only=True)
    stored = raw["state_dict"]
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    state, fmt, meta = ckpt.read_checkpoint(NAME)
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float32}
    assert "loaded as float32" in fmt and meta["meta"]["storage"] == "float16"
    m = _quiet_modnet(checkpoint=NAME)
    for k, v in m.model.state_dict().items():
        assert v.dtype == (torch.float32 if v.is_floating_point() else stored[k].dtype), k
        torch.testing.assert_close(v, stored[k].to(v.dtype), rtol=0, atol=0)
    assert len(m.model.state_dict()) == len(state)  # strict: every key and only those


def test_the_checkpoint_rule_is_the_default_and_an_explicit_ref_size_wins(entry):
    m = _quiet_modnet(checkpoint=NAME)
    assert m.ref_size == entry.input_rule["ref_size"] and m.input_rule.source == "checkpoint"
    other = entry.input_rule["ref_size"] + 64
    m2 = _quiet_modnet(checkpoint=NAME, ref_size=other)
    assert m2.ref_size == other and m2.input_rule.source == "option"
    plain = _quiet_modnet()
    assert plain.ref_size == 512 and plain.input_rule.source == "default"


def test_a_plain_path_keeps_working_and_rule_travels_with_a_copy(tmp_path, entry):
    copy = tmp_path / "mine.ckpt"
    _quiet_modnet(checkpoint=NAME).save_checkpoint(copy)  # e.g. what SOC writes: the rule is kept
    m = _quiet_modnet(checkpoint=str(copy))
    assert m.input_rule.source == "checkpoint" and m.ref_size == entry.input_rule["ref_size"]
    fresh = tmp_path / "fresh.ckpt"
    _quiet_modnet().save_checkpoint(fresh)  # no rule stored: the official default
    assert _quiet_modnet(checkpoint=str(fresh)).input_rule.source == "default"


def test_provenance_records_the_name_sha256_and_which_rule_applied(tmp_path, entry):
    _, summary = evaluate("modnet", "synthetic", method_options={"checkpoint": NAME}, limit=1, out=str(tmp_path))
    p = summary["provenance"]
    assert p["checkpoint"] == NAME and p["checkpoint_sha256"] == entry.sha256
    assert p["checkpoint_shipped"]["name"] == NAME
    assert p["input_rule"] == {"ref_size": entry.input_rule["ref_size"], "multiple": 32, "source": "checkpoint"}
    rc = main(["run", "--method", "modnet", "--dataset", "synthetic", "--checkpoint", NAME, "-m", "ref_size=96",
               "--limit", "1", "--out", str(tmp_path), "--tag", "r96", "--quiet"])
    assert rc == 0
    s2 = json.loads((tmp_path / "synthetic" / "modnet@r96" / "summary.json").read_text())
    assert s2["provenance"]["input_rule"] == {"ref_size": 96, "multiple": 32, "source": "option"}


def test_an_unknown_name_lists_the_shipped_ones(capsys, tmp_path):
    rc = main(["run", "--method", "modnet", "--dataset", "synthetic", "--checkpoint", "mattebench:no-such-model",
               "--limit", "1", "--out", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "no-such-model" in err and NAME in err
    assert "Traceback" not in err
    with pytest.raises(CheckpointError, match=re.escape(NAME)):
        shipped.resolve("mattebench:no-such-model")


def test_list_shows_the_shipped_checkpoints(capsys):
    assert main(["list", "methods"]) == 0
    assert NAME in capsys.readouterr().out
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert NAME in [s["name"] for s in data["shipped_checkpoints"]]


def _eval_half():
    image_dir = SHARED / "realdata" / "ppm100-dev" / "PPM-100" / "image"
    if not image_dir.is_dir():
        pytest.skip(f"real data not found at {image_dir} (set MATTEBENCH_SHARED)")
    from mattebench.data.realsplit import split_photos

    return split_photos(image_dir)


def test_the_shipped_model_beats_a_constant_half_on_real_portraits():
    import cv2

    from mattebench import metrics as M

    split = _eval_half()
    m = _quiet_modnet(checkpoint=NAME)
    errors = []
    for photo in split.eval_photos():
        image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        gt = cv2.imread(str(photo.parent.parent / "matte" / photo.name), cv2.IMREAD_GRAYSCALE)
        errors.append(M.mse_whole(m.predict(image), gt))
    mse = float(np.mean(errors))
    assert len(errors) == 21
    assert mse < CONSTANT_HALF_MSE / 2, f"shipped MODNet MSE {mse:.4f} on the evaluation half"
    assert mse == pytest.approx(MEASURED_EVAL_MSE, abs=0.01), "the card's number no longer matches the file"

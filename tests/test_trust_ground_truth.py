"""Ground truth reaches reference methods only, and reference methods are never published."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from _trust_kit import cli, folder_dataset, trust_site
from conftest import TinyDataset

from mattebench.contract import GroundTruthWithheld
from mattebench import contract as ground_truth
from mattebench.report.leaderboard import render_dataset
from mattebench.report.published import publishable
from mattebench.report.site import write_site
from mattebench.report.tables import index_runs
from mattebench.runs.runner import evaluate
from mattebench.types import FAMILY_FREE, FAMILY_REFERENCE, FAMILY_TRIMAP, MethodCard


class Cheat:
    def __init__(self, family):
        self.card = MethodCard(name="trust-cheat", needs_trimap=False, family=family)
        self.observed = 0
        self.alpha = None

    def observe(self, item):
        self.observed += 1
        self.alpha = item.alpha

    def predict(self, image, trimap=None):
        if self.alpha is not None:
            return self.alpha.astype(np.float32)
        return np.full(image.shape[:2], 0.5, np.float32)

    def predict_sequence(self, frames, trimaps=None):
        return [self.predict(f) for f in frames]


@pytest.fixture(autouse=True)
def _fresh_warnings():
    ground_truth._warned.clear()
    yield
    ground_truth._warned.clear()


@pytest.mark.parametrize("family", [FAMILY_FREE, FAMILY_TRIMAP, "something-else"])
def test_a_non_reference_method_never_sees_the_ground_truth(family):
    m = Cheat(family)
    with pytest.warns(GroundTruthWithheld, match="observe") as w:
        _, s = evaluate(m, TinyDataset(n=3), method_name="trust-cheat")
    assert m.observed == 0
    assert s.means["mse_whole"] > 0.001  # scored on its own (0.5 everywhere), not a copied answer
    assert len([x for x in w if issubclass(x.category, GroundTruthWithheld)]) == 1  # once, not per sample


def test_reference_methods_still_see_it():
    m = Cheat(FAMILY_REFERENCE)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GroundTruthWithheld)
        _, s = evaluate(m, TinyDataset(n=2), method_name="trust-cheat")
    assert m.observed == 2 and s.means["mse_whole"] == pytest.approx(0.0, abs=1e-12)


def test_video_clips_are_gated_too():
    from mattebench.methods.registry import load_dataset

    m = Cheat(FAMILY_FREE)
    with pytest.warns(GroundTruthWithheld):
        evaluate(m, load_dataset("synthetic-video", n_clips=1, frames=3, size=64), method_name="trust-cheat")
    assert m.observed == 0


def test_cheating_plugin_installed_as_a_package(tmp_path):
    data = folder_dataset(tmp_path / "data", ["a", "b"])
    site = trust_site(tmp_path)
    out = cli(["run", "--quiet", "--method", "cheat-matte", "--dataset", "folder", "--data-root", str(data), "--out", str(tmp_path / "r")], site)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("defines observe()") == 1
    s = json.loads((tmp_path / "r" / "folder" / "cheat-matte" / "summary.json").read_text())
    assert s["means"]["mse_whole"] > 0.001


def _summary(tmp_path, family, on_leaderboard=True):
    _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path / "runs")
    s = json.loads(json.dumps(s.to_json()))
    s["method"] = f"fam-{family}"
    s["method_card"] = {**s["method_card"], "name": s["method"], "family": family, "on_leaderboard": on_leaderboard}
    return s


def test_reference_family_is_never_published_even_with_on_leaderboard_true(tmp_path):
    ref = _summary(tmp_path, FAMILY_REFERENCE, on_leaderboard=True)
    ok = _summary(tmp_path, FAMILY_TRIMAP)
    assert not publishable(ref) and publishable(ok)
    md = render_dataset("tiny", [ref, ok])
    assert "fam-reference" not in md and "fam-trimap-based" in md
    assert ("tiny", "fam-reference", None) not in index_runs([ref, ok])
    index = write_site(tmp_path / "runs", tmp_path / "out", summaries=[ref, ok])
    html = index.read_text()
    assert "fam-reference" not in html and "fam-trimap-based" in html

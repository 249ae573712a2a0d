"""The robustness track's dataset variants: -d corrupt=KIND:SEVERITY, trimap_radius, trimap_adjust."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

import numpy as np
import pytest
from conftest import TinyDataset

import mattebench
from mattebench.commands.cli import main
from mattebench.data import corrupt as C
from mattebench.data.trimap import adjust_band, describe, trimap_from_alpha
from mattebench.data.variant import DatasetVariant, VariantSpec, variant_tag
from mattebench.errors import MattebenchError, RunConflict
from mattebench.methods.registry import (
    load_dataset,
    register_dataset,
    unregister_dataset,
)
from mattebench.runs.runner import evaluate
from mattebench.types import DatasetCard, Sample

REPO = Path(__file__).resolve().parents[1]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10.0 * np.log10(255.0**2 / mse) if mse > 0 else float("inf")


@pytest.fixture(scope="module")
def clean_synth():
    ds = load_dataset("synthetic", n=3)
    return {i: ds.load(i) for i in ds.ids()}


# -- only the image changes ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", C.KINDS)
def test_each_kind_changes_the_image_and_only_the_image(kind, clean_synth):
    ds = load_dataset("synthetic", n=3, corrupt=f"{kind}:3")
    assert isinstance(ds, DatasetVariant)
    for i, s0 in clean_synth.items():
        s = ds.load(i)
        assert s.image.shape == s0.image.shape and s.image.dtype == np.uint8
        assert not np.array_equal(s.image, s0.image), f"{kind} left {i} unchanged"
        for field in ("alpha", "trimap", "fg", "bg"):
            assert np.array_equal(getattr(s, field), getattr(s0, field)), f"{kind} changed {field} of {i}"
        assert s.metadata["variant"]["corrupt"]["kind"] == kind
        assert s.metadata["trimap_source"] == s0.metadata["trimap_source"]


def test_clip_frames_are_all_corrupted_and_annotations_untouched():
    clean = load_dataset("synthetic-video", n_clips=1, frames=3, size="64x80").load("clip-00")
    ds = load_dataset("synthetic-video", n_clips=1, frames=3, size="64x80", corrupt="gaussian-noise:2")
    c = ds.load("clip-00")
    assert len(c.frames) == len(clean.frames) == 3
    for j in range(3):
        assert not np.array_equal(c.frames[j], clean.frames[j])
        assert np.array_equal(c.alphas[j], clean.alphas[j]) and np.array_equal(c.trimaps[j], clean.trimaps[j])
    # noise is drawn per frame: two frames do not carry the same noise field
    n0 = c.frames[0].astype(int) - clean.frames[0].astype(int)
    n1 = c.frames[1].astype(int) - clean.frames[1].astype(int)
    assert not np.array_equal(n0, n1)
    assert [f.shape for f in c.frames[0:2]] == [clean.frames[0].shape] * 2


# -- determinism -----------------------------------------------------------------------------------
def test_seed_is_sha256_of_dataset_id_kind_severity():
    c = C.Corruption("gaussian-noise", 4)
    key = f"mattebench-corrupt|{C.TABLE_VERSION}|synthetic|synth-001|gaussian-noise|4".encode()
    assert C.seed_for("synthetic", "synth-001", c) == int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
    assert C.seed_for("synthetic", "synth-001", c) != C.seed_for("synthetic", "synth-002", c)
    assert C.seed_for("synthetic", "synth-001", c) != C.seed_for("other", "synth-001", c)
    assert C.seed_for("synthetic", "synth-001", c) != C.seed_for("synthetic", "synth-001", C.Corruption("gaussian-noise", 5))


@pytest.mark.parametrize("kind", ["gaussian-noise", "motion-blur", "colour-cast", "low-light"])
def test_deterministic_per_id_across_objects_and_processes(kind, clean_synth):
    a = load_dataset("synthetic", n=3, corrupt=f"{kind}:2").load("synth-001").image
    b = load_dataset("synthetic", n=3, corrupt=f"{kind}:2").load("synth-001").image
    assert np.array_equal(a, b)
    # the same id and image under another dataset name draws other random parts
    other = C.apply(clean_synth["synth-001"].image, C.Corruption(kind, 2), "another-dataset", "synth-001")
    assert not np.array_equal(a, other)
    code = ("import hashlib, mattebench.methods.registry as r; import mattebench_baselines; "
            f"print(hashlib.sha256(r.load_dataset('synthetic', n=3, corrupt='{kind}:2').load('synth-001').image.tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO,
                         env={"PYTHONHASHSEED": "123", "PATH": "", "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == hashlib.sha256(a.tobytes()).hexdigest()


@pytest.mark.parametrize("kind", C.KINDS)
def test_severity_is_monotonic_in_psnr(kind, clean_synth):
    means = []
    for sev in C.SEVERITIES:
        ds = load_dataset("synthetic", n=3, corrupt=f"{kind}:{sev}")
        means.append(np.mean([psnr(ds.load(i).image, s0.image) for i, s0 in clean_synth.items()]))
    assert all(a > b for a, b in zip(means, means[1:])), f"{kind}: PSNR by severity {np.round(means, 2)}"
    assert means[0] < 45.0  # severity 1 is visible, not a rounding error


def test_fingerprint_changes_with_kind_and_severity():
    prints = {load_dataset("synthetic", n=3).fingerprint()}
    for spec in ("jpeg:1", "jpeg:2", "gaussian-blur:1"):
        prints.add(load_dataset("synthetic", n=3, corrupt=spec).fingerprint())
    prints.add(load_dataset("synthetic", n=3, trimap_radius=4).fingerprint())
    prints.add(load_dataset("synthetic", n=3, trimap_adjust=4).fingerprint())
    assert len(prints) == 6


# -- the table in the docs is the table in the code ------------------------------------------------
def test_docs_table_matches_the_code():
    text = (REPO / "docs" / "robustness.md").read_text(encoding="utf-8")
    assert C.TABLE_BEGIN in text and C.TABLE_END in text, "docs/robustness.md lost its table markers"
    block = text.split(C.TABLE_BEGIN, 1)[1].split(C.TABLE_END, 1)[0].strip()
    assert block == C.table_markdown().strip(), "docs/robustness.md is out of date: paste mattebench.data.corrupt.table_markdown()"
    parsed: dict[tuple[str, str], list[float]] = {}  # (kind, parameter) -> the five values, read back from the docs
    current = ""
    for ln in block.splitlines():
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if len(cells) != 10 or cells[0] == "Kind" or not re.fullmatch(r"[0-9.]+", cells[3]):
            continue
        current = cells[0].strip("`") or current
        parsed[(current, cells[1])] = [float(v) for v in cells[3:8]]
    expected = {(k.name, p.name): [float(v) for v in p.values] for k in C.CORRUPTIONS for p in k.params}
    assert parsed == expected
    assert "Hendrycks" in text and "ImageNet-C" in text


# -- trimap width --------------------------------------------------------------------------------------
def _edge_alpha(h: int = 60, w: int = 100, edge: int = 50) -> np.ndarray:
    a = np.zeros((h, w), np.uint8)
    a[:, :edge] = 255
    return a


class EdgeDataset:
    """One sample: a vertical edge; ``official`` gives it a file-like trimap with a band of 20 columns."""

    card = DatasetCard(name="edge-test", protocols=("whole", "unknown"), needs_root=False)

    def __init__(self, root: Optional[str] = None, official: bool = False):
        self.official = official

    def ids(self):
        return ["e0"]

    def fingerprint(self):
        return f"edge-{self.official}"

    def load(self, id):
        a8 = _edge_alpha()
        image = np.dstack([a8, a8 // 2, 255 - a8]).astype(np.uint8)
        if self.official:
            tri = np.zeros_like(a8)
            tri[:, :40] = 255
            tri[:, 40:60] = 128
            meta = {"trimap_source": "official", "trimap_path": "/fake/trimaps/e0.png", "image_path": "/fake/e0.png"}
        else:
            tri = trimap_from_alpha(a8)
            meta = {"trimap_source": "generated:dilate-erode-v1", "image_path": "/fake/e0.png"}
        return Sample(id=id, image=image, alpha=a8.astype(np.float32) / 255, trimap=tri, metadata=meta)


@pytest.fixture
def edge_registered():
    register_dataset("edge-test", EdgeDataset)
    yield "edge-test"
    unregister_dataset("edge-test")


def _band_columns(trimap: np.ndarray) -> list[int]:
    return sorted(set(np.nonzero(trimap == 128)[1].tolist()))


@pytest.mark.parametrize("r", [1, 3, 7, 12])
def test_trimap_radius_sets_the_band_half_width(edge_registered, r):
    s = load_dataset(edge_registered, trimap_radius=r).load("e0")
    # fg = columns < 50: eroded by r, dilated by r -> unknown columns 50-r .. 49+r, 2r wide, on every row
    assert _band_columns(s.trimap) == list(range(50 - r, 50 + r))
    assert (s.trimap == 128).sum() == 2 * r * 60
    assert s.metadata["trimap_source"] == f"generated:dilate-erode-v1(r={r})"
    assert np.array_equal(s.image, EdgeDataset().load("e0").image)


def test_trimap_radius_refuses_official_trimaps_as_an_error_row(edge_registered, tmp_path):
    rows, summary = evaluate("trimap-midpoint", edge_registered, dataset_options={"official": True, "trimap_radius": 5}, out=tmp_path)
    assert rows[0]["status"] == "error"
    assert "trimap_adjust" in rows[0]["error"] and "official" in rows[0]["error"]


@pytest.mark.parametrize("delta,cols,fg_until", [(5, range(35, 65), 35), (-5, range(45, 55), 45), ("+3", range(37, 63), 37)])
def test_trimap_adjust_grows_and_shrinks_an_official_band(edge_registered, delta, cols, fg_until):
    s = load_dataset(edge_registered, official=True, trimap_adjust=delta).load("e0")
    assert _band_columns(s.trimap) == list(cols)
    assert (s.trimap[:, :fg_until] == 255).all() and (s.trimap[:, cols[-1] + 1:] == 0).all()
    assert "band" in s.metadata["trimap_source"] and s.metadata["trimap_source"].startswith("official")


def test_adjust_band_by_hand():
    t = np.zeros((9, 9), np.uint8)
    t[4, 4] = 128
    grown = adjust_band(t, 2)  # a disc of radius 2 around the one unknown pixel: 13 pixels
    assert (grown == 128).sum() == 13 and grown[4, 2] == 128 and grown[3, 3] == 128 and grown[2, 3] == 0
    band = np.full((5, 12), 128, np.uint8)
    band[:, :2] = 255
    band[:, 10:] = 0
    shrunk = adjust_band(band, -3)
    assert _band_columns(shrunk) == [5, 6]  # 8 columns lose 3 on each side
    assert (shrunk[:, :5] == 255).all() and (shrunk[:, 7:] == 0).all()
    assert np.array_equal(adjust_band(np.zeros((4, 4), np.uint8), 3), np.zeros((4, 4), np.uint8))
    assert (adjust_band(band, -10) == 128).sum() == 0  # a band thinner than 2R vanishes


def test_trimap_radius_goes_into_identity_and_provenance(tmp_path):
    _, summary = evaluate("trimap-midpoint", "synthetic", dataset_options={"n": 2, "trimap_radius": 6}, out=tmp_path)
    run = Path(summary.run_dir)
    assert run.name == "trimap-midpoint@trimap-r6"
    identity = json.loads((run / "run.json").read_text())
    assert identity["dataset_variant"] == {"trimap_radius": 6} and identity["dataset_options"]["trimap_radius"] == 6
    assert "r = 6" in summary.provenance.trimap_recipe["rule"]
    assert "r = 6" in describe(6)["rule"] and "round(min(h,w)/100)" in describe()["rule"]


# -- identity, folders, usage errors -----------------------------------------------------------------
def test_corrupted_run_is_kept_apart_and_identified(tmp_path):
    _, clean = evaluate("trimap-midpoint", "synthetic", dataset_options={"n": 2}, out=tmp_path)
    _, bad = evaluate("trimap-midpoint", "synthetic", dataset_options={"n": 2, "corrupt": "jpeg:3"}, out=tmp_path)
    assert Path(clean.run_dir).name == "trimap-midpoint" and clean.dataset_variant is None
    assert Path(bad.run_dir).name == "trimap-midpoint@corrupt-jpeg-3"
    assert bad.dataset_variant["corrupt"] == {"kind": "jpeg", "severity": 3, "params": {"quality": 15}, "table": C.TABLE_VERSION}
    assert bad.provenance.dataset_fingerprint != clean.provenance.dataset_fingerprint
    _, tagged = evaluate("trimap-midpoint", "synthetic", dataset_options={"n": 2, "corrupt": "jpeg:4"}, out=tmp_path, tag="mine")
    assert Path(tagged.run_dir).name == "trimap-midpoint@mine"
    with pytest.raises(RunConflict):  # another severity in the same folder is refused, not mixed
        evaluate("trimap-midpoint", "synthetic", dataset_options={"n": 2, "corrupt": "jpeg:5"}, out=tmp_path, tag="mine")


def test_wrapped_object_is_recorded_too(tmp_path):
    ds = load_dataset("synthetic", n=2, corrupt="downscale:2")
    _, s = evaluate("trimap-midpoint", ds, out=tmp_path, dataset_name="synthetic")
    assert Path(s.run_dir).name == "trimap-midpoint@corrupt-downscale-2" and s.dataset_variant["corrupt"]["severity"] == 2


@pytest.mark.parametrize("opt", ["corrupt=foo:3", "corrupt=jpeg:0", "corrupt=jpeg:6", "corrupt=jpeg", "corrupt=jpeg:2.5",
                                 "trimap_radius=-2", "trimap_radius=abc", "trimap_adjust=0", "trimap_adjust=x"])
def test_bad_variant_options_are_usage_errors(opt, tmp_path, capsys):
    assert main(["run", "--method", "trimap-midpoint", "--dataset", "synthetic", "-d", opt, "--limit", "1", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err
    assert not any(tmp_path.iterdir()), "a refused option must not leave a run folder"


def test_corruption_parsing():
    assert C.Corruption.parse("color-cast:2") == C.Corruption("colour-cast", 2)
    assert C.Corruption.parse(" JPEG : 5 ").label == "jpeg:5"
    with pytest.raises(MattebenchError, match="known kinds"):
        C.Corruption.parse("snow:2")
    with pytest.raises(MattebenchError, match="1..5"):
        C.Corruption("jpeg", True)
    assert variant_tag(VariantSpec(corrupt=C.Corruption("jpeg", 1), trimap_adjust=-3).as_dict()) == "corrupt-jpeg-1_trimap-3"
    assert not VariantSpec() and load_dataset("synthetic", n=2).__class__.__name__ == "SyntheticDataset"


def test_corruption_applies_to_any_registered_dataset():
    register_dataset("tiny-corrupt-test", TinyDataset)
    try:
        clean = load_dataset("tiny-corrupt-test").load("s01")
        s = load_dataset("tiny-corrupt-test", corrupt="low-light:4", n=3).load("s01")
        assert not np.array_equal(s.image, clean.image) and np.array_equal(s.alpha, clean.alpha)
        assert load_dataset("tiny-corrupt-test", corrupt="low-light:4", n=3).ids() == ["s00", "s01", "s02"]
    finally:
        unregister_dataset("tiny-corrupt-test")


def test_motion_kernel_is_a_normalised_one_sided_streak():
    k = C.motion_kernel(6, 100.0, 0.0)  # horizontal, almost flat weights
    assert k.shape == (13, 13) and abs(k.sum() - 1) < 1e-12
    assert k[6, :6].sum() == 0 and k[6, 6:].sum() > 0.999  # only one side of the centre, on its row
    assert mattebench is not None


# -- real data (skipped where ../shared/realdata is absent) ------------------------------------------
REAL = Path(__import__("os").environ.get("MATTEBENCH_REALDATA", REPO / ".." / "shared" / "realdata"))


@pytest.mark.skipif(not (REAL / "alphamatting-lowres").is_dir(), reason=f"real data not found at {REAL} (alphamatting-lowres)")
def test_real_alphamatting_official_trimaps_untouched_and_adjustable():
    root = str(REAL / "alphamatting-lowres")
    clean_ds = load_dataset("alphamatting", root=root)
    first = clean_ds.ids()[0]
    clean = clean_ds.load(first)
    s = load_dataset("alphamatting", root=root, corrupt="motion-blur:3").load(first)
    assert not np.array_equal(s.image, clean.image)
    assert np.array_equal(s.trimap, clean.trimap) and np.array_equal(s.alpha, clean.alpha)
    grown = load_dataset("alphamatting", root=root, trimap_adjust=10).load(first)
    assert (grown.trimap == 128).sum() > (clean.trimap == 128).sum()
    assert ((clean.trimap == 128) <= (grown.trimap == 128)).all()  # the official band is kept inside the grown one


@pytest.mark.skipif(not (REAL / "ppm100-dev").is_dir(), reason=f"real data not found at {REAL} (ppm100-dev)")
def test_real_ppm100_generated_trimap_radius():
    root = str(REAL / "ppm100-dev")
    ds = load_dataset("ppm100", root=root, corrupt="jpeg:5", trimap_radius=8)
    s = ds.load(ds.ids()[0])
    clean = load_dataset("ppm100", root=root).load(ds.ids()[0])
    assert np.array_equal(s.alpha, clean.alpha) and not np.array_equal(s.image, clean.image)
    assert np.array_equal(s.trimap, trimap_from_alpha(clean.alpha, radius=8))
    assert ds.fingerprint() != load_dataset("ppm100", root=root).fingerprint()

"""Composition-1k and the AMD portrait subset on fake trees in the official layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _fake_trees import make_comp1k, reference_composite

from mattebench.data.comp1k import AMD_PORTRAITS, AMDPortrait, Composition1k
from mattebench.data.io import read_alpha_u8, read_trimap
from mattebench.errors import DatasetNotFound, SampleError
from mattebench.methods.registry import check_dataset, load_dataset


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("comp1k")
    return root, make_comp1k(root)


@pytest.fixture(autouse=True)
def _twelve_fgs(monkeypatch):
    monkeypatch.setattr(Composition1k, "expected_fg", 12)  # the fake tree has 12 foregrounds, not 50


def test_counts_ids_and_pairing(tree):
    root, info = tree
    ds = load_dataset("comp1k", root=str(root))
    assert isinstance(ds, Composition1k)
    assert len(ds) == 12 * 20 and ds.problems == []
    assert ds.ids() == sorted(ds.ids())
    assert "woman-952506_1920 (1)_19" in ds.ids()  # stems with spaces and brackets survive
    # pairing follows the list order (not the sorted order): fg i on bg lines 20i .. 20i+19
    for i, name in enumerate(info["fg_names"]):
        stem = Path(name).stem
        for k in (0, 7, 19):
            e = ds.entry(f"{stem}_{k}")
            assert e.fg_index == i and e.bg_name == info["bg_names"][20 * i + k]


def test_composites_equal_reference_and_official_trimaps(tree):
    root, info = tree
    ds = Composition1k(root=root)
    adobe = info["adobe"]
    for i, name in enumerate(info["fg_names"][:3]):
        stem = Path(name).stem
        for k in (0, 1, 2, 3, 19):  # bg sizes cycle through upscale and crop-only cases
            s = ds.load(f"{stem}_{k}")
            bg_path = info["bg_dir"] / info["bg_names"][20 * i + k]
            np.testing.assert_array_equal(s.image, reference_composite(adobe / "fg" / name, adobe / "alpha" / name, bg_path))
            np.testing.assert_array_equal(s.trimap, read_trimap(adobe / "trimaps" / f"{stem}_{k}.png"))
            a8 = read_alpha_u8(adobe / "alpha" / name)
            assert s.alpha.dtype == np.float32
            np.testing.assert_array_equal(s.alpha, a8.astype(np.float32) / np.float32(255))
            assert s.fg.shape == s.bg.shape == s.image.shape
            assert s.metadata["bg_index"] == 20 * i + k and s.metadata["trimap_source"] == "official"
            assert s.metadata["bg_path"] == str(bg_path)


def test_crlf_lists_and_explicit_bg_dir(tmp_path: Path):
    info = make_comp1k(tmp_path, fg_names=["a.png", "b.png"], crlf=True, voc="elsewhere/voc")
    with pytest.raises(DatasetNotFound, match="bg_dir"):
        Composition1k(root=tmp_path)  # no JPEGImages under the root
    ds = Composition1k(root=tmp_path, bg_dir=str(info["bg_dir"]))
    assert len(ds) == 40 and ds.entry("b_3").bg_name == info["bg_names"][23]
    s = ds.load("b_3")
    ref = reference_composite(info["adobe"] / "fg" / "b.png", info["adobe"] / "alpha" / "b.png", info["bg_dir"] / info["bg_names"][23])
    np.testing.assert_array_equal(s.image, ref)


def test_missing_list_says_what_to_do(tmp_path: Path):
    info = make_comp1k(tmp_path, fg_names=["a.png"])
    (info["test"] / "test_fg_names.txt").unlink()
    with pytest.raises(DatasetNotFound) as e:
        Composition1k(root=tmp_path)
    msg = str(e.value)
    assert "test_fg_names.txt" in msg and "mattebench data check comp1k" in msg and "Combined_Dataset" in msg


def test_missing_background_and_trimap_are_sample_errors_and_check_problems(tmp_path: Path):
    info = make_comp1k(tmp_path, fg_names=["a.png", "b.png"])
    missing_bg = info["bg_dir"] / info["bg_names"][5]
    missing_bg.unlink()
    missing_tri = info["adobe"] / "trimaps" / "b_2.png"
    missing_tri.unlink()
    ds = Composition1k(root=tmp_path, bg_dir=None)
    with pytest.raises(SampleError) as e:
        ds.load("a_5")
    assert str(missing_bg) in str(e.value)
    with pytest.raises(SampleError) as e:
        ds.load("b_2")
    assert str(missing_tri) in str(e.value)
    ds.load("a_4")  # the others still load
    report = check_dataset("comp1k", root=str(tmp_path))
    assert not report.ok
    text = report.render()
    assert str(missing_bg) in text and str(missing_tri) in text and "expected 12 foregrounds" in text
    assert report.fingerprint is None


def test_amd_portrait_subset(tree):
    root, info = tree
    ds = load_dataset("amd", root=str(root))
    assert isinstance(ds, AMDPortrait) and ds.problems == []
    assert len(ds) == 110
    stems = {Path(n).stem for n in AMD_PORTRAITS}
    assert {i.rsplit("_", 1)[0] for i in ds.ids()} == stems
    assert {int(i.rsplit("_", 1)[1]) for i in ds.ids()} == set(range(10))
    # first 10 official backgrounds of each portrait, at its position in the list
    for name in AMD_PORTRAITS[:3]:
        i = info["fg_names"].index(name)
        for k in (0, 9):
            e = ds.entry(f"{Path(name).stem}_{k}")
            assert e.bg_index == 20 * i + k
    s = ds.load(f"{Path(AMD_PORTRAITS[0]).stem}_9")
    assert s.metadata["trimap_source"] == "official"
    assert "mattebench" in ds.card.notes and "not the paper" in ds.card.notes
    report = check_dataset("amd", root=str(root))
    assert report.ok, report.render()
    assert report.counts["samples"] == 110 and report.counts["foregrounds"] == 11


def test_amd_reports_missing_portraits(tmp_path: Path):
    make_comp1k(tmp_path, fg_names=[AMD_PORTRAITS[0], "x.png"])
    ds = AMDPortrait(root=tmp_path)
    assert len(ds) == 10
    assert sum("is not in the foreground list" in p for p in ds.problems) == 10


def test_good_tree_check_prints_counts_and_fingerprint(tree, tmp_path: Path):
    root, _ = tree
    report = check_dataset("comp1k", root=str(root))
    assert report.ok, report.render()
    assert report.counts == {"samples": 240, "foregrounds": 12, "backgrounds": 240, "trimaps": 240}
    assert report.fingerprint and report.fingerprint in report.render()
    # stable across instances; changes when the options change the pairing
    assert Composition1k(root=root).fingerprint() == report.fingerprint
    assert report.files_checked == 12 * 2 + 240 * 2

"""Distinctions-646: natural foreground order, CRLF list, composites, frozen generated trimaps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _fake_trees import make_d646, reference_composite, write_list

from mattebench.data.d646 import Distinctions646
from mattebench.data.io import read_alpha_u8
from mattebench.data.trimap import RECIPE_NAME, trimap_from_alpha
from mattebench.errors import DatasetNotFound, SampleError
from mattebench.methods.registry import check_dataset, load_dataset


@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path):
    monkeypatch.setattr(Distinctions646, "expected_fg", 12)
    monkeypatch.setenv("MATTEBENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("d646")
    return root, make_d646(root)


def test_counts_natural_order_and_crlf_list(tree):
    root, info = tree
    ds = load_dataset("d646", root=str(root))
    assert len(ds) == 240 and ds.problems == []
    # natural order: test_10 is the 11th foreground, so its backgrounds are lines 200..219
    e = ds.entry("test_10_0")
    assert e.fg_index == 10 and e.bg_name == info["bg_names"][200]
    assert ds.entry("test_2_19").bg_name == info["bg_names"][59]
    # the CRLF list without final newline gives clean names (no '\r', last name kept)
    assert ds.bg_names == info["bg_names"]
    assert any("CRLF" in n for n in ds.notes) and any("natural name order" in n for n in ds.notes)


def test_fg_list_overrides_order(tree, tmp_path: Path):
    root, info = tree
    order = sorted(info["fg_names"])  # lexicographic: test_0, test_1, test_10, test_11, test_2 ...
    lst = write_list(tmp_path / "fg.txt", order)
    ds = Distinctions646(root=root, fg_list=str(lst))
    assert ds.entry("test_10_0").bg_name == info["bg_names"][40]


def test_composites_and_generated_trimaps(tree):
    root, info = tree
    ds = Distinctions646(root=root)
    test = info["test"]
    for i in (0, 3, 11):
        name = f"test_{i}.png"
        a8 = read_alpha_u8(test / "GT" / name)
        want_tri = trimap_from_alpha(a8)
        for k in (0, 1, 19):
            s = ds.load(f"test_{i}_{k}")
            ref = reference_composite(test / "FG" / name, test / "GT" / name, info["bg_dir"] / info["bg_names"][20 * i + k])
            np.testing.assert_array_equal(s.image, ref)
            np.testing.assert_array_equal(s.trimap, want_tri)  # the same trimap for all 20 composites
            assert s.metadata["trimap_source"] == "generated:" + RECIPE_NAME
            # every fractional-alpha pixel is unknown
            frac = (a8 > 0) & (a8 < 255)
            assert frac.any() and (s.trimap[frac] == 128).all()


def test_trimaps_are_deterministic_and_frozen(tree, tmp_path: Path):
    root, _ = tree
    manifest = tmp_path / "m.json"
    a = Distinctions646(root=root, trimap_manifest=str(manifest))
    t1 = a.load("test_4_0").trimap
    assert manifest.is_file()
    data = json.loads(manifest.read_text())
    assert data["trimap_recipe"]["name"] == RECIPE_NAME and len(data["trimaps"]) == 1
    b = Distinctions646(root=root, trimap_manifest=str(manifest))
    np.testing.assert_array_equal(b.load("test_4_5").trimap, t1)
    # a trimap that no longer matches its frozen hash is refused, naming the GT file
    (gt_sha, entry), = data["trimaps"].items()
    entry["trimap_sha256"] = "0" * 64
    manifest.write_text(json.dumps(data))
    c = Distinctions646(root=root, trimap_manifest=str(manifest))
    with pytest.raises(SampleError) as e:
        c.load("test_4_1")
    assert "test_4.png" in str(e.value) and "frozen" in str(e.value)


def test_missing_bg_list_and_missing_gt(tmp_path: Path):
    info = make_d646(tmp_path, n=2, bg_list_name="weird.lst")
    with pytest.raises(DatasetNotFound, match="bg_list"):
        Distinctions646(root=tmp_path)
    ds = Distinctions646(root=tmp_path, bg_list=str(info["test"] / "weird.lst"))
    assert len(ds) == 40
    (info["test"] / "GT" / "test_1.png").unlink()
    report = check_dataset("d646", root=str(tmp_path), bg_list=str(info["test"] / "weird.lst"))
    assert not report.ok
    assert any(str(info["test"] / "GT" / "test_1.png") in p for p in report.problems)


def test_deep_check_freezes_every_trimap(tree, tmp_path: Path):
    root, _ = tree
    manifest = tmp_path / "deep.json"
    report = check_dataset("d646", root=str(root), deep=True, trimap_manifest=str(manifest))
    assert report.ok, report.render()
    assert len(json.loads(manifest.read_text())["trimaps"]) == 12
    assert report.fingerprint == Distinctions646(root=root, trimap_manifest=str(manifest)).fingerprint()

"""CRGNN-R clips: all frames in order, annotations every 10th frame at the right indices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _fake_trees import make_crgnn

from mattebench.data.io import read_image
from mattebench.errors import SampleError
from mattebench.methods.registry import check_dataset, load_dataset
from mattebench.types import Clip


@pytest.fixture
def tree(tmp_path: Path):
    root = tmp_path / "real_human_data"
    return tmp_path, make_crgnn(root)


def test_clip_indexing(tree):
    root, info = tree
    ds = load_dataset("crgnn-r", root=str(root))  # the parent of real_human_data works too
    assert ds.card.kind == "video" and ds.ids() == ["v01", "v02"] and ds.problems == []
    assert ds.counts() == {"videos": 2, "frames": 50, "annotated": 6, "trimaps": 6}
    clip = ds.load("v02")
    assert isinstance(clip, Clip) and len(clip.frames) == 25
    assert sorted(clip.alphas) == [0, 10, 20] and sorted(clip.trimaps) == [0, 10, 20]
    assert 10 in clip.trimaps and 5 not in clip.alphas and clip.trimaps.get(5) is None
    base = root / "real_human_data"
    # index 10 is frame00011: the frame and its annotation line up
    np.testing.assert_array_equal(clip.frames[10], read_image(base / "image_allframe" / "v02" / "frame00011.png"))
    np.testing.assert_array_equal(clip.alphas[10], info["gt"][("v02", 10)].astype(np.float32) / np.float32(255))
    assert clip.metadata["annotated"] == {0: "frame00001.png", 10: "frame00011.png", 20: "frame00021.png"}
    frames = list(clip.frames)  # iterating the lazy sequence reads every frame in order
    assert len(frames) == 25 and frames[0].shape == (9, 16, 3)
    report = check_dataset("crgnn-r", root=str(root))
    assert report.ok, report.render()
    assert any("2 videos" in n for n in report.notes)


def test_broken_video(tree):
    root, _ = tree
    base = root / "real_human_data"
    (base / "trimap" / "v01" / "frame00011.png").unlink()
    (base / "image_allframe" / "v02" / "frame00021.png").unlink()
    ds = load_dataset("crgnn-r", root=str(base))
    with pytest.raises(SampleError, match="no trimap"):
        ds.load("v01")
    report = check_dataset("crgnn-r", root=str(base))
    text = report.render()
    assert "missing trimap" in text and "frame00011.png" in text
    assert "v02" in text and "frame00021.png has no frame of that name" in text
    assert not report.ok

"""Image/alpha(/trimap) sets paired by stem: PPM-100, P3M-500, AIM-500, alphamatting.com, folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from _fake_trees import make_pairs, rgb, save, soft_alpha
from PIL import Image

from mattebench.data.aim import AIM500
from mattebench.data.alphamatting import AlphaMatting
from mattebench.data.base import default_root
from mattebench.data.io import read_alpha_u8, read_image, read_trimap
from mattebench.data.p3m import P3M500NP, P3M500P
from mattebench.data.ppm100 import PPM100
from mattebench.data.trimap import RECIPE_NAME, trimap_from_alpha
from mattebench.errors import DatasetNotFound, RegistryError, SampleError
from mattebench.methods.registry import check_dataset, load_dataset

PPM_STEMS = ["6146816_556eaff97f_o", "1000_b", "2x_c"]


@pytest.fixture(autouse=True)
def _small_counts(monkeypatch):
    monkeypatch.setattr(PPM100, "expected_count", 3)
    monkeypatch.setattr(P3M500P, "expected_count", 3)
    monkeypatch.setattr(P3M500NP, "expected_count", 3)
    monkeypatch.setattr(AIM500, "expected_count", 3)
    monkeypatch.setattr(AlphaMatting, "expected_count", 3)


def ppm_tree(root: Path, nested: bool = True) -> Path:
    base = root / "PPM-100" if nested else root
    make_pairs(base / "image", base / "matte", PPM_STEMS, image_ext=".jpg", alpha_ext=".jpg")
    return base


@pytest.mark.parametrize("nested", [True, False])
def test_ppm100_layouts_jpeg_mattes_generated_trimaps(tmp_path: Path, nested: bool):
    base = ppm_tree(tmp_path, nested)
    ds = load_dataset("ppm100", root=str(tmp_path))
    assert ds.ids() == sorted(PPM_STEMS) and ds.problems == []
    assert ds.card.protocols == ("whole",)
    s = ds.load("6146816_556eaff97f_o")
    a8 = read_alpha_u8(base / "matte" / "6146816_556eaff97f_o.jpg")
    np.testing.assert_array_equal(s.alpha, a8.astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(s.image, read_image(base / "image" / "6146816_556eaff97f_o.jpg"))
    np.testing.assert_array_equal(s.trimap, trimap_from_alpha(a8))
    assert s.metadata["trimap_source"] == "generated:" + RECIPE_NAME
    assert check_dataset("ppm100", root=str(tmp_path)).ok


def test_unpaired_files_and_size_mismatch(tmp_path: Path):
    base = ppm_tree(tmp_path)
    (base / "matte" / "1000_b.jpg").unlink()
    save(base / "matte" / "orphan.jpg", soft_alpha(np.random.default_rng(0), 16, 20))
    save(base / "matte" / "2x_c.jpg", soft_alpha(np.random.default_rng(0), 15, 20))  # wrong size
    ds = PPM100(root=tmp_path)
    assert len(ds) == 3  # ids come from the images
    with pytest.raises(SampleError, match="no ground-truth matte"):
        ds.load("1000_b")
    with pytest.raises(SampleError) as e:
        ds.load("2x_c")
    assert "2x_c.jpg" in str(e.value) and str(base / "matte" / "2x_c.jpg") in str(e.value)
    report = check_dataset("ppm100", root=str(tmp_path))
    text = report.render()
    assert not report.ok and "NOT READY" in text
    assert "missing matte for" in text and "orphan.jpg has no image" in text
    assert "20x15" in text  # the size mismatch, named


def test_exif_rotated_photo_with_raw_matte(tmp_path: Path, monkeypatch):
    base = tmp_path / "PPM-100"
    rng = np.random.default_rng(1)
    img = rgb(rng, 16, 20)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90: a viewer shows 16 wide, 20 high
    (base / "image").mkdir(parents=True)
    Image.fromarray(img).save(base / "image" / "r.jpg", exif=exif, quality=95)
    save(base / "matte" / "r.png", soft_alpha(rng, 16, 20))  # drawn on the stored pixels
    monkeypatch.setattr(PPM100, "expected_count", 1)
    s = PPM100(root=tmp_path).load("r")
    assert s.image.shape == (16, 20, 3) and s.metadata.get("exif_orientation_ignored") is True
    report = check_dataset("ppm100", root=str(tmp_path))
    assert report.ok, report.render()


def test_missing_root_and_default_root(tmp_path: Path, monkeypatch):
    with pytest.raises(DatasetNotFound) as e:
        load_dataset("ppm100", root=str(tmp_path / "nope"))
    msg = str(e.value)
    assert "github.com/ZHKKKe/PPM" in msg and "PPM-100/matte" in msg and "mattebench data check ppm100" in msg
    with pytest.raises(DatasetNotFound, match="no PPM-100/image folder"):
        load_dataset("ppm100", root=str(tmp_path))
    monkeypatch.setenv("MATTEBENCH_DATA", str(tmp_path))
    assert default_root("ppm100") == tmp_path / "ppm100"
    ppm_tree(tmp_path / "ppm100")
    assert len(load_dataset("ppm100")) == 3
    with pytest.raises(RegistryError, match="does not take option"):
        load_dataset("ppm100", bogus=1)


def test_fingerprint_follows_names_and_sizes_not_location(tmp_path: Path):
    ppm_tree(tmp_path / "a")
    fp = PPM100(root=tmp_path / "a").fingerprint()
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert PPM100(root=tmp_path / "b").fingerprint() == fp
    with open(tmp_path / "b" / "PPM-100" / "image" / "2x_c.jpg", "ab") as f:
        f.write(b"\0")
    assert PPM100(root=tmp_path / "b").fingerprint() != fp


@pytest.mark.parametrize("cls,folder,image_folder", [(P3M500P, "P3M-500-P", "blurred_image"), (P3M500NP, "P3M-500-NP", "original_image")])
def test_p3m_official_trimaps(tmp_path: Path, cls, folder, image_folder):
    base = tmp_path / "P3M-10k" / "validation" / folder
    stems = ["p_0a", "p_1b", "p_2c"]
    make_pairs(base / image_folder, base / "mask", stems, trimap_dir=base / "trimap")
    ds = cls(root=tmp_path)
    assert ds.ids() == stems and ds.problems == []
    s = ds.load("p_1b")
    np.testing.assert_array_equal(s.trimap, read_trimap(base / "trimap" / "p_1b.png"))
    assert s.metadata["trimap_source"] == "official"
    assert cls(root=base).ids() == stems  # the set folder itself as root
    (base / "trimap" / "p_2c.png").unlink()
    with pytest.raises(SampleError, match="no trimap"):
        cls(root=tmp_path).load("p_2c")
    assert "missing trimap" in check_dataset(cls.card.name, root=str(tmp_path)).render()


def test_aim500(tmp_path: Path):
    base = tmp_path / "AIM-500"
    stems = ["o_0a1b", "o_ffee", "o_1234"]
    make_pairs(base / "original", base / "mask", stems, trimap_dir=base / "trimap")
    ds = load_dataset("aim500", root=str(tmp_path))
    assert ds.ids() == sorted(stems)
    assert ds.load("o_ffee").metadata["trimap_source"] == "official"
    assert check_dataset("aim500", root=str(tmp_path)).ok


def _alphamatting_tree(root: Path) -> None:
    stems = ["GT01", "GT02", "GT03"]
    make_pairs(root / "input_training_lowres", root / "gt_training_lowres", stems, image_ext=".png", alpha_mode="RGB")
    for n in (1, 2):
        for s in stems:
            idx = np.zeros((16, 20), np.uint8)
            idx[4:12] = 1
            idx[6:9, 5:15] = 2 if n == 1 else 1
            p = Image.fromarray(idx, mode="P")
            # palette: index 0 white, 1 grey 128, 2 black, so indices differ from values
            p.putpalette([255, 255, 255, 128, 128, 128, 0, 0, 0] + [0] * 759)
            (root / "trimap_training_lowres" / f"Trimap{n}").mkdir(parents=True, exist_ok=True)
            p.save(root / "trimap_training_lowres" / f"Trimap{n}" / f"{s}.png")


def test_alphamatting_rgb_gt_palette_trimaps_and_options(tmp_path: Path):
    _alphamatting_tree(tmp_path)
    ds = load_dataset("alphamatting", root=str(tmp_path))
    assert ds.ids() == ["GT01", "GT02", "GT03"] and ds.card.protocols == ("unknown",)
    s = ds.load("GT02")
    gt_rgb = np.asarray(Image.open(tmp_path / "gt_training_lowres" / "GT02.png"))
    assert gt_rgb.ndim == 3
    np.testing.assert_array_equal(s.alpha, gt_rgb[..., 0].astype(np.float32) / np.float32(255))
    assert set(np.unique(s.trimap)) == {0, 128, 255}
    assert s.trimap[0, 0] == 255 and s.trimap[5, 0] == 128 and s.trimap[7, 7] == 0
    t2 = load_dataset("alphamatting", root=str(tmp_path), trimap=2).load("GT02").trimap
    assert t2[7, 7] == 128
    with pytest.raises(DatasetNotFound, match="trimap must be 1 or 2"):
        AlphaMatting(root=tmp_path, trimap=3)
    assert AlphaMatting(root=tmp_path, trimap=1).fingerprint() != AlphaMatting(root=tmp_path, trimap=2).fingerprint()
    assert check_dataset("alphamatting", root=str(tmp_path), trimap=2).ok


def test_folder_dataset(tmp_path: Path):
    make_pairs(tmp_path / "image", tmp_path / "matte", ["a", "b"], image_ext=".jpg", alpha_ext=".png")
    ds = load_dataset("folder", root=str(tmp_path))
    assert ds.ids() == ["a", "b"]
    s = ds.load("a")
    assert s.metadata["trimap_source"] == "generated:" + RECIPE_NAME
    make_pairs(tmp_path / "image", tmp_path / "matte", ["a", "b"], trimap_dir=tmp_path / "trimap")
    s = load_dataset("folder", root=str(tmp_path)).load("b")
    assert s.metadata["trimap_source"] == "official"
    with pytest.raises(DatasetNotFound, match="--data-root"):
        load_dataset("folder")

"""Robust reading: the awkward files matting datasets actually ship."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mattebench.data.io import (
    alpha_channels_equal,
    image_info,
    open_image,
    read_alpha,
    read_alpha_u8,
    read_image,
    read_trimap,
)
from mattebench.errors import SampleError


def _grad(h: int = 12, w: int = 10) -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) * 7 % 256).astype(np.uint8)


def test_grey_png_matte_exact(tmp_path: Path):
    a = _grad()
    Image.fromarray(a).save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_alpha_u8(tmp_path / "a.png"), a)
    f = read_alpha(tmp_path / "a.png")
    assert f.dtype == np.float32 and f.max() <= 1.0
    np.testing.assert_array_equal(f, a.astype(np.float32) / np.float32(255))


def test_rgb_matte_with_equal_channels_is_channel_0(tmp_path: Path):
    a = _grad()
    Image.fromarray(np.repeat(a[:, :, None], 3, axis=2)).save(tmp_path / "rgb.png")
    np.testing.assert_array_equal(read_alpha_u8(tmp_path / "rgb.png"), a)
    assert alpha_channels_equal(tmp_path / "rgb.png")


def test_colour_matte_follows_convert_L(tmp_path: Path):
    rgb = np.stack([_grad(), _grad()[::-1], np.full((12, 10), 9, np.uint8)], axis=2)
    Image.fromarray(rgb).save(tmp_path / "c.png")
    want = np.asarray(Image.fromarray(rgb).convert("L"))
    np.testing.assert_array_equal(read_alpha_u8(tmp_path / "c.png"), want)
    assert not alpha_channels_equal(tmp_path / "c.png")


def test_16bit_png_scales_by_full_range(tmp_path: Path):
    a16 = np.array([[0, 65535, 32896, 257]], dtype=np.uint16)  # 32896 = 128 * 257
    Image.fromarray(a16).save(tmp_path / "a16.png")
    np.testing.assert_array_equal(read_alpha_u8(tmp_path / "a16.png"), np.array([[0, 255, 128, 1]], np.uint8))


def test_palette_trimap_read_as_values_not_indices(tmp_path: Path):
    idx = np.array([[0, 1, 2, 1]], np.uint8)
    p = Image.fromarray(idx, mode="P")
    p.putpalette([255, 255, 255, 128, 128, 128, 0, 0, 0] + [0] * 759)
    p.save(tmp_path / "t.png")
    np.testing.assert_array_equal(read_trimap(tmp_path / "t.png"), np.array([[255, 128, 0, 128]], np.uint8))


def test_rgba_matte_in_alpha_channel(tmp_path: Path):
    a = _grad()
    rgba = np.zeros((12, 10, 4), np.uint8)
    rgba[..., 3] = a
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "m.png")
    np.testing.assert_array_equal(read_alpha_u8(tmp_path / "m.png"), a)
    # and an RGBA photo drops its alpha
    rgba[..., 0] = 200
    rgba[..., 1] = _grad()
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_image(tmp_path / "p.png"), rgba[..., :3])


def test_jpeg_matte_is_one_channel(tmp_path: Path):
    a = np.zeros((16, 16), np.uint8)
    a[4:12, 4:12] = 255
    Image.fromarray(a).save(tmp_path / "m.jpg", quality=90)
    got = read_alpha_u8(tmp_path / "m.jpg")
    assert got.shape == (16, 16) and abs(int(got[8, 8]) - 255) <= 8 and int(got[0, 0]) <= 8


def test_grey_image_becomes_three_channels(tmp_path: Path):
    g = _grad()
    Image.fromarray(g).save(tmp_path / "g.png")
    img = read_image(tmp_path / "g.png")
    assert img.shape == (12, 10, 3)
    np.testing.assert_array_equal(img[..., 1], g)


def test_exif_orientation(tmp_path: Path):
    rgb = np.zeros((8, 12, 3), np.uint8)
    rgb[0, 0] = 255  # mark the stored top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # stored pixels must be rotated 90 degrees clockwise for display
    Image.fromarray(rgb).save(tmp_path / "e.jpg", exif=exif, quality=100)
    shown = read_image(tmp_path / "e.jpg")
    raw = read_image(tmp_path / "e.jpg", apply_exif=False)
    assert shown.shape == (12, 8, 3) and raw.shape == (8, 12, 3)
    assert shown[0, -1].mean() > 150  # clockwise rotation moves the top-left corner to the top-right
    info = image_info(tmp_path / "e.jpg")
    assert info.orientation == 6 and info.size == (12, 8) and info.display_size == (8, 12)
    assert open_image(tmp_path / "e.jpg").size == (12, 8)  # raw PIL access never rotates


def test_errors_name_the_file(tmp_path: Path):
    with pytest.raises(SampleError) as e:
        read_image(tmp_path / "missing.png")
    assert "missing.png" in str(e.value) and "not found" in str(e.value)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(SampleError, match="0 bytes"):
        image_info(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(SampleError) as e:
        image_info(tmp_path / "text.png")
    assert "text.png" in str(e.value)
    Image.fromarray(_grad(64, 64)).save(tmp_path / "t.png")
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    image_info(tmp_path / "t.png")  # the header alone still reads
    with pytest.raises(SampleError) as e:
        image_info(tmp_path / "t.png", decode=True)
    assert "t.png" in str(e.value) and "corrupt or truncated" in str(e.value)
    with pytest.raises(SampleError):
        read_alpha(tmp_path / "t.png")

"""The official compositing rule against an independent literal implementation and hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _fake_trees import reference_composite, rgb, save, soft_alpha
from PIL import Image

from mattebench.data.compose import (
    background_size,
    blend,
    composite_files,
    fit_background,
)
from mattebench.errors import SampleError


def test_background_size_hand_worked():
    # fg 1000x800 on a 500x375 VOC image: ratio = max(2, 2.1333..) -> (ceil(1066.67), ceil(800.0)).
    assert background_size(500, 375, 1000, 800) == (1067, 800)
    # a background that already covers the foreground is never resized (crop only)
    assert background_size(1200, 900, 1000, 800) is None
    # equal size: ratio == 1 is not > 1
    assert background_size(1000, 800, 1000, 800) is None
    # only one side too small still scales both sides by the larger ratio
    assert background_size(2000, 400, 1000, 800) == (4000, 800)


def test_blend_truncates_in_double_precision():
    # Hand-worked: a = 170, fg = 100, bg = 0 -> 170/255*100 = 66.67 -> int() = 66 (rounding would give 67).
    # a = 5, fg = bg = 100: exactly 100 in rationals, but 5/255*100 + (1-5/255)*100 = 99.99999999999999
    # in IEEE doubles, and the official int() keeps 99. A float32 or rational blend gives 100.
    fg = np.array([[[100, 100, 255], [100, 100, 100], [7, 8, 9], [1, 2, 3]]], np.uint8)
    bg = np.array([[[0, 0, 0], [100, 100, 100], [50, 60, 70], [4, 5, 6]]], np.uint8)
    a = np.array([[170, 5, 255, 0]], np.uint8)
    out = blend(fg, a, bg)
    assert out[0, 0].tolist() == [66, 66, 170]
    assert out[0, 1].tolist() == [99, 99, 99]
    assert out[0, 2].tolist() == [7, 8, 9]  # a == 255 copies fg
    assert out[0, 3].tolist() == [4, 5, 6]  # a == 0 keeps bg


def test_blend_matches_python_int_on_every_alpha_and_channel_value():
    # Exhaustive over alpha for a spread of fg/bg values, against Python's own float arithmetic.
    a = np.repeat(np.arange(256, dtype=np.uint8), 16).reshape(256, 16)
    vals = np.array([0, 1, 15, 49, 99, 100, 101, 127, 128, 185, 200, 230, 254, 255, 3, 77], np.uint8)
    fg = np.broadcast_to(vals[None, :, None], (256, 16, 3)).copy()
    bg = np.broadcast_to(vals[::-1][None, :, None], (256, 16, 3)).copy()
    out = blend(fg, a, bg)
    for i in range(256):
        for j in range(16):
            al = int(a[i, j]) / 255
            f, b = int(fg[i, j, 0]), int(bg[i, j, 0])
            want = f if al >= 1 else (int(al * f + (1 - al) * b) if al > 0 else b)
            assert out[i, j, 0] == want, (i, j)


@pytest.mark.parametrize(
    "fg_mode,bg_mode,bg_size",
    [
        ("RGB", "RGB", (9, 6)),  # upscale both sides
        ("RGB", "RGB", (40, 30)),  # crop only
        ("RGBA", "L", (8, 11)),  # RGBA foreground, grey background, upscale
        ("L", "P", (30, 9)),  # grey foreground, palette background
    ],
)
def test_composite_equals_literal_reference(tmp_path: Path, fg_mode: str, bg_mode: str, bg_size: tuple[int, int]):
    rng = np.random.default_rng(7)
    h, w = 13, 17
    fg = Image.fromarray(rgb(rng, h, w)).convert(fg_mode)
    fg_path = tmp_path / "fg.png"
    fg.save(fg_path)
    alpha_path = save(tmp_path / "alpha.png", soft_alpha(rng, h, w))
    bg = Image.fromarray(rgb(rng, bg_size[1], bg_size[0]))
    bg = bg.convert(bg_mode) if bg_mode != "P" else bg.convert("P", palette=Image.ADAPTIVE)
    bg_path = tmp_path / "bg.png"
    bg.save(bg_path)
    image, fg_arr, bg_arr, a8 = composite_files(fg_path, alpha_path, bg_path)
    ref = reference_composite(fg_path, alpha_path, bg_path)
    assert image.dtype == np.uint8 and image.shape == (h, w, 3)
    np.testing.assert_array_equal(image, ref)
    # the returned fg/bg are the true colours the composite was made from
    np.testing.assert_array_equal(blend(fg_arr, a8, bg_arr), image)


def test_bicubic_upscale_is_pil_not_opencv(tmp_path: Path):
    # The "revised" scripts use OpenCV bicubic; the official one PIL's. They differ on real content.
    import cv2

    rng = np.random.default_rng(3)
    src = rgb(rng, 7, 9)
    ours = fit_background(Image.fromarray(src), 20, 16)
    cv = cv2.resize(src, background_size(9, 7, 20, 16), interpolation=cv2.INTER_CUBIC)[:16, :20]
    pil = np.asarray(Image.fromarray(src).resize(background_size(9, 7, 20, 16), Image.BICUBIC))[:16, :20]
    np.testing.assert_array_equal(ours, pil)
    assert not np.array_equal(ours, cv)


def test_exif_rotation_is_not_applied_to_backgrounds(tmp_path: Path):
    # Composition_code.py opens backgrounds with PIL and never rotates them.
    rng = np.random.default_rng(4)
    bg = rgb(rng, 30, 40)
    exif = Image.Exif()
    exif[0x0112] = 6
    p = tmp_path / "bg.jpg"
    Image.fromarray(bg).save(p, exif=exif, quality=95)
    fg_path = save(tmp_path / "fg.png", rgb(rng, 10, 12))
    a_path = save(tmp_path / "a.png", soft_alpha(rng, 10, 12))
    image, _, bg_arr, _ = composite_files(fg_path, a_path, p)
    np.testing.assert_array_equal(image, reference_composite(fg_path, a_path, p))
    stored = np.asarray(Image.open(p).convert("RGB"))[:10, :12]
    np.testing.assert_array_equal(bg_arr, stored)


def test_size_mismatch_names_both_files(tmp_path: Path):
    rng = np.random.default_rng(5)
    fg_path = save(tmp_path / "fg.png", rgb(rng, 10, 12))
    a_path = save(tmp_path / "alpha.png", soft_alpha(rng, 11, 12))
    bg_path = save(tmp_path / "bg.png", rgb(rng, 20, 20))
    with pytest.raises(SampleError) as e:
        composite_files(fg_path, a_path, bg_path)
    assert str(fg_path) in str(e.value) and str(a_path) in str(e.value)

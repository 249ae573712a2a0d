"""The embedded synthetic benchmark: determinism, exact compositing, fractional alpha, balanced
factors, trimaps, the training stream, video clips with flow, and the sample grid."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mattebench.data.backgrounds import PHOTO_NAMES, load_photo
from mattebench.data.synthetic import (
    SyntheticDataset,
    SyntheticVideoDataset,
    balanced_factors,
    parse_size,
)
from mattebench.data.synthetic_render import OBJECT_KINDS
from mattebench.data.trimap import RECIPE_NAME
from mattebench.errors import SampleError
from mattebench.types import DatasetCard

# ids taken from the factor table of seed 0
VEIL_IDS = [i for i in range(100) if balanced_factors(0, i)["veil"]][:2]
# (a glass held by a full-body figure is a few pixels wide and mostly in front of the arm)
GLASS_IDS = [i for i in range(100) if balanced_factors(0, i)["object"] == "wine_glass" and not balanced_factors(0, i)["full_body"]][:2]


@pytest.fixture(scope="module")
def test_split() -> SyntheticDataset:
    return SyntheticDataset()


@pytest.fixture(scope="module")
def some_samples(test_split):
    # a spread of the split: both framings, several hair styles and objects
    return [test_split.load(f"synth-{i:03d}") for i in (0, 1, 3, 8, 13, 27, 45, 81)]


def _digest(s) -> str:
    h = hashlib.sha256()
    for arr in (s.image, s.alpha, s.trimap, s.fg, s.bg):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def test_card_and_ids(test_split):
    assert isinstance(SyntheticDataset.card, DatasetCard)
    assert SyntheticDataset.card.kind == "image" and not SyntheticDataset.card.needs_root
    assert SyntheticDataset.card.protocols == ("whole", "unknown")
    assert SyntheticVideoDataset.card.kind == "video"
    assert "CC0" in SyntheticDataset.card.licence and "public domain" in SyntheticDataset.card.licence
    ids = test_split.ids()
    assert len(test_split) == 100 and ids[0] == "synth-000" and ids[-1] == "synth-099" and ids == sorted(ids)
    train = SyntheticDataset(split="train", n=5)
    assert train.ids() == [f"train-{i:06d}" for i in range(5)]


def test_registered_under_its_names():
    from mattebench.methods.registry import load_dataset

    d = load_dataset("synthetic", root=None, n=3)
    assert isinstance(d, SyntheticDataset) and len(d) == 3
    v = load_dataset("synthetic-video", n_clips=2, frames=3)
    assert isinstance(v, SyntheticVideoDataset) and v.ids() == ["clip-00", "clip-01"]


def test_bad_ids_raise_sample_error(test_split):
    for bad in ("synth-100", "synth-x", "train-000001", "clip-00"):
        with pytest.raises(SampleError):
            test_split.load(bad)
    with pytest.raises(SampleError):
        SyntheticVideoDataset(n_clips=2).load("clip-02")


def test_shapes_dtypes_and_ranges(some_samples):
    for s in some_samples:
        assert s.image.shape == (320, 256, 3) and s.image.dtype == np.uint8
        assert s.fg.shape == s.bg.shape == s.image.shape and s.fg.dtype == s.bg.dtype == np.uint8
        assert s.alpha.shape == (320, 256) and s.alpha.dtype == np.float32
        assert 0.0 <= s.alpha.min() and s.alpha.max() <= 1.0
        # alpha is exactly an 8-bit value / 255
        a8 = np.round(s.alpha.astype(np.float64) * 255).astype(np.uint8)
        assert np.array_equal(s.alpha, a8.astype(np.float32) / np.float32(255))
        assert s.trimap.dtype == np.uint8 and set(np.unique(s.trimap)) <= {0, 128, 255}
        assert s.metadata["trimap_source"] == "generated:" + RECIPE_NAME
        for key in ("full_body", "blurred_bg", "holds_object", "veil", "eyeglasses", "background", "seed"):
            assert key in s.metadata


def test_image_is_the_official_composite_bit_for_bit(some_samples):
    """An independent re-composition: Composition-1k's per-pixel rule in plain Python floats."""
    for s in some_samples[:4]:
        a8 = np.round(s.alpha.astype(np.float64) * 255).astype(int)
        full, zero = a8 == 255, a8 == 0
        assert np.array_equal(s.image[full], s.fg[full])
        assert np.array_equal(s.image[zero], s.bg[zero])
        ys, xs = np.nonzero(~full & ~zero)
        assert len(ys) > 500
        for y, x in zip(ys.tolist(), xs.tolist()):
            a = a8[y, x] / 255
            for c in range(3):
                expect = int(a * int(s.fg[y, x, c]) + (1 - a) * int(s.bg[y, x, c]))
                assert s.image[y, x, c] == expect, (s.id, y, x, c)


def test_same_id_same_bits_in_process_and_in_a_subprocess(test_split):
    a, b = test_split.load("synth-013"), SyntheticDataset().load("synth-013")
    assert _digest(a) == _digest(b) and a.metadata == b.metadata
    code = (
        "import hashlib, numpy as np\n"
        "from mattebench.data.synthetic import SyntheticDataset\n"
        "s = SyntheticDataset().load('synth-013')\n"
        "h = hashlib.sha256()\n"
        "[h.update(np.ascontiguousarray(x).tobytes()) for x in (s.image, s.alpha, s.trimap, s.fg, s.bg)]\n"
        "print(h.hexdigest())\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="123")  # a different str hash: it must not matter
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == _digest(a)


def test_sample_does_not_depend_on_n_but_on_seed():
    a = SyntheticDataset(n=20).load("synth-005")
    b = SyntheticDataset(n=100).load("synth-005")
    c = SyntheticDataset(seed=1).load("synth-005")
    assert _digest(a) == _digest(b)
    assert not np.array_equal(a.alpha, c.alpha)


def test_alpha_is_genuinely_fractional(some_samples):
    fractions = []
    for s in some_samples:
        frac = (s.alpha > 0) & (s.alpha < 1)
        fractions.append(frac.mean())
        assert frac.mean() > 0.008, s.id  # every portrait has soft edges and hair
        # intermediate values, not just 1/255-ish fringes from rounding
        assert ((s.alpha > 0.1) & (s.alpha < 0.9)).sum() > 0.3 * frac.sum()
        # and many distinct levels (sub-pixel coverage, not a binary mask)
        assert len(np.unique(s.alpha[frac])) > 40  # one supersampled binary shape gives at most 17
    assert np.mean(fractions) > 0.015


def test_trimap_covers_every_fractional_pixel(some_samples):
    for s in some_samples:
        frac = (s.alpha > 0) & (s.alpha < 1)
        assert np.all(s.trimap[frac] == 128), s.id
        assert np.all(s.alpha[s.trimap == 255] == 1.0) and np.all(s.alpha[s.trimap == 0] == 0.0)


@pytest.mark.parametrize("index", VEIL_IDS + GLASS_IDS)
def test_sheer_parts_are_semi_transparent(test_split, index):
    s = test_split.load(f"synth-{index:03d}")
    assert s.metadata["veil"] or s.metadata["glass"]
    sheer = (s.alpha >= 0.25) & (s.alpha <= 0.75)
    # sheer *regions*, not one-pixel rims: pixels whose 3x3 neighbourhood is all sheer
    core = cv2.erode(sheer.astype(np.uint8), np.ones((3, 3), np.uint8)).sum()
    need = 300 if s.metadata["veil"] else 200  # a veil is a large sheer area, a wine glass a small one
    assert core > need, (s.id, core)


def test_plain_portraits_have_far_less_semi_transparency(test_split):
    plain = [i for i in range(100) if not balanced_factors(0, i)["veil"] and not balanced_factors(0, i)["holds_object"]][:2]
    for i in plain:
        s = test_split.load(f"synth-{i:03d}")
        core = cv2.erode(((s.alpha >= 0.25) & (s.alpha <= 0.75)).astype(np.uint8), np.ones((3, 3), np.uint8))
        assert core.sum() < 150, (s.id, core.sum())


def test_factor_table_is_balanced():
    table = [balanced_factors(0, i) for i in range(100)]
    for key in ("full_body", "blurred_bg", "holds_object"):
        assert sum(f[key] for f in table) == 50, key
    assert sum(f["veil"] for f in table) == 20
    kinds = [f["object"] for f in table if f["holds_object"]]
    assert all(f["object"] is None for f in table if not f["holds_object"])
    assert set(kinds) == set(OBJECT_KINDS) and min(kinds.count(k) for k in OBJECT_KINDS) >= 4
    photos = [f["photo"] for f in table]
    assert set(photos) == set(PHOTO_NAMES) and min(photos.count(p) for p in PHOTO_NAMES) >= 10
    # the factors are not all aligned with each other
    both = sum(f["full_body"] and f["holds_object"] for f in table)
    assert 15 <= both <= 35
    # the next block of 100 is balanced too, with a different arrangement
    nxt = [balanced_factors(0, 100 + i) for i in range(100)]
    assert sum(f["full_body"] for f in nxt) == 50 and [f["full_body"] for f in nxt] != [f["full_body"] for f in table]


def test_rendered_samples_follow_the_factor_table(some_samples):
    for s in some_samples:
        f = balanced_factors(0, s.metadata["index"])
        for key in ("full_body", "blurred_bg", "holds_object", "veil"):
            assert s.metadata[key] == f[key], (s.id, key)
        assert s.metadata["object"] == f["object"] and s.metadata["background"] == f["photo"]
        if not s.metadata["blurred_bg"]:
            assert s.metadata["background_spec"]["blur"] == "none"


def test_full_body_portraits_are_smaller_than_half_body(some_samples):
    full = [s.alpha.mean() for s in some_samples if s.metadata["full_body"]]
    half = [s.alpha.mean() for s in some_samples if not s.metadata["full_body"]]
    assert full and half and max(full) < min(half)
    for s in some_samples:
        rows = np.nonzero(s.alpha.max(axis=1) > 0)[0]
        if s.metadata["full_body"]:
            assert rows.max() < 319  # the feet are inside the picture
        else:
            assert rows.max() == 319  # the torso is cut by the bottom of the frame


def test_training_stream_differs_from_the_test_split(test_split):
    d = SyntheticDataset(n=3)
    t0 = d.training_sample(0)
    assert t0.id == "train-000000" and t0.metadata["split"] == "train"
    test_digests = {_digest(test_split.load(f"synth-{i:03d}")) for i in range(3)}
    assert _digest(t0) not in test_digests
    it = d.stream(start=41)
    a, b = next(it), next(it)
    assert (a.id, b.id) == ("train-000041", "train-000042")
    assert _digest(a) == _digest(SyntheticDataset(split="train").load("train-000041"))
    far = d.training_sample(123_456_789)  # any index is a sample
    assert far.image.shape == (320, 256, 3)


def test_size_option_and_fingerprint():
    assert parse_size(None) == (320, 256) and parse_size("512x640") == (640, 512) and parse_size(200) == (250, 200)
    s = SyntheticDataset(size="128x160", n=1).load("synth-000")
    assert s.image.shape == (160, 128, 3) and s.alpha.shape == (160, 128)
    fps = {SyntheticDataset().fingerprint(), SyntheticDataset(size=512).fingerprint(), SyntheticDataset(seed=2).fingerprint(),
           SyntheticDataset(split="train").fingerprint(), SyntheticDataset(n=10).fingerprint()}
    assert len(fps) == 5 and SyntheticDataset().fingerprint() == SyntheticDataset(root="/ignored").fingerprint()


def test_fingerprint_follows_the_generator_version(monkeypatch):
    import mattebench.data.synthetic as syn

    before = SyntheticDataset().fingerprint()
    monkeypatch.setattr(syn, "GENERATOR_VERSION", syn.GENERATOR_VERSION + "-changed")
    assert SyntheticDataset().fingerprint() != before


def test_backgrounds_are_bundled_photographs():
    for name in PHOTO_NAMES:
        img = load_photo(name)
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8 and min(img.shape[:2]) >= 300


@pytest.fixture(scope="module")
def clips():
    d = SyntheticVideoDataset(n_clips=4, frames=4, size="128x160")
    return d, [d.load(i) for i in d.ids()]


def test_video_clip_shapes(clips):
    d, cs = clips
    assert d.ids() == ["clip-00", "clip-01", "clip-02", "clip-03"] and len(d) == 4
    for c in cs:
        assert len(c.frames) == 4 and all(f.shape == (160, 128, 3) and f.dtype == np.uint8 for f in c.frames)
        assert sorted(c.alphas) == [0, 1, 2, 3] and sorted(c.trimaps) == [0, 1, 2, 3] and sorted(c.flows) == [0, 1, 2]
        for t, f in c.flows.items():
            assert f.shape == (160, 128, 2) and f.dtype == np.float32
        # the person moves: consecutive alphas differ
        assert not np.array_equal(c.alphas[0], c.alphas[1])
        # hair pixels (fractional alpha) have no defined flow
        frac = (c.alphas[0] > 0) & (c.alphas[0] < 1)
        assert np.all(np.isnan(c.flows[0][frac]))
    assert any(c.metadata["motion"]["pan"][0] != 0 for c in cs)  # some clip pans its background


def test_video_flow_carries_alpha_and_colour_to_the_next_frame(clips):
    _, cs = clips
    for c in cs:
        for t in range(len(c.frames) - 1):
            f = c.flows[t]
            ok = np.isfinite(f[..., 0])
            assert ok.mean() > 0.5
            h, w = f.shape[:2]
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            mx = (xs + np.nan_to_num(f[..., 0])).astype(np.float32)
            my = (ys + np.nan_to_num(f[..., 1])).astype(np.float32)
            warped = cv2.remap(c.alphas[t + 1], mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            # away from occlusions: pixels that are not near the unknown band in either frame
            unk = (c.trimaps[t] == 128) | (c.trimaps[t + 1] == 128)
            near = cv2.dilate(unk.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
            inside = (mx >= 1) & (mx <= w - 2) & (my >= 1) & (my <= h - 2)
            m = ok & ~near & inside
            assert np.abs(warped - c.alphas[t])[m].max() < 0.02
            # the flow also moves the body's colours (bilinear resampling of textures: a few levels)
            img0 = c.frames[t].astype(np.float32)
            img1 = cv2.remap(c.frames[t + 1].astype(np.float32), mx, my, cv2.INTER_LINEAR)
            body = m & (c.alphas[t] >= 1.0)
            err = np.abs(img1 - img0)[body].mean()
            assert err < 8.0
            moved = np.hypot(*np.nanmean(f[c.alphas[t] >= 1.0], axis=0)) > 0.5
            if moved:
                # a wrong flow (zero) explains neither the colours nor the edges of the body
                assert err < 0.6 * np.abs(c.frames[t + 1].astype(np.float32) - img0)[body].mean()
                zero = cv2.remap(c.alphas[t + 1], xs, ys, cv2.INTER_LINEAR)
                edge = ok & near & inside
                assert np.abs(zero - c.alphas[t])[edge].mean() > np.abs(warped - c.alphas[t])[edge].mean()


def test_video_is_deterministic():
    a = SyntheticVideoDataset(n_clips=1, frames=2, size="96x120").load("clip-00")
    b = SyntheticVideoDataset(n_clips=1, frames=2, size="96x120").load("clip-00")
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    assert np.array_equal(a.flows[0], b.flows[0], equal_nan=True)


def test_sample_grid_png(tmp_path, clips):
    from PIL import Image

    from mattebench.report.sample_grid import save_sample_grid

    d = SyntheticDataset(size="96x120", n=4)
    out = save_sample_grid(d, tmp_path / "grid.png", n=3)
    img = Image.open(out)
    assert img.format == "PNG" and img.size[0] > 300 and img.size[1] > 100
    out2 = save_sample_grid(clips[0], tmp_path / "clips.png", ids=["clip-01"], max_colours=64)
    img2 = Image.open(out2)
    assert img2.format == "PNG" and img2.mode == "P"

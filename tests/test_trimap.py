import numpy as np
import pytest

from mattebench.data.trimap import band_radius, trimap_from_alpha


def test_every_fractional_pixel_is_unknown_and_values_are_three():
    rng = np.random.default_rng(0)
    a = np.zeros((120, 90), np.uint8)
    a[30:90, 20:70] = 255
    a[25:30, 20:70] = rng.integers(1, 255, (5, 50))
    t = trimap_from_alpha(a)
    assert set(np.unique(t)) <= {0, 128, 255}
    frac = (a > 0) & (a < 255)
    assert (t[frac] == 128).all()
    assert (t[a == 0] != 255).all() and (t[a == 255] != 0).all()


def test_band_width_by_hand():
    # A vertical edge at column 50 in a 200x200 image: r = 2, so the ellipse kernel (5x5) reaches 2 px.
    a = np.zeros((200, 200), np.uint8)
    a[:, 50:] = 255
    assert band_radius(200, 200) == 2
    t = trimap_from_alpha(a)
    row = t[100]
    assert (row[:48] == 0).all() and (row[48:52] == 128).all() and (row[52:] == 255).all()


def test_float_and_uint8_inputs_agree_and_deterministic():
    rng = np.random.default_rng(1)
    a8 = (rng.random((64, 64)) > 0.5).astype(np.uint8) * 255
    a8[10:20, 10:20] = 77
    t1 = trimap_from_alpha(a8)
    t2 = trimap_from_alpha(a8.astype(np.float32) / 255)
    assert np.array_equal(t1, t2) and np.array_equal(t1, trimap_from_alpha(a8))


def test_rejects_non_2d():
    with pytest.raises(ValueError, match="HxW"):
        trimap_from_alpha(np.zeros((4, 4, 3)))


def test_keep_known_sets_exactly_the_known_regions():
    from mattebench.data.trimap import keep_known

    alpha = np.array([[0.25, 0.25, 0.25, 0.25]], np.float32)
    trimap = np.array([[0, 128, 255, 7]], np.uint8)
    out = keep_known(alpha, trimap)
    np.testing.assert_array_equal(out, [[0.0, 0.25, 1.0, 0.25]])  # 7 is neither 0 nor 255: unknown
    assert out is alpha  # in place

"""mse_whole on 8-bit maps is an exact integer sum of squares divided once (cv2.norm's uint8 path is not)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from mattebench.metrics.fast import mse_whole


def test_uint8_mse_whole_is_the_exactly_rounded_integer_mean():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, (1080, 1920), dtype=np.uint8)
    b = rng.integers(0, 256, (1080, 1920), dtype=np.uint8)
    total = int(((a.astype(np.int64) - b.astype(np.int64)) ** 2).sum())  # the literal definition, in Python ints
    exact = Fraction(total, 255 * 255 * a.size)
    got = mse_whole(a, b)
    # one product and one division of exact integers: within 2 ulp of the true rational value
    assert abs(Fraction(got) - exact) <= 2 * np.spacing(float(exact))
    assert got == total * (1.0 / 255.0) * (1.0 / 255.0) / a.size

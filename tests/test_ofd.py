"""One-Frame Delay on synthetic flicker: isolated flicker removed, true motion kept."""

from __future__ import annotations

import numpy as np
from mattebench.methods.ofd import OneFrameDelay, ofd_frame, one_frame_delay


def moving_square(n=8, h=24, w=40, side=8, speed=2):
    frames = []
    for t in range(n):
        a = np.zeros((h, w), np.float32)
        a[8 : 8 + side, 2 + speed * t : 2 + speed * t + side] = 1.0
        frames.append(a)
    return frames


def test_hand_case_single_pixel():
    prev, nxt = np.array([[0.2, 0.0, 1.0]]), np.array([[0.25, 1.0, 1.0]])
    cur = np.array([[0.9, 0.5, 0.85]])
    # pixel 0: neighbours agree (0.05), cur differs by 0.7 and 0.65 -> mean 0.225
    # pixel 1: neighbours disagree (motion) -> kept; pixel 2: jump 0.15 <= FAR -> kept
    np.testing.assert_allclose(ofd_frame(prev, cur, nxt), [[0.225, 0.5, 0.85]], atol=1e-6)


def test_isolated_flicker_removed_and_motion_kept():
    clean = moving_square()
    rng = np.random.default_rng(0)
    noisy = [a.copy() for a in clean]
    flips = {}
    for t in range(1, len(clean) - 1):  # flicker pixels in the middle frames, one frame each
        ys, xs = rng.integers(0, 24, 6), rng.integers(0, 40, 6)
        noisy[t][ys, xs] = 1.0 - noisy[t][ys, xs]
        flips[t] = (ys, xs)
    out = list(one_frame_delay(noisy))
    assert len(out) == len(noisy)
    for t in range(1, len(clean) - 1):
        ys, xs = flips[t]
        # a flip where the neighbours agree is removed; one on the moving edge cannot be told from motion
        agree = np.abs(clean[t - 1][ys, xs] - clean[t + 1][ys, xs]) <= 0.1
        np.testing.assert_allclose(out[t][ys[agree], xs[agree]], clean[t][ys[agree], xs[agree]])
    # without flicker, OFD changes nothing: the square moves 2 px/frame and is 8 px wide
    for a, b in zip(one_frame_delay(clean), clean):
        np.testing.assert_array_equal(a, b)


def test_streaming_lags_one_frame_and_first_last_pass_through():
    frames = [np.full((2, 2), v, np.float32) for v in (0.0, 1.0, 0.0, 0.0)]
    ofd = OneFrameDelay()
    assert ofd.push(frames[0]) is None
    np.testing.assert_array_equal(ofd.push(frames[1]), frames[0])
    np.testing.assert_array_equal(ofd.push(frames[2]), np.zeros((2, 2)))  # frame 1 was a flicker
    np.testing.assert_array_equal(ofd.push(frames[3]), frames[2])
    np.testing.assert_array_equal(ofd.flush(), frames[3])


def test_known_limit_thin_fast_structure_is_removed():
    # a 1-px line moving 3 px per frame is at each pixel for one frame only: OFD takes it for flicker
    frames = []
    for t in range(3):
        a = np.zeros((4, 12), np.float32)
        a[:, 2 + 3 * t] = 1.0
        frames.append(a)
    assert ofd_frame(*frames).max() == 0.0

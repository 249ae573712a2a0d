"""MODNet losses (paper eq. 2-5 and the official variant) and the shared loss terms on hand-checkable inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from mattebench_baselines.modnet.training import (
    _blur_kernel,
    official_loss,
    paper_loss,
    thumbnail,
)

from mattebench.methods.train.losses import compositional_l1, masked_mean, unknown_mask


def test_blur_kernel_is_official_3x3_gaussian():
    # 1-D Gaussian, sigma 0.8, radius int(4 * 0.8 + 0.5) = 3, folded back by scipy's 'reflect' border onto a
    # 3-tap impulse: centre w0 + 2 w3, sides w1 + w2; the 2-D kernel is the outer product.
    w = np.exp(-np.arange(4) ** 2 / (2 * 0.8**2))
    w = w / (w[0] + 2 * w[1:].sum())
    k1 = np.array([w[1] + w[2], w[0] + 2 * w[3], w[1] + w[2]])
    np.testing.assert_allclose(_blur_kernel(), np.outer(k1, k1), rtol=1e-6)
    assert _blur_kernel().sum() == pytest.approx(1.0)


def test_thumbnail_of_constant_and_of_halves():
    assert torch.allclose(thumbnail(torch.full((1, 1, 64, 64), 0.25)), torch.full((1, 1, 4, 4), 0.25))
    a = torch.zeros(1, 1, 64, 64)
    a[..., 32:] = 1.0  # right half: the 1/16 thumbnail is [0 0 1 1] per row; the blur mixes the middle columns
    t = thumbnail(a)[0, 0, 0]
    side = float(_blur_kernel()[:, 0].sum())  # weight of one side column of the 3x3 kernel
    # reflect padding: column 0 sees [0, 0, 0] -> 0, column 3 sees [1, 1, 1] -> 1; column 1 sees [0, 0, 1] -> side
    assert float(t[0]) == pytest.approx(0.0, abs=1e-7) and float(t[3]) == pytest.approx(1.0, abs=1e-6)
    assert float(t[1]) == pytest.approx(side, rel=1e-5) and float(t[2]) == pytest.approx(1 - side, rel=1e-5)


def _case(alpha=0.5, s=0.3, d=0.7, a=0.2, image=0.5, unknown=True):
    shape = (1, 1, 32, 32)
    batch = {
        "alpha": torch.full(shape, alpha),
        "trimap": torch.full(shape, 0.5 if unknown else 1.0),
        "image": torch.full((1, 3, 32, 32), image),
        "fg": torch.ones(1, 3, 32, 32),
        "bg": torch.zeros(1, 3, 32, 32),
    }
    return torch.full((1, 1, 2, 2), s), torch.full(shape, d), torch.full(shape, a), batch


def test_paper_loss_hand_values():
    total, parts = paper_loss(*_case())
    # L_s = 1/2 (0.3 - 0.5)^2 = 0.02; L_d = |0.7 - 0.5| = 0.2 (x10 = 2); L_a = |0.2 - 0.5| = 0.3;
    # L_c = |0.2 * 1 + 0.8 * 0 - 0.5| = 0.3; total 2.62
    assert float(parts["semantic"]) == pytest.approx(0.02, abs=1e-6)
    assert float(parts["detail"]) == pytest.approx(2.0, abs=1e-6)
    assert float(parts["matte"]) == pytest.approx(0.3, abs=1e-6)
    assert float(parts["comp"]) == pytest.approx(0.3, abs=1e-6)
    assert float(total) == pytest.approx(2.62, abs=1e-5)


def test_paper_detail_loss_counts_only_transition_pixels():
    s, d, a, batch = _case()
    batch["trimap"][..., :, 16:] = 1.0  # right half known: its large detail errors must not count
    d = d.clone()
    d[..., :, 16:] = 0.0
    _, parts = paper_loss(s, d, a, batch)
    assert float(parts["detail"]) == pytest.approx(2.0, abs=1e-6)


def test_official_loss_hand_values():
    total, parts = official_loss(*_case())
    # semantic 10 (0.2)^2 = 0.4; detail 10 * 0.2 = 2; matte 0.3 + 4 * 0.3 = 1.5;
    # the image is 0.5 -> 0 in [-1, 1]: the image * alpha terms vanish
    assert float(parts["semantic"]) == pytest.approx(0.4, abs=1e-6)
    assert float(parts["detail"]) == pytest.approx(2.0, abs=1e-6)
    assert float(parts["matte"]) == pytest.approx(1.5, abs=1e-6)
    assert float(parts["comp"]) == pytest.approx(0.0, abs=1e-7)
    assert float(total) == pytest.approx(3.9, abs=1e-5)
    # all known (trimap 1): detail and boundary terms compare the trimap with itself / with alpha
    total, parts = official_loss(*_case(image=1.0, unknown=False))
    assert float(parts["detail"]) == 0.0
    # matte = |0.2 - 0.5| + 4 |1 - 0.5| = 2.3; comp on image 1 -> 1 in [-1, 1]: the same 2.3
    assert float(parts["matte"]) == pytest.approx(2.3, abs=1e-6)
    assert float(parts["comp"]) == pytest.approx(2.3, abs=1e-6)


def test_shared_terms():
    alpha = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]]])
    fg, bg = torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    image = torch.full((1, 3, 2, 2), 0.5)
    # composite = alpha; |alpha - 0.5| = 0.5, 0, 0.5, 0.25 -> mean 0.3125
    assert float(compositional_l1(alpha, fg, bg, image)) == pytest.approx(0.3125)
    mask = unknown_mask(torch.tensor([[[[0.5, 0.0], [1.0, 0.5]]]]))
    assert mask.flatten().tolist() == [1.0, 0.0, 0.0, 1.0]
    assert float(masked_mean(alpha, mask)) == pytest.approx(0.125)
    empty = masked_mean(alpha, torch.zeros_like(alpha))
    assert float(empty) == 0.0 and not math.isnan(float(empty))


def test_loss_weights_switch_terms_off_for_the_ablation():
    """Table 3: lambda_s = 0 / lambda_d = 0 remove L_s / L_d; the other terms are unchanged."""
    args = _case()
    total, parts = paper_loss(*args)
    total0, parts0 = paper_loss(*args, lambda_s=0.0, lambda_d=0.0)
    assert float(parts0["semantic"]) == 0.0 and float(parts0["detail"]) == 0.0
    assert float(parts0["matte"]) == float(parts["matte"]) and float(parts0["comp"]) == float(parts["comp"])
    assert abs(float(total0) - float(parts["matte"] + parts["comp"])) < 1e-6
    _, parts2 = paper_loss(*args, lambda_s=2.0)
    assert abs(float(parts2["semantic"]) - 2.0 * float(parts["semantic"])) < 1e-7


def test_method_passes_loss_weights_to_either_variant():
    import mattebench

    for loss in ("paper", "official"):
        with pytest.warns(UserWarning, match="UNTRAINED"):
            m = mattebench.create_method("modnet", loss=loss, lambda_s=0.0, lambda_d=0.0)
        g = torch.Generator().manual_seed(0)
        alpha = torch.rand(1, 1, 64, 64, generator=g)
        fg, bg = torch.rand(1, 3, 64, 64, generator=g), torch.rand(1, 3, 64, 64, generator=g)
        batch = {"image": alpha * fg + (1 - alpha) * bg, "alpha": alpha, "trimap": torch.full_like(alpha, 0.5), "fg": fg, "bg": bg}
        _, parts = m.training_step(batch)
        assert parts["semantic"] == 0.0 and parts["detail"] == 0.0, loss

"""SOC (eq. 6-8): frozen copy, frozen norm layers, loss values, no NaN without transition pixels."""

from __future__ import annotations

import warnings

import torch
import torch.nn as nn
from mattebench_baselines.modnet import create_modnet
from mattebench_baselines.modnet.training import (
    adapt,
    soc_loss,
    thumbnail,
    transition_region,
)


def _method():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_modnet()


def test_soc_loss_hand_values():
    s = torch.full((1, 1, 2, 2), 0.3)
    a = torch.full((1, 1, 32, 32), 0.5)
    d = torch.full((1, 1, 32, 32), 0.8)
    d0 = torch.full((1, 1, 32, 32), 0.6)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., :4, :] = 1
    total, parts = soc_loss(s, d, a, d0, mask)
    # G(a) = 0.5 everywhere: 1/2 (0.5 - 0.3)^2 = 0.02; |0.5 - 0.8| = 0.3; |0.6 - 0.8| = 0.2 on the mask
    assert torch.allclose(thumbnail(a), torch.full((1, 1, 2, 2), 0.5))
    assert abs(float(parts["cons_semantic"]) - 0.02) < 1e-6
    assert abs(float(parts["cons_detail"]) - 0.3) < 1e-6
    assert abs(float(parts["dd"]) - 0.2) < 1e-6
    assert abs(float(total) - 0.52) < 1e-6


def test_no_transition_pixels_gives_finite_loss():
    s = torch.zeros(1, 1, 2, 2, requires_grad=True)
    a = torch.zeros(1, 1, 32, 32, requires_grad=True)  # pure background: no boundary at all
    d = torch.zeros(1, 1, 32, 32, requires_grad=True)
    assert transition_region(a, s).sum() == 0
    total, _ = soc_loss(s, d, a, torch.zeros(1, 1, 32, 32))
    total.backward()
    assert torch.isfinite(total) and torch.isfinite(d.grad).all()


def test_transition_region_is_band_around_foreground():
    a = torch.zeros(1, 1, 64, 64)
    a[..., 16:48, 16:48] = 1
    s = torch.ones(1, 1, 4, 4)
    m = transition_region(a, s)[0, 0]
    assert m[32, 32] == 0 and m[0, 0] == 0 and m[16, 32] == 1 and m[47, 32] == 1
    side = int(64 * 0.05)  # 3: the band is one pixel out and one pixel in at each of the two edges
    assert int(m[32].sum()) == 2 * 2 * (side // 2)


def test_adapt_freezes_norms_keeps_m0_and_changes_convs(tmp_path):
    method = _method()
    model = method.model
    bn = model.hr_branch.conv_hr4x[0].layers[1].bnorm
    before = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    images = [torch.rand(1, 3, 64, 64, generator=g) * 2 - 1 for _ in range(2)]
    rows = adapt(model, lambda: iter(images), steps=3, lr=1e-3, out=tmp_path, save=method.save_checkpoint, log_every=1, progress=False)
    assert len(rows) == 3 and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    after = model.state_dict()
    assert torch.equal(after["hr_branch.conv_hr4x.0.layers.1.bnorm.running_mean"], before["hr_branch.conv_hr4x.0.layers.1.bnorm.running_mean"])
    assert torch.equal(bn.weight, before["hr_branch.conv_hr4x.0.layers.1.bnorm.weight"]) and not bn.weight.requires_grad
    assert not torch.equal(after["f_branch.conv_f2x.layers.0.weight"], before["f_branch.conv_f2x.layers.0.weight"])
    assert (tmp_path / "soc.ckpt").exists() and (tmp_path / "soc.csv").exists()
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))

"""MODNet v1: parameter count, official checkpoint format, module equality with an independent reading of
the released code (github.com/ZHKKKe/MODNet) and the paper, preprocessing sizes, e-ASPP (eq. 13)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mattebench_baselines.modnet import create_modnet, create_modnet_easpp
from mattebench_baselines.modnet.blocks import (
    EASPP,
    Conv,
    IBNorm,
    SEBlock,
    aspp_parameters,
    easpp_parameters,
)
from mattebench_baselines.modnet.checkpoints import save_weights
from mattebench_baselines.modnet.inference import inference_size
from mattebench_baselines.modnet.model import MODNet, count_parameters

from mattebench.errors import CheckpointError


# -- the official key list, written from the facts file (not from the model) ------------------------------
def _bn(prefix, c):
    return {f"{prefix}.weight": (c,), f"{prefix}.bias": (c,), f"{prefix}.running_mean": (c,), f"{prefix}.running_var": (c,), f"{prefix}.num_batches_tracked": ()}


def _mobilenet_keys():
    keys = {"features.0.0.weight": (32, 3, 3, 3), **_bn("features.0.1", 32)}
    settings = [(1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1)]
    cin, idx = 32, 1
    for t, c, n in settings:
        for _ in range(n):
            p, hid = f"features.{idx}.conv", cin * t
            if t == 1:
                keys.update({f"{p}.0.weight": (hid, 1, 3, 3), **_bn(f"{p}.1", hid), f"{p}.3.weight": (c, hid, 1, 1), **_bn(f"{p}.4", c)})
            else:
                keys.update({f"{p}.0.weight": (hid, cin, 1, 1), **_bn(f"{p}.1", hid), f"{p}.3.weight": (hid, 1, 3, 3), **_bn(f"{p}.4", hid),
                             f"{p}.6.weight": (c, hid, 1, 1), **_bn(f"{p}.7", c)})
            cin, idx = c, idx + 1
    keys.update({"features.18.0.weight": (1280, 320, 1, 1), **_bn("features.18.1", 1280)})
    return keys


def _conv_keys(prefix, cin, cout, k, plain=False):
    keys = {f"{prefix}.layers.0.weight": (cout, cin, k, k), f"{prefix}.layers.0.bias": (cout,)}
    if not plain:
        keys.update(_bn(f"{prefix}.layers.1.bnorm", cout // 2))
    return keys


def official_keys():
    keys = {}
    for k, v in _mobilenet_keys().items():
        keys[f"backbone.model.{k}"] = v
        keys[f"lr_branch.backbone.model.{k}"] = v
    keys.update({"lr_branch.se_block.fc.0.weight": (320, 1280), "lr_branch.se_block.fc.2.weight": (1280, 320)})
    keys.update(_conv_keys("lr_branch.conv_lr16x", 1280, 96, 5))
    keys.update(_conv_keys("lr_branch.conv_lr8x", 96, 32, 5))
    keys.update(_conv_keys("lr_branch.conv_lr", 32, 1, 3, plain=True))
    h = "hr_branch"
    keys.update(_conv_keys(f"{h}.tohr_enc2x", 16, 32, 1))
    keys.update(_conv_keys(f"{h}.conv_enc2x", 35, 32, 3))
    keys.update(_conv_keys(f"{h}.tohr_enc4x", 24, 32, 1))
    keys.update(_conv_keys(f"{h}.conv_enc4x", 64, 64, 3))
    for i, (a, b) in enumerate([(99, 64), (64, 64), (64, 32)]):
        keys.update(_conv_keys(f"{h}.conv_hr4x.{i}", a, b, 3))
    for i, (a, b) in enumerate([(64, 64), (64, 32), (32, 32), (32, 32)]):
        keys.update(_conv_keys(f"{h}.conv_hr2x.{i}", a, b, 3))
    keys.update(_conv_keys(f"{h}.conv_hr.0", 35, 32, 3))
    keys.update(_conv_keys(f"{h}.conv_hr.1", 32, 1, 1, plain=True))
    keys.update(_conv_keys("f_branch.conv_lr4x", 32, 32, 5))
    keys.update(_conv_keys("f_branch.conv_f2x", 64, 32, 3))
    keys.update(_conv_keys("f_branch.conv_f.0", 35, 16, 3))
    keys.update(_conv_keys("f_branch.conv_f.1", 16, 1, 1, plain=True))
    return keys


def official_state_dict(seed=0):
    """A random state_dict in the release format: DataParallel prefix, the backbone twice (same tensors)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in official_keys().items():
        if k.startswith("lr_branch.backbone."):
            continue
        if k.endswith("num_batches_tracked"):
            t = torch.tensor(1000)
        elif k.endswith("running_var"):
            t = torch.rand(shape, generator=g) + 0.5
        else:
            t = torch.randn(shape, generator=g) * 0.1
        state[k] = t
    for k in list(state):
        if k.startswith("backbone."):
            state["lr_branch." + k] = state[k]
    return {"module." + k: v for k, v in state.items()}


@pytest.fixture(scope="module")
def official_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "modnet_photographic_portrait_matting.ckpt"
    torch.save(official_state_dict(), path)
    return path


def quiet_modnet(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return create_modnet(**kw)


# -- sizes and keys ----------------------------------------------------------------------------------------
def test_parameter_count_matches_release():
    m = MODNet()
    assert count_parameters(m) == 6_487_075
    assert count_parameters(m, heads=False) == 6_476_609


def test_official_key_list_counts():
    keys = official_keys()
    assert len(keys) == 751
    n_buffers = sum(k.endswith(("running_mean", "running_var", "num_batches_tracked")) for k in keys)
    assert (len(keys) - n_buffers, n_buffers) == (388, 363)
    model_sd = MODNet().state_dict()
    assert {k: tuple(v.shape) for k, v in model_sd.items()} == keys


def test_strict_load_of_official_format(official_file):
    method = quiet_modnet(checkpoint=str(official_file))
    ref = torch.load(official_file, weights_only=True)
    sd = method.model.state_dict()
    for k, v in ref.items():
        assert torch.equal(sd[k[len("module."):]], v), k
    assert "official" in method.checkpoint["format"]


def test_load_without_module_prefix_and_project_roundtrip(tmp_path, official_file):
    plain = {k[len("module."):]: v for k, v in torch.load(official_file, weights_only=True).items()}
    torch.save(plain, tmp_path / "plain.ckpt")
    a = quiet_modnet(checkpoint=str(tmp_path / "plain.ckpt"))
    a.save_checkpoint(tmp_path / "own.ckpt")
    b = quiet_modnet(checkpoint=str(tmp_path / "own.ckpt"))
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k])
    assert b.checkpoint["format"] == "mattebench checkpoint"
    # the twice-registered backbone is stored once: the file is about the size of the release (26 MB)
    assert (tmp_path / "own.ckpt").stat().st_size < 28_000_000


def test_load_errors_list_keys_and_expected_format(tmp_path, official_file):
    state = torch.load(official_file, weights_only=True)
    del state["module.f_branch.conv_f.1.layers.0.bias"]
    state["module.extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "bad.ckpt")
    with pytest.raises(CheckpointError) as e:
        quiet_modnet(checkpoint=str(tmp_path / "bad.ckpt"))
    msg = str(e.value)
    assert "missing keys: f_branch.conv_f.1.layers.0.bias" in msg
    assert "unexpected keys: extra.weight" in msg
    assert "Expected the official MODNet state_dict" in msg
    with pytest.raises(CheckpointError, match="not found"):
        quiet_modnet(checkpoint=str(tmp_path / "nope.ckpt"))
    backbone = {k.split("backbone.model.", 1)[1]: v for k, v in state.items() if k.startswith("module.backbone.")}
    torch.save(backbone, tmp_path / "mobilenetv2_human_seg.ckpt")
    with pytest.raises(CheckpointError, match="backbone"):
        quiet_modnet(checkpoint=str(tmp_path / "mobilenetv2_human_seg.ckpt"))
    m = quiet_modnet(backbone_checkpoint=str(tmp_path / "mobilenetv2_human_seg.ckpt"))
    assert torch.equal(m.model.lr_branch.backbone.model.features[5].conv[3].weight, backbone["features.5.conv.3.weight"])
    with pytest.raises(CheckpointError, match="modnet-easpp"):
        e_ = MODNet(context="easpp")
        save_weights(e_, tmp_path / "e.ckpt", "easpp")
        quiet_modnet(checkpoint=str(tmp_path / "e.ckpt"))


def test_untrained_warning():
    with pytest.warns(UserWarning, match="UNTRAINED"):
        create_modnet()


# -- modules against an independent reading of the facts ------------------------------------------------
def _randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point:
                t.copy_(torch.rand(t.shape, generator=g) + 0.5 if "running_var" in name else torch.randn(t.shape, generator=g) * 0.3)
    return module


def _ibnorm_by_hand(x, bn_w, bn_b, mean, var, eps=1e-5):
    half = x.shape[1] // 2
    a = x[:, :half]
    a = (a - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps) * bn_w[None, :, None, None] + bn_b[None, :, None, None]
    b = x[:, half:]
    mu = b.mean(dim=(2, 3), keepdim=True)
    sd = ((b - mu) ** 2).mean(dim=(2, 3), keepdim=True)
    return torch.cat([a, (b - mu) / torch.sqrt(sd + eps)], 1)


def test_ibnorm_eval_matches_hand_computation():
    m = _randomise(IBNorm(6)).eval()
    x = torch.randn(2, 6, 5, 7)
    exp = _ibnorm_by_hand(x, m.bnorm.weight, m.bnorm.bias, m.bnorm.running_mean, m.bnorm.running_var)
    torch.testing.assert_close(m(x), exp, atol=1e-5, rtol=1e-5)


def test_conv_block_and_se_block_by_hand():
    c = _randomise(Conv(4, 6, 3, stride=2)).eval()
    x = torch.randn(1, 4, 8, 8)
    w, b = c.layers[0].weight, c.layers[0].bias
    y = F.conv2d(x, w, b, stride=2, padding=1)
    bn = c.layers[1].bnorm
    exp = torch.relu(_ibnorm_by_hand(y, bn.weight, bn.bias, bn.running_mean, bn.running_var))
    torch.testing.assert_close(c(x), exp, atol=1e-5, rtol=1e-5)

    se = _randomise(SEBlock(8, reduction=4))
    x = torch.randn(2, 8, 3, 3)
    pooled = x.mean(dim=(2, 3))
    w1, w2 = se.fc[0].weight, se.fc[2].weight
    weights = torch.sigmoid(torch.relu(pooled @ w1.T) @ w2.T)
    torch.testing.assert_close(se(x), x * weights[:, :, None, None], atol=1e-6, rtol=1e-6)


def test_fusion_branch_by_hand():
    model = _randomise(MODNet()).eval()
    f = model.f_branch
    img = torch.randn(1, 3, 32, 32)
    lr8x, hr2x = torch.randn(1, 32, 4, 4), torch.randn(1, 32, 16, 16)

    def c(block, x, stride=1):
        conv = block.layers[0]
        y = F.conv2d(x, conv.weight, conv.bias, stride=stride, padding=conv.kernel_size[0] // 2)
        if len(block.layers) == 1:
            return y
        bn = block.layers[1].bnorm
        return torch.relu(_ibnorm_by_hand(y, bn.weight, bn.bias, bn.running_mean, bn.running_var))

    up = lambda t: F.interpolate(t, scale_factor=2, mode="bilinear", align_corners=False)  # noqa: E731
    lr2 = up(c(f.conv_lr4x, up(lr8x)))
    f2 = c(f.conv_f2x, torch.cat([lr2, hr2x], 1))
    exp = torch.sigmoid(c(f.conv_f[1], c(f.conv_f[0], torch.cat([up(f2), img], 1))))
    torch.testing.assert_close(f(img, lr8x, hr2x), exp, atol=1e-5, rtol=1e-5)


def test_inverted_residual_by_hand():
    model = _randomise(MODNet()).eval()
    block = model.backbone.model.features[5]  # t=6, 32 -> 32, stride 1: residual
    x = torch.randn(1, 32, 6, 6)
    s = block.conv

    def bn(m, y):
        return (y - m.running_mean[None, :, None, None]) / torch.sqrt(m.running_var[None, :, None, None] + 1e-5) * m.weight[None, :, None, None] + m.bias[None, :, None, None]

    y = torch.clamp(bn(s[1], F.conv2d(x, s[0].weight)), 0, 6)
    y = torch.clamp(bn(s[4], F.conv2d(y, s[3].weight, padding=1, groups=192)), 0, 6)
    y = bn(s[7], F.conv2d(y, s[6].weight))
    torch.testing.assert_close(block(x), x + y, atol=1e-5, rtol=1e-5)


def test_matte_does_not_depend_on_training_heads():
    model = _randomise(MODNet()).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        s, d, a = model(x, False)
        s2, d2, a2 = model(x, True)
    assert s2 is None and d2 is None
    assert s.shape == (1, 1, 4, 6) and d.shape == a.shape == (1, 1, 64, 96)
    torch.testing.assert_close(a, a2)


# -- preprocessing ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "h,w,expected",
    [
        (300, 400, (512, 672)),   # max < 512: short side to 512, long int(400/300*512)=682 -> 672
        (400, 300, (672, 512)),   # same, portrait orientation
        (1000, 1500, (512, 768)),  # min > 512: short side to 512, long int(1.5*512)=768
        (400, 1000, (384, 992)),  # min <= 512 <= max: kept, rounded down to multiples of 32
        (512, 512, (512, 512)),
        (20, 600, (32, 576)),     # a side that would round to 0 is kept at 32 (guard)
    ],
)
def test_inference_size_rule(h, w, expected):
    assert inference_size(h, w) == expected


def test_predict_returns_image_size_float_alpha(official_file):
    method = quiet_modnet(checkpoint=str(official_file))
    img = (np.random.default_rng(0).random((45, 70, 3)) * 255).astype(np.uint8)
    a = method.predict(img)
    assert a.shape == (45, 70) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
    b = method.predict_batch([img, img[:40]])
    np.testing.assert_allclose(b[0], a, atol=1e-6)
    assert b[1].shape == (40, 70)


# -- e-ASPP ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [64, 256, 1280])
def test_easpp_parameters_follow_eq13(c):
    m = EASPP(c)
    assert sum(p.numel() for p in m.parameters()) == easpp_parameters(c, 3, 5) == (2 * c * c + 10 * 5 * c) // 4
    if c >= 256:  # Appendix A: about 1% of ASPP's parameters for c >= 256
        assert easpp_parameters(c) / aspp_parameters(c) < 0.012


def test_easpp_multiscale_fusion_is_depthwise_over_scales():
    m = _randomise(EASPP(8, dilations=(1, 2))).eval()
    x = torch.randn(1, 8, 6, 6)
    r = m.reduce(x)
    feats = [conv(r) for conv in m.extract]
    w = m.fuse_scales.weight.view(2, 2)  # (channel, scale)
    fused = torch.stack([w[ch, 0] * feats[0][:, ch] + w[ch, 1] * feats[1][:, ch] for ch in range(2)], 1)
    torch.testing.assert_close(m(x), m.fuse_channels(m.norm(fused)), atol=1e-5, rtol=1e-5)


def test_modnet_easpp_builds_and_counts():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = create_modnet_easpp()
    assert count_parameters(m.model) == 6_487_075 - 2 * 1280 * 320 + easpp_parameters(1280)
    with torch.no_grad():
        assert m.model(torch.zeros(1, 3, 64, 64), True)[2].shape == (1, 1, 64, 64)


def test_ofd_option_corrects_clip_flicker(official_file, monkeypatch):
    """-m ofd=true: MODNet takes whole clips (predict_sequence), and a one-frame flicker in the raw mattes is removed."""
    plain = quiet_modnet(checkpoint=str(official_file))
    assert not hasattr(plain, "predict_sequence")  # without OFD, frames are predicted one by one
    method = quiet_modnet(checkpoint=str(official_file), ofd="true")
    steady = np.full((6, 8), 0.8, np.float32)
    raw = [steady, steady, np.full((6, 8), 0.1, np.float32), steady, steady]
    calls: list[int] = []

    def fake_batch(images, trimaps=None):
        start = sum(calls)
        calls.append(len(images))
        return [raw[start + i] for i in range(len(images))]

    monkeypatch.setattr(method, "predict_batch", fake_batch)
    frames = [np.zeros((6, 8, 3), np.uint8)] * len(raw)
    out = method.predict_sequence(frames, None)
    assert len(out) == len(raw) and calls == [5]
    for a in out:  # frame 2 differed from both agreeing neighbours: replaced by their mean
        np.testing.assert_allclose(a, steady)

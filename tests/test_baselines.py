"""The paper's baselines: sizes against the published figures, weight loading by key mapping,
official checkpoint formats, losses against hand-worked values, fusion rules, the shared loop."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pytest
import torch
from mattebench_baselines.common.backbones import (
    MobileNetV2Encoder,
    VGG16Encoder,
    densenet201,
    load_backbone_weights,
    map_backbone_state_dict,
    resnet50,
    resnext101_32x8d,
)
from mattebench_baselines.common.losses import (
    charbonnier,
    composition_loss,
    ssim_loss,
    trimap_classes,
    unknown_mask,
)
from mattebench_baselines.dim import DIMNet
from mattebench_baselines.fdmpa import FDMPANet
from mattebench_baselines.hatt import HAttNet, PatchDiscriminator
from mattebench_baselines.indexnet import IndexNetModel, load_indexnet_backbone
from mattebench_baselines.lfm import LFMNet
from mattebench_baselines.shm import SHMNet
from torch import nn

import mattebench
from mattebench.errors import CheckpointError


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def on_meta(ctor):
    """Build on the meta device: exact shapes and counts without allocating 130 M floats."""
    with torch.device("meta"):
        return ctor()


# -- sizes -------------------------------------------------------------------------------------
def test_encoder_sizes_match_torchvision():
    # torchvision totals minus their classifiers (fc 2048x1000+1000, densenet 1920x1000+1000)
    assert n_params(on_meta(resnet50)) == 25_557_032 - 2_049_000
    assert n_params(on_meta(resnext101_32x8d)) == 88_791_336 - 2_049_000
    assert n_params(on_meta(densenet201)) == 20_013_928 - 1_921_000
    # VGG-16 conv layers: 14,714,688 (torchvision vgg16 138,357,544 minus its three FC layers)
    assert n_params(on_meta(lambda: VGG16Encoder(3, batch_norm=False))) == 138_357_544 - (25088 * 4096 + 4096) - (4096 * 4096 + 4096) - (4096 * 1000 + 1000)


def test_dim_size_is_the_published_130_55_m():
    # Published: 130.55 M with fc6 (encoder-decoder stage; the refinement stage adds 4 small convs).
    enc_dec = n_params(on_meta(lambda: DIMNet(4, fc6=True, refine=False)))
    assert round(enc_dec / 1e6, 2) == 130.55
    refine = (4 * 64 * 9 + 64) + 2 * (64 * 64 * 9 + 64) + (64 * 9 + 1)
    assert n_params(on_meta(lambda: DIMNet(4, fc6=True, refine=True))) == enc_dec + refine
    # Without fc6: conv6 (7x7 512->4096) goes and deconv6 becomes 1x1 512->512.
    no_fc6 = n_params(on_meta(lambda: DIMNet(4, fc6=False, refine=False)))
    assert enc_dec - no_fc6 == (512 * 4096 * 49 + 4096) + (4096 * 512 + 512) - (512 * 512 + 512)


def test_indexnet_size_release_and_paper():
    assert round(n_params(on_meta(lambda: IndexNetModel(4, 2))) / 1e6, 2) == 8.15  # paper, Table
    release = n_params(on_meta(lambda: IndexNetModel(4, 1)))
    # each M2O index branch C->C (4x4) + BN + C->C (1x1); paper_size widens the hidden layer to 2C
    per_block = lambda c, h: 4 * (c * h * 16 + 2 * h + h * c)  # noqa: E731
    chans = (32, 24, 32, 64, 160)
    assert n_params(on_meta(lambda: IndexNetModel(4, 2))) - release == sum(per_block(c, 2 * c) - per_block(c, c) for c in chans)


def test_fdmpa_size_is_the_published_0_026_m():
    n = n_params(FDMPANet())
    assert round(n / 1e6, 3) == 0.026
    # hand count: conv 3->13, four dense dilated convs (16, 32, 48, 64 in), 80->2, feathering 11->8->3, BNs
    convs = (3 * 13 * 9 + 13) + sum(16 * k * 16 * 9 + 16 for k in (1, 2, 3, 4)) + (80 * 2 * 9 + 2) + (11 * 8 * 9 + 8) + (8 * 3 * 9 + 3)
    bns = 2 * (13 + 4 * 16) + 2 * 8
    assert n == convs + bns


@pytest.mark.parametrize(
    "ctor, published, tolerance",
    [
        (lambda: LFMNet(), 37.9e6, 0.02),  # "about 37.9 M"; decoder widths are our choice
        (lambda: SHMNet(), 79.27e6, 0.06),  # M-Net decoder widths unpublished (card explains)
    ],
)
def test_sizes_near_published(ctor, published, tolerance):
    n = n_params(on_meta(ctor))
    assert abs(n - published) / published < tolerance


def test_hatt_with_discriminator_is_about_107_m():
    n = n_params(on_meta(HAttNet)) + n_params(on_meta(PatchDiscriminator))
    assert abs(n - 107e6) / 107e6 < 0.01


@pytest.mark.parametrize("cls", [DIMNet, LFMNet, HAttNet, FDMPANet])
def test_dagger_variants_build_on_mobilenetv2(cls):
    kwargs = {"in_channels": 3, "backbone": "mobilenetv2"} if cls is DIMNet else {"backbone": "mobilenetv2"}
    model = on_meta(lambda: cls(**kwargs))
    keys = [k for k in model.state_dict() if ".features.0.0.weight" in k]
    assert keys, "the † variant carries MODNet's MobileNetV2 (keys features.N...)"


# -- weight files --------------------------------------------------------------------------------
def _torchvision_mobilenetv2_keys(sd: "OrderedDict[str, torch.Tensor]") -> "OrderedDict[str, torch.Tensor]":
    """MODNet-layout MobileNetV2 keys -> torchvision's nested Conv2dNormActivation keys (written
    from torchvision's documented module tree, independently of the loader's table)."""
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for k, v in sd.items():
        parts = k.split(".")
        block = int(parts[1])
        if parts[2] == "conv":
            j, rest = int(parts[3]), ".".join(parts[4:])
            if block == 1:
                new = {0: "0.0", 1: "0.1", 3: "1", 4: "2"}[j]
            else:
                new = {0: "0.0", 1: "0.1", 3: "1.0", 4: "1.1", 6: "2", 7: "3"}[j]
            k = f"features.{block}.conv.{new}.{rest}"
        out[k] = v
    out["classifier.1.weight"] = torch.zeros(1000, 1280)
    out["classifier.1.bias"] = torch.zeros(1000)
    return out


def test_torchvision_mobilenetv2_file_loads_by_key_mapping(tmp_path):
    torch.manual_seed(0)
    src = MobileNetV2Encoder(3)
    for p in src.parameters():
        nn.init.normal_(p)
    path = tmp_path / "mobilenet_v2-torchvision.pth"
    torch.save(_torchvision_mobilenetv2_keys(src.state_dict()), path)
    dst = MobileNetV2Encoder(4)  # extra (trimap) input channel
    load_backbone_weights(dst, str(path))
    for k, v in src.state_dict().items():
        w = dst.state_dict()[k]
        if k == "features.0.0.weight":
            torch.testing.assert_close(w[:, :3], v)
            assert torch.count_nonzero(w[:, 3]) == 0  # extra channel zero-initialised
        else:
            torch.testing.assert_close(w, v)


def test_sps_checkpoint_with_modnet_prefix_loads(tmp_path):
    src = MobileNetV2Encoder(3)
    nn.init.constant_(src.features[5].conv[0].weight, 0.25)
    sd = OrderedDict((f"module.backbone.model.{k}", v) for k, v in src.state_dict().items())
    torch.save(sd, tmp_path / "sps.ckpt")
    dst = MobileNetV2Encoder(3)
    load_backbone_weights(dst, str(tmp_path / "sps.ckpt"))
    assert torch.all(dst.features[5].conv[0].weight == 0.25)


def test_vgg_fc6_reshapes_into_conv6_and_densenet_old_keys_are_renamed():
    enc = on_meta(lambda: VGG16Encoder(4, batch_norm=True, fc6=True))
    mapped = map_backbone_state_dict(enc, OrderedDict({"classifier.0.weight": torch.empty(4096, 25088, device="meta"),
                                                       "classifier.6.weight": torch.empty(1000, 4096, device="meta")}))
    assert tuple(mapped["conv6.weight"].shape) == (4096, 512, 7, 7) and "classifier.6.weight" not in mapped
    dense = on_meta(densenet201)
    old = OrderedDict({"features.denseblock1.denselayer1.norm.1.weight": torch.empty(64, device="meta")})
    assert "features.denseblock1.denselayer1.norm1.weight" in map_backbone_state_dict(dense, old)


def test_mismatched_weight_file_names_missing_keys(tmp_path):
    torch.save({"features.0.0.weight": torch.zeros(32, 3, 3, 3)}, tmp_path / "partial.pth")
    with pytest.raises(CheckpointError, match="missing"):
        load_backbone_weights(MobileNetV2Encoder(3), str(tmp_path / "partial.pth"))
    with pytest.raises(CheckpointError, match="does not exist"):
        load_backbone_weights(MobileNetV2Encoder(3), str(tmp_path / "nope.pth"))


def test_official_indexnet_checkpoint_format_loads(tmp_path):
    torch.manual_seed(0)
    official = IndexNetModel(4)
    for m in official.modules():
        if isinstance(m, nn.BatchNorm2d):
            nn.init.uniform_(m.running_mean, -0.1, 0.1)
    # the release: {"state_dict": {"module.<key>": ...}, ...} saved from nn.DataParallel, PyTorch 0.4.0
    sd = OrderedDict((f"module.{k}", v) for k, v in official.state_dict().items() if not k.endswith("num_batches_tracked"))
    torch.save({"epoch": 30, "state_dict": sd, "best_pred": 0.0}, tmp_path / "indexnet_matting.pth.tar")
    method = mattebench.create_method("indexnet", checkpoint=str(tmp_path / "indexnet_matting.pth.tar"))
    for k, v in official.state_dict().items():
        if not k.endswith("num_batches_tracked"):
            torch.testing.assert_close(method.model.state_dict()[k], v)


def test_indexnet_encoder_from_mobilenetv2_weights(tmp_path):
    src = MobileNetV2Encoder(3)
    nn.init.constant_(src.features[5].conv[0].weight, 0.5)  # features.5 = second block of layer3
    nn.init.constant_(src.features[0][0].weight, 0.125)
    torch.save(src.state_dict(), tmp_path / "mbv2.pth")
    model = IndexNetModel(4)
    load_indexnet_backbone(model, str(tmp_path / "mbv2.pth"))
    assert torch.all(model.layer3[1].conv[0].weight == 0.5)
    assert torch.all(model.layer0[0].weight[:, :3] == 0.125) and torch.all(model.layer0[0].weight[:, 3] == 0)


def test_checkpoint_round_trip_and_clear_mismatch(tmp_path):
    a = mattebench.create_method("fdmpa")
    for p in a.model.parameters():
        nn.init.normal_(p, std=0.1)
    a.save_checkpoint(tmp_path / "fdmpa.ckpt")
    b = mattebench.create_method("fdmpa", checkpoint=str(tmp_path / "fdmpa.ckpt"))
    img = np.random.default_rng(0).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    np.testing.assert_array_equal(a.predict(img), b.predict(img))
    with pytest.raises(CheckpointError, match="does not match"):
        mattebench.create_method("indexnet", checkpoint=str(tmp_path / "fdmpa.ckpt"))


# -- losses and fusion rules ------------------------------------------------------------------------
def test_charbonnier_and_composition_by_hand():
    pred, target = torch.tensor([[[[0.0, 0.5]]]]), torch.zeros(1, 1, 1, 2)
    expected = (1e-6 + math.sqrt(0.25 + 1e-12)) / 2
    assert abs(float(charbonnier(pred, target)) - expected) < 1e-7
    mask = torch.tensor([[[[0.0, 1.0]]]])
    assert abs(float(charbonnier(pred, target, mask)) - math.sqrt(0.25 + 1e-12)) < 1e-7
    # white fg over black bg: predicted alpha 1 vs true 0.5 -> composite 1 vs 0.5 on all 3 channels
    batch = {"alpha": torch.full((1, 1, 1, 1), 0.5), "fg": torch.ones(1, 3, 1, 1), "bg": torch.zeros(1, 3, 1, 1)}
    assert abs(float(composition_loss(torch.ones(1, 1, 1, 1), batch)) - math.sqrt(0.25 + 1e-12)) < 1e-7


def test_trimap_helpers_and_ssim():
    tri = torch.tensor([[[[0.0, 0.5, 1.0, 0.502]]]])
    assert unknown_mask(tri).flatten().tolist() == [0.0, 1.0, 0.0, 1.0]
    assert trimap_classes(tri).flatten().tolist() == [0, 1, 2, 1]
    x = torch.rand(1, 1, 16, 16)
    assert abs(float(ssim_loss(x, x))) < 1e-6
    assert float(ssim_loss(x, 1 - x)) > 0.5


def test_shm_fusion_follows_the_trimap():
    torch.manual_seed(0)
    net = SHMNet("mobilenetv2").eval()
    x = torch.randn(1, 3, 32, 32)
    prob = torch.zeros(1, 3, 32, 32)
    prob[:, 2, :, :16] = 1  # foreground on the left half
    prob[:, 1, :, 16:] = 1  # unknown on the right half
    with torch.no_grad():
        out = net.matting(x, prob)
    assert torch.all(out["alpha"][..., :16] == 1)  # F_s = 1, U_s = 0
    torch.testing.assert_close(out["alpha"][..., 16:], out["alpha_r"][..., 16:])  # alpha = alpha_r where unknown


def test_fdmpa_feathering_is_a_guided_combination():
    net = FDMPANet().eval()
    with torch.no_grad():  # make (a, b, c) = (2, -1, 0.5) everywhere
        net.feathering.conv2.weight.zero_()
        net.feathering.conv2.bias.copy_(torch.tensor([2.0, -1.0, 0.5]))
        out = net(torch.rand(1, 3, 16, 16))
    prob = torch.softmax(out["seg_logits"], 1)
    torch.testing.assert_close(out["alpha"], torch.sigmoid(2 * prob[:, 1:2] - prob[:, 0:1] + 0.5))


def test_lfm_blends_foreground_and_background():
    net = LFMNet("mobilenetv2").eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 64))
    torch.testing.assert_close(out["alpha"], out["beta"] * out["fg"] + (1 - out["beta"]) * (1 - out["bg"]))


def test_trimap_based_methods_need_a_trimap_and_keep_known_regions():
    m = mattebench.create_method("indexnet")
    img = np.full((40, 40, 3), 128, np.uint8)
    tri = np.zeros((40, 40), np.uint8)
    tri[10:30] = 128
    tri[18:22] = 255
    a = m.predict(img, tri)
    assert a.shape == (40, 40) and np.all(a[tri == 0] == 0) and np.all(a[tri == 255] == 1)
    with pytest.raises(mattebench.MattebenchError, match="trimap"):
        m.predict(img)


def test_indexnet_trimap_free_option_changes_the_input():
    m = mattebench.create_method("indexnet", trimap=False)
    assert not m.needs_trimap and m.model.layer0[0].weight.shape[1] == 3
    assert m.predict(np.zeros((32, 32, 3), np.uint8)).shape == (32, 32)


# -- the shared training loop ------------------------------------------------------------------------
# Multi-stage schedules through the real loop; the heavier ones are slow (their training_step is
# also covered by tests/test_method_contract.py).
LOOP_CASES = [
    ("fdmpa", {}),
    ("indexnet", {}),
    pytest.param("dim-free", {"backbone": "mobilenetv2"}, marks=pytest.mark.slow),
    pytest.param("lfm", {"backbone": "mobilenetv2"}, marks=pytest.mark.slow),
    pytest.param("bshm", {"backbone": "mobilenetv2"}, marks=pytest.mark.slow),
    pytest.param("hatt", {"backbone": "mobilenetv2"}, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("name, options", LOOP_CASES)
def test_every_stage_trains_through_the_shared_loop(name, options, tmp_path, tiny):
    from mattebench.methods.train import train

    method = mattebench.create_method(name, **options)
    before = {k: v.clone() for k, v in method.model.state_dict().items()}
    stages = [s for s, _ in method.train_stages]
    steps = math.ceil(1 / min(f for _, f in method.train_stages))  # every stage gets at least one step
    result = train(method, tiny, steps=steps, size=64, batch=2, out=tmp_path / "run", progress=False, log_every=1, save_every=10_000)
    log = (tmp_path / "run" / "loss.csv").read_text()
    for stage in stages:
        assert f",{stage}," in log
    moved = [k for k, v in method.model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert moved
    assert result is not None

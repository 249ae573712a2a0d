"""MODNet on the shared parts (issue 14, item 5): one factory with three settings, the torch base class, one
``resolve_device``, one checkpoint module underneath MODNet's, one file hash for the project."""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
import warnings
from pathlib import Path
from typing import Annotated, Optional

import mattebench_baselines.modnet as modnet
import numpy as np
import pytest
import torch
from mattebench_baselines.common import checkpoints as common_ckpt
from mattebench_baselines.common.torch_method import TorchMattingMethod, resolve_device
from mattebench_baselines.modnet import checkpoints as ckpt
from mattebench_baselines.modnet.checkpoints import MatteOnly
from mattebench_baselines.modnet.inference import inference_size
from mattebench_baselines.modnet.model import MODNet

from mattebench import environment as provenance
from mattebench.contract import MethodFactory
from mattebench.data import base as data_base
from mattebench.data import trimap_manifest
from mattebench.errors import CheckpointError, MattebenchError, SampleError
from mattebench.methods.options import declared_options
from mattebench.methods.registry import method_entry
from mattebench.tracks import bench
from mattebench.types import AtLeast

ROOT = Path(__file__).resolve().parents[1]
# issue 21 §6: the numeric options declare their valid range (mattebench.types.AtLeast)
COMMON_OPTIONS = {"checkpoint": Optional[str], "device": Optional[str], "backbone_checkpoint": Optional[str], "loss": str,
                  "ref_size": Annotated[Optional[int], AtLeast(1)], "threads": Annotated[Optional[int], AtLeast(1)],
                  "half": bool, "lambda_s": Annotated[float, AtLeast(0)], "lambda_d": Annotated[float, AtLeast(0)], "ofd": bool}


def _quiet(factory, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return factory(**kw)


# -- one factory ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, attr, extra", [("modnet", "create_modnet", {}), ("modnet-easpp", "create_modnet_easpp", {}),
                                               ("modnet-trimap", "create_modnet_trimap", {"variant": str})])
def test_each_registered_modnet_is_one_setting_of_one_factory(name, attr, extra):
    factory = getattr(modnet, attr)
    # the registered object is a MethodFactory (mattebench.contract) around one partial of the one factory
    assert isinstance(factory, MethodFactory) and isinstance(factory.create, functools.partial)
    assert factory.create.func is modnet.create
    assert method_entry(name).factory is factory
    assert factory.card.name == name and method_entry(name).card == factory.card
    assert declared_options(factory) == {**COMMON_OPTIONS, **extra}
    params = inspect.signature(factory).parameters
    assert list(params) == list(COMMON_OPTIONS) + list(extra)
    assert params["device"].default == "cpu" and params["loss"].default == "paper" and params["lambda_d"].default == 10.0
    if extra:
        assert params["variant"].default == "easpp"


def test_a_setting_without_a_variant_choice_refuses_one():
    with pytest.raises(TypeError, match="no variant option"):
        modnet.create_modnet(variant="easpp")


@pytest.mark.parametrize("attr, variant, trimap", [("create_modnet", "v1", False), ("create_modnet_easpp", "easpp", False),
                                                   ("create_modnet_trimap", "easpp", True)])
def test_each_setting_builds_its_network(attr, variant, trimap):
    m = _quiet(getattr(modnet, attr))
    assert (m.variant, m.trimap_input, m.needs_trimap) == (variant, trimap, trimap)
    assert m.model.in_channels == (4 if trimap else 3)
    assert m.card is getattr(modnet, attr).card and m.name == m.card.name


# -- the torch base -------------------------------------------------------------------------------------
def test_modnet_builds_on_the_torch_base():
    m = _quiet(modnet.create_modnet)
    assert isinstance(m, TorchMattingMethod)
    assert [id(p) for p in m.stage_parameters("joint")] == [id(p) for p in m.model.parameters()]
    with pytest.raises(MattebenchError, match="unknown training stage"):
        m.stage_parameters("refine")
    # bench times the inference-only module (the bare forward also runs the training heads)
    assert m.example_input is None
    module, _ = bench.timing_target(m, 64, False, torch.device("cpu"))
    assert isinstance(module, MatteOnly)


@pytest.mark.parametrize("attr", ["create_modnet", "create_modnet_trimap"])
def test_the_base_hooks_follow_modnet_conventions(attr):
    """network_input / forward_alpha / working_size give what predict does (official coding, matte head)."""
    torch.manual_seed(0)
    m = _quiet(getattr(modnet, attr), ref_size=64)
    assert m.working_size(70, 90) == inference_size(70, 90, 64, 32) == (64, 64)
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)  # already at its working size: no resizing
    tri = np.full((64, 96), 128, np.uint8)
    tri[:8] = 0
    tri[-8:] = 255
    image = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
    trimap = torch.from_numpy(tri)[None, None].float() / 255.0
    trimap = torch.where(trimap == 128 / 255.0, torch.full_like(trimap, 0.5), trimap)
    x = m.network_input(image, trimap)
    assert x.shape[1] == m.model.in_channels and float(x[:, :3].min()) >= -1 and float(x[:, :3].max()) <= 1
    with torch.inference_mode():
        alpha = m.forward_alpha(image, trimap if m.trimap_input else None)[0, 0].numpy()
    want = m.predict(img, tri if m.trimap_input else None)
    np.testing.assert_allclose(alpha, want, rtol=0, atol=1e-6)


# -- one resolve_device -----------------------------------------------------------------------------------
def test_one_resolve_device(monkeypatch):
    defs = [p for d in ("baselines", "mattebench") for p in sorted((ROOT / d).rglob("*.py")) if re.search(r"^def resolve_device\b", p.read_text(), re.M)]
    assert [p.relative_to(ROOT).as_posix() for p in defs] == ["baselines/common/torch_method.py"]
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == resolve_device("auto") == resolve_device("") == torch.device("cpu")
    with pytest.raises(MattebenchError, match="--device cpu"):
        resolve_device("cuda")
    m = _quiet(modnet.create_modnet, device=None)  # MODNet's device=None: the GPU where there is one
    assert m.device == torch.device("cpu")


# -- checkpoints: the shared module under MODNet's ----------------------------------------------------------
def test_compare_keys_and_prefixes():
    own = {"a.w": torch.zeros(2), "b.w": torch.zeros(3)}
    diff = common_ckpt.compare_keys(own, {"a.w": torch.zeros(4), "c.w": torch.zeros(1)})
    assert diff and diff.missing == ("b.w",) and diff.unexpected == ("c.w",) and diff.wrong_shape == ("a.w (4,) != (2,)",)
    assert not common_ckpt.compare_keys(own, dict(own))
    assert common_ckpt.strip_common_prefix({"module.a": 1, "module.b": 2}, "module.") == {"a": 1, "b": 2}
    assert common_ckpt.strip_common_prefix({"module.a": 1, "b": 2}, "module.") == {"module.a": 1, "b": 2}


def test_portable_state_dict_keeps_the_twice_registered_backbone_shared():
    model = MODNet()
    state = common_ckpt.portable_state_dict(model, half=True)
    a, b = state["backbone.model.features.0.0.weight"], state["lr_branch.backbone.model.features.0.0.weight"]
    assert a.dtype == torch.float16 and a is b
    assert state["backbone.model.features.0.1.num_batches_tracked"].dtype == torch.int64


def test_save_atomic_writes_whole_files_only(tmp_path):
    target = tmp_path / "deep" / "w.ckpt"
    common_ckpt.save_atomic({"x": torch.ones(2)}, target)
    common_ckpt.save_atomic({"x": torch.zeros(2)}, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["w.ckpt"]
    assert torch.equal(torch.load(target, weights_only=True)["x"], torch.zeros(2))


def test_modnet_checkpoint_errors_come_from_the_shared_reader(tmp_path):
    with pytest.raises(CheckpointError, match="not found") as err:
        ckpt.read_checkpoint(tmp_path / "nope.ckpt")
    assert "github.com/ZHKKKe/MODNet" in str(err.value)
    bad = tmp_path / "truncated.ckpt"
    bad.write_bytes(b"PK\x03\x04 not a checkpoint")
    with pytest.raises(CheckpointError, match="weights_only=True") as err:
        ckpt.read_checkpoint(bad)
    assert "official MODNet .ckpt" in str(err.value)
    with pytest.raises(CheckpointError, match="does not exist"):
        common_ckpt.read_state_dict(tmp_path / "nope.ckpt")


# -- one file hash ------------------------------------------------------------------------------------------
def test_one_sha256_of_a_file(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(bytes(range(256)) * 5000)
    want = hashlib.sha256(f.read_bytes()).hexdigest()
    assert data_base.sha256_file is provenance.sha256_file
    assert provenance.sha256_file(f) == ckpt.sha256(f) == trimap_manifest.file_sha256(f) == want
    with pytest.raises(SampleError, match="cannot read"):
        trimap_manifest.file_sha256(tmp_path / "missing.png")
    readers = [p.relative_to(ROOT).as_posix() for d in ("baselines", "mattebench") for p in sorted((ROOT / d).rglob("*.py"))
               if re.search(r"hashlib\.sha256\(\)[\s\S]{0,200}open(_regular)?\(|hashlib\.sha256\([^)]*read_bytes\(\)", p.read_text())]
    assert readers == ["mattebench/files.py"]

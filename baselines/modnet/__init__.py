"""MODNet (Ke et al., "MODNet: Real-Time Trimap-Free Portrait Matting via Objective Decomposition", AAAI 2022).

Registered methods (entry points in pyproject.toml), each one setting of the one factory :func:`create`:

- ``modnet``: the public v1 release (SE block in the low-resolution branch); loads the official checkpoints.
- ``modnet-easpp``: the paper's variant with e-ASPP (Appendix A); no released weights, train it.
- ``modnet-trimap``: "MODNet (trimap)" of Tables 1-2, RGB + trimap in (e-ASPP by default); train it.

Both keep the official module call ``model(x, inference) -> (pred_semantic, pred_detail, pred_matte)``.
The cards are in :mod:`.cards`.
"""

from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Optional

from mattebench_baselines.modnet.method import (  # noqa: F401
    INPUT_RULE,
    MODNET_CARD,
    MODNET_EASPP_CARD,
    MODNET_TRIMAP_CARD,
    PAPER,
    URL,
    MODNetMethod,
)
from mattebench_baselines.modnet.model import MODNet
from mattebench_baselines.modnet.training import LAMBDA_D, LAMBDA_S

from mattebench import contract
from mattebench.types import AtLeast, MethodCard


@dataclass(frozen=True)
class Setting:
    """What tells the registered MODNets apart: the network variant (low-resolution branch), whether the
    trimap is an input, and whether the user may choose the variant (``-m variant=``)."""

    name: str
    variant: str
    trimap_input: bool = False
    variant_option: bool = False  # modnet-trimap only: 'easpp' (the paper's) or 'v1'
    doc: str = ""


def create(
    setting: Setting,
    checkpoint: Optional[str] = None,
    device: Optional[str] = "cpu",
    backbone_checkpoint: Optional[str] = None,
    loss: str = "paper",
    ref_size: Annotated[Optional[int], AtLeast(1)] = None,
    threads: Annotated[Optional[int], AtLeast(1)] = None,
    half: bool = False,
    lambda_s: Annotated[float, AtLeast(0)] = LAMBDA_S,
    lambda_d: Annotated[float, AtLeast(0)] = LAMBDA_D,
    ofd: bool = False,
    variant: Optional[str] = None,
) -> MODNetMethod:
    """A MODNet of ``setting``. ``checkpoint``: the official .ckpt (with or without ``module.``), a mattebench
    .ckpt, or a shipped name (``mattebench:modnet-synthetic``). ``ref_size``: default the checkpoint's input
    rule, else 512. ``ofd=True``: One-Frame-Delay over each clip of a video dataset. ``variant``: only where
    the setting lets the user choose it (``modnet-trimap``)."""
    if variant is not None and not setting.variant_option:
        raise TypeError(f"{setting.name} takes no variant option: its network is the {setting.variant!r} variant")
    return MODNetMethod(variant or setting.variant, checkpoint, device, backbone_checkpoint, loss, ref_size, threads, half,
                        lambda_s, lambda_d, ofd, trimap_input=setting.trimap_input)


def _registered(setting: Setting) -> "functools.partial[MODNetMethod]":
    """``create`` bound to ``setting``, declaring the options that setting takes (the signature, option_types)
    as a factory written out for it would."""
    factory = functools.partial(create, setting)
    sig = inspect.signature(create)
    hints = typing.get_type_hints(create, include_extras=True)  # with the AtLeast ranges of Annotated
    params = [p for name, p in sig.parameters.items() if name != "setting" and (name != "variant" or setting.variant_option)]
    params = [p.replace(annotation="str", default=setting.variant) if p.name == "variant" else p for p in params]
    factory.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    types: dict[str, Any] = {p.name: hints[p.name] for p in params}
    if setting.variant_option:
        types["variant"] = str
    factory.option_types = types  # type: ignore[attr-defined]
    factory.__doc__ = setting.doc
    # Where the factory is defined (workers import its module; run identities name it).
    factory.__module__ = __name__  # type: ignore[attr-defined]
    factory.__name__ = factory.__qualname__ = "create_" + setting.name.replace("-", "_")  # type: ignore[attr-defined]
    return factory


SETTINGS = {
    s.name: s
    for s in (
        Setting("modnet", "v1", doc="MODNet v1 (the public release, SE block in the low-resolution branch)."),
        Setting("modnet-easpp", "easpp", doc="MODNet with e-ASPP in the low-resolution branch (paper Fig. 3, Appendix A)."),
        Setting("modnet-trimap", "easpp", trimap_input=True, variant_option=True,
                doc="MODNet taking the trimap as a fourth input channel in training and testing (paper, Sec. 'Results on "
                "PPM-100': 'regarding MODNet as a trimap-based method'). ``variant``: 'easpp' (the paper's) or 'v1'."),
    )
}


def _factory(setting: Setting, card: MethodCard) -> contract.MethodFactory:
    """The registered factory of ``setting``: its partial of ``create`` with its card (the entry point's object)."""
    partial = _registered(setting)
    # contract.method, not a bare `method`: that name is this package's submodule .method once it is imported
    return contract.method(card, options=partial.option_types)(partial)  # type: ignore[attr-defined]


create_modnet = _factory(SETTINGS["modnet"], MODNET_CARD)
create_modnet_easpp = _factory(SETTINGS["modnet-easpp"], MODNET_EASPP_CARD)
create_modnet_trimap = _factory(SETTINGS["modnet-trimap"], MODNET_TRIMAP_CARD)

__all__ = ["MODNet", "MODNetMethod", "create", "create_modnet", "create_modnet_easpp", "create_modnet_trimap"]

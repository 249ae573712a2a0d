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
from typing import Any, Optional

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

from mattebench import contract
from mattebench.types import MethodCard


@dataclass(frozen=True)
class Setting:
    """What tells the registered MODNets apart: the network variant (low-resolution branch), whether the
    trimap is an input, and whether the user may choose the variant (``-m variant=``)."""

    name: str
    variant: str
    trimap_input: bool = False
    variant_option: bool = False  # modnet-trimap only: 'easpp' (the paper's) or 'v1'
    doc: str = ""


def create(setting: Setting, *, variant: Optional[str] = None, **options: Any) -> MODNetMethod:
    """A MODNet of ``setting``; ``options`` are :class:`MODNetMethod`'s (its ``__init__`` is the one place they
    are declared, with their ranges). ``variant``: only where the setting lets the user choose it
    (``modnet-trimap``)."""
    if variant is not None and not setting.variant_option:
        raise TypeError(f"{setting.name} takes no variant option: its network is the {setting.variant!r} variant")
    return MODNetMethod(variant or setting.variant, trimap_input=setting.trimap_input, **options)


def _registered(setting: Setting) -> "functools.partial[MODNetMethod]":
    """``create`` bound to ``setting``, declaring the options that setting takes (the signature, option_types)
    as a factory written out for it would."""
    factory = functools.partial(create, setting)
    init = inspect.signature(MODNetMethod.__init__)
    hints = typing.get_type_hints(MODNetMethod.__init__, include_extras=True)  # with the AtLeast ranges of Annotated
    params = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for name, p in init.parameters.items()
              if name not in ("self", "variant", "trimap_input")]
    types: dict[str, Any] = {p.name: hints[p.name] for p in params}
    if setting.variant_option:
        params.append(inspect.Parameter("variant", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=setting.variant,
                                        annotation="str"))
        types["variant"] = str
    factory.__signature__ = init.replace(parameters=params, return_annotation="MODNetMethod")  # type: ignore[attr-defined]
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

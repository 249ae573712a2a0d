"""The six classical trimap-based methods, through pymatting (MIT licence).

Each is a thin adapter: uint8 RGB + {0,128,255} trimap -> pymatting's float64 inputs -> float32
alpha. pymatting treats every trimap value other than 0 and 255 as unknown, which matches the
DIM convention for the {0,128,255} trimaps mattebench produces.
"""

from __future__ import annotations

from collections.abc import Callable as CallableABC
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from mattebench.contract import MethodFactory, method
from mattebench.data.trimap import keep_known
from mattebench.errors import SampleError
from mattebench.types import FAMILY_TRIMAP, MethodCard

_PYMATTING = "pymatting 1.1 (MIT); see Germer et al., 'PyMatting: A Python Library for Alpha Matting', JOSS 2020"


@dataclass
class PymattingMethod:
    """``predict(image, trimap)`` with a pymatting ``estimate_alpha_*`` function."""

    card: MethodCard
    function_name: str
    min_size: int = 1
    options: dict[str, Any] = field(default_factory=dict)

    def _function(self) -> Callable[..., np.ndarray]:
        import pymatting  # imported lazily: numba compilation is slow and not every run needs it

        return getattr(pymatting, self.function_name)

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        if trimap is None:
            raise SampleError(f"{self.card.name} is trimap-based and got no trimap")
        if min(image.shape[:2]) < self.min_size:
            raise SampleError(f"{self.card.name} needs images of at least {self.min_size} px per side, got {image.shape[1]}x{image.shape[0]}")
        img = image.astype(np.float64) / 255.0
        tri = trimap.astype(np.float64) / 255.0
        if not (tri < 1e-6).any() or not (tri > 1 - 1e-6).any():
            # pymatting needs both known regions; with one missing the answer is that region's value.
            if (tri > 1 - 1e-6).any():
                return np.ones(trimap.shape, np.float32)
            return np.zeros(trimap.shape, np.float32)
        alpha = np.clip(self._function()(img, tri, **self.options), 0.0, 1.0).astype(np.float32)
        # Large kernel's approximate Laplacian drifts in the known regions (up to 0.44 here).
        return keep_known(alpha, trimap)


# The keyword options of each pymatting estimator (pymatting 1.1 signatures, without image/trimap;
# tests/test_trust_options.py checks them against pymatting's source). A declared list rather
# than **options passed blindly: an unknown or mistyped -m key is refused before any sample.
_SOLVER_OPTIONS: dict[str, Any] = {"laplacian_kwargs": dict, "cg_kwargs": dict}
_PRECONDITIONED = {"preconditioner": (type(None), CallableABC), **_SOLVER_OPTIONS}
_SHARED_SAMPLING_OPTIONS: dict[str, Any] = {
    # return_foreground_background is left out: it changes what the function returns.
    "trimap_expansion_radius": int,
    "trimap_expansion_threshold": float,
    "sample_gathering_angles": int,
    "sample_gathering_weights": (list, tuple),
    "sample_gathering_Np_radius": int,
    "sample_refinement_radius": int,
    "local_smoothing_radius1": int,
    "local_smoothing_radius2": int,
    "local_smoothing_radius3": int,
    "local_smoothing_sigma_sq1": (type(None), float),
    "local_smoothing_sigma_sq2": float,
    "local_smoothing_sigma_sq3": (type(None), float),
}
OPTION_TYPES: dict[str, dict[str, Any]] = {
    "estimate_alpha_cf": _PRECONDITIONED,
    "estimate_alpha_knn": _PRECONDITIONED,
    "estimate_alpha_lkm": _SOLVER_OPTIONS,
    "estimate_alpha_lbdm": _PRECONDITIONED,
    "estimate_alpha_rw": _PRECONDITIONED,
    "estimate_alpha_sm": _SHARED_SAMPLING_OPTIONS,
}


def _factory(name: str, function_name: str, paper: str, url: str, notes: str, min_size: int = 1) -> MethodFactory:
    card = MethodCard(
        name=name,
        needs_trimap=True,
        family=FAMILY_TRIMAP,
        paper=paper,
        url=url,
        code_licence="MIT (pymatting)",
        weights_licence="none (no learned weights)",
        input_size="any size; memory grows with the unknown region",
        notes=f"{_PYMATTING}. {notes}",
        weights_option="",  # a solver: no learned weights
    )

    def create(**options: Any) -> PymattingMethod:
        return PymattingMethod(card=card, function_name=function_name, min_size=min_size, options=options)

    create.__name__ = name.replace("-", "_")
    return method(card, options=OPTION_TYPES[function_name])(create)


closed_form = _factory(
    "closed-form", "estimate_alpha_cf",
    "Levin, Lischinski, Weiss. A Closed-Form Solution to Natural Image Matting. CVPR 2006 / TPAMI 2008",
    "https://doi.org/10.1109/TPAMI.2007.1177",
    "Matting Laplacian with 3x3 windows, epsilon 1e-7, solved by preconditioned CG (pymatting defaults).",
)
knn = _factory(
    "knn", "estimate_alpha_knn",
    "Chen, Li, Tang. KNN Matting. CVPR 2012 / TPAMI 2013",
    "https://doi.org/10.1109/TPAMI.2013.18",
    "KNN Laplacian (pymatting defaults: n_neighbors [20, 10], distance weights [2.0, 0.1]).",
)
large_kernel = _factory(
    "large-kernel", "estimate_alpha_lkm",
    "He, Sun, Tang. Fast Matting Using Large Kernel Matting Laplacian Matrices. CVPR 2010",
    "https://doi.org/10.1109/CVPR.2010.5539896",
    "Large-kernel Laplacian (radius 10); fails on images under 41 px, reported as a sample error.",
    min_size=41,
)
learning_based = _factory(
    "learning-based", "estimate_alpha_lbdm",
    "Zheng, Kambhamettu. Learning Based Digital Matting. ICCV 2009",
    "https://doi.org/10.1109/ICCV.2009.5459326",
    "Learning-based Laplacian (pymatting defaults).",
)
random_walk = _factory(
    "random-walk", "estimate_alpha_rw",
    "Grady, Schiwietz, Aharon, Westermann. Random Walks for Interactive Alpha-Matting. VIIP 2005",
    "https://www.researchgate.net/publication/220862405",
    "Random-walk Laplacian (pymatting defaults: sigma 0.03).",
)
shared_sampling = _factory(
    "shared-sampling", "estimate_alpha_sm",
    "Gastal, Oliveira. Shared Sampling for Real-Time Alpha Matting. Eurographics 2010",
    "https://doi.org/10.1111/j.1467-8659.2009.01627.x",
    "Shared sampling with pymatting's default gathering and smoothing radii.",
)

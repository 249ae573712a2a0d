"""MODNet's outputs pinned: every registered variant (untrained, from a fixed seed) and both shipped checkpoints,
through predict, predict_batch, the OFD sequence path and the export module, on fixed inputs.

The outputs were recorded on the code before MODNet moved onto the shared torch base (issue 14, item 5), with
torch 2.13.0+cpu on one thread: DIGESTS holds the sha256 of each output's float32 bytes as recorded, and
tests/data/modnet_pinned_outputs.npz every element of them (test_the_stored_outputs_are_the_recorded_ones ties
the file to the digests).

The comparison holds on any CPU, kernel family and thread count. Outputs are sigmoid mattes in [0, 1] computed in
float32 (eps = 2^-23 ~ 1.2e-7). What another machine changes is only the order of additions: another kernel
family (AVX-512, AVX2, AMX, generic: ATEN_CPU_CAPABILITY, oneDNN's ISA) or another thread count splits each of the
network's ~50 convolution sums (up to 2400 products each) differently, each sum moves by a few eps relative, and
the network carries that to the matte. Measured across AVX-512/AVX2/SSE4.1/generic kernels, oneDNN on and off, 1 to
4 threads: at most 9.3e-6 (78 eps) on an element and 4.0e-7 (3.4 eps) on an output's mean. The bounds:
ELEMENT_TOL = 256 eps = 2^-15 ~ 3.1e-5 on every element and MEAN_TOL = 16 eps = 2^-19 ~ 1.9e-6 on the mean (3x and
4.7x the widest spread seen). Enough to catch a real change: one weight of one layer changed by 1e-4 moves the
first convolution's outputs by up to 4.8e-4 (15 ELEMENT_TOL) and, in the last convolution, an output's mean by
4e-6 to 8e-6 (2 to 4 MEAN_TOL); test_the_pins_catch_one_weight_changed_by_1e_4 holds both. What no tolerance can
see is a change below the reordering noise itself (1e-4 on one of the 409600 weights of the backbone's last 1x1
convolution moves the matte by < 1.3e-6): for refactors that must not move a bit, MATTEBENCH_BIT_EXACT=1 also
compares the digests, on one thread (expected to hold only with the kernels they were recorded with).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pytest
import torch

from mattebench.methods.registry import create_method

STORED = Path(__file__).resolve().parent / "data" / "modnet_pinned_outputs.npz"  # key: "<case>|<part>"
EPS = float(np.finfo(np.float32).eps)  # 2^-23
ELEMENT_TOL = 256 * EPS
MEAN_TOL = 16 * EPS
BIT_EXACT = os.environ.get("MATTEBENCH_BIT_EXACT") == "1"

DIGESTS: dict[str, dict[str, str]] = {  # case -> part -> sha256 of the float32 bytes, first 16 hex digits
    "modnet": {
        "predict": "8a3957bcabc8449d", "batch1": "8dfbf9ed9baf11f1", "ofd1": "3dcc9f1794a6e9d0", "ofd3": "321e8a949ea2a0fd", "export": "0883d9262fa96629",
    },
    "modnet-easpp": {
        "predict": "875f98dd16d7c8c5", "batch1": "de1f78aed77d43b5", "ofd1": "3ba22197936fdec1", "ofd3": "0cbe4611c4351b6d", "export": "fa047e8739ebe0cc",
    },
    "modnet-trimap": {
        "predict": "ebcab81b4a16300f", "batch1": "ffefc849ccc867c0", "export": "f37a34dec540483b",
    },
    "modnet-trimap/v1": {
        "predict": "130297ed5c88fd75", "batch1": "ce303d6d049bd167", "export": "66c301e9d700dafa",
    },
    "mattebench:modnet-synthetic": {
        "predict": "95d797a1fb662108", "batch1": "e47205dde2bcc86f", "ofd1": "fd37208778453082", "ofd3": "17357744e5f2a45c", "export": "8e904f6878264e1a",
    },
    "mattebench:modnet-trimap-synthetic": {
        "predict": "71f10fbe99e94781", "batch1": "83f80f2edb1ac3c2", "export": "c96c299eb0b81141",
    },
}

CASES = {  # case -> (registered method, options)
    "modnet": ("modnet", {"ref_size": 64}),
    "modnet-easpp": ("modnet-easpp", {"ref_size": 64}),
    "modnet-trimap": ("modnet-trimap", {"ref_size": 64}),
    "modnet-trimap/v1": ("modnet-trimap", {"ref_size": 64, "variant": "v1"}),
    "mattebench:modnet-synthetic": ("modnet", {"checkpoint": "mattebench:modnet-synthetic"}),  # its own rule: 192
    "mattebench:modnet-trimap-synthetic": ("modnet-trimap", {"checkpoint": "mattebench:modnet-trimap-synthetic"}),  # 256
}

Tamper = Callable[[torch.nn.Module], None]


def _inputs():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    img2 = rng.integers(0, 256, (50, 64, 3), dtype=np.uint8)
    tri = np.zeros((70, 90), np.uint8)
    tri[10:60, 15:75] = 128
    tri[25:45, 30:60] = 255
    tri2 = np.zeros((50, 64), np.uint8)
    tri2[5:45, 8:56] = 128
    tri2[18:32, 20:44] = 255
    return img, img2, tri, tri2


def _build(method: str, options: dict, tamper: Optional[Tamper], **extra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # untrained: the warning is tested elsewhere
        m = create_method(method, **extra, **options)
    if tamper is not None:
        tamper(m.model)
    return m


def _outputs(method: str, options: dict, tamper: Optional[Tamper] = None) -> dict[str, np.ndarray]:
    """The outputs in the order they were recorded (the untrained networks draw from one seeded stream); `tamper`
    edits each network built, after its weights are set."""
    img, img2, tri, tri2 = _inputs()
    torch.manual_seed(0)
    m = _build(method, options, tamper)
    t = m.needs_trimap
    out = {"predict": m.predict(img, tri if t else None)}
    out["batch1"] = m.predict_batch([img, img2, img], [tri, tri2, tri] if t else None)[1]
    module, example = m.export_module(64, 64)
    torch.manual_seed(1)
    x = torch.rand_like(example) * 2 - 1
    with torch.no_grad():
        out["export"] = module(x).numpy()
    if not t:
        seq = _build(method, options, tamper, ofd=True)
        frames = [img, np.roll(img, 3, 1), img, np.roll(img, 5, 0)]
        mattes = seq.predict_sequence(frames)
        out["ofd1"], out["ofd3"] = mattes[1], mattes[3]
    return out


def _recorded(case: str) -> dict[str, np.ndarray]:
    with np.load(STORED) as z:
        return {part: z[f"{case}|{part}"] for part in DIGESTS[case]}


def _digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def mismatches(case: str, got: dict[str, np.ndarray]) -> list[str]:
    """How `got` differs from the recorded outputs of `case` beyond float32 reordering noise (the module docstring
    derives the bounds); empty when it matches."""
    want = _recorded(case)
    if sorted(got) != sorted(want):
        return [f"{case}: parts {sorted(got)}, recorded {sorted(want)}"]
    out = []
    for part, w in want.items():
        a = np.asarray(got[part])
        if a.dtype != w.dtype or a.shape != w.shape:
            out.append(f"{case} {part}: {a.dtype}{a.shape}, recorded {w.dtype}{w.shape}")
            continue
        d = a.astype(np.float64) - w.astype(np.float64)
        if not np.isfinite(d).all() or np.abs(d).max() > ELEMENT_TOL:
            out.append(f"{case} {part}: an element differs by {np.abs(d).max():.3g} > {ELEMENT_TOL:.3g}")
        if abs(d.mean()) > MEAN_TOL:
            out.append(f"{case} {part}: the mean differs by {abs(d.mean()):.3g} > {MEAN_TOL:.3g}")
    return out


def bit_mismatches(case: str, got: dict[str, np.ndarray]) -> list[str]:
    """The parts whose float32 bytes are not the recorded ones (MATTEBENCH_BIT_EXACT=1 only)."""
    return [f"{case} {part}: not bit-identical (sha256 {_digest(np.asarray(got[part]))}, recorded {want}; expected "
            "only with the kernels and the one thread they were recorded with)"
            for part, want in DIGESTS[case].items() if _digest(np.asarray(got[part])) != want]


@pytest.fixture
def recording_threads():
    """Bit-exact comparisons need the recording's one thread; the tolerance comparison runs on whatever threads the
    process has (CI runs it with 1 and 2)."""
    before = torch.get_num_threads()
    if BIT_EXACT:
        torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_match_the_recorded_ones(case, recording_threads):
    got = _outputs(*CASES[case])
    assert mismatches(case, got) == []
    if BIT_EXACT:
        assert bit_mismatches(case, got) == []


def test_the_stored_outputs_are_the_recorded_ones():
    """The stored arrays are the ones recorded before the restructuring: each hashes to its recorded digest."""
    with np.load(STORED) as z:
        assert sorted(z.files) == sorted(f"{case}|{part}" for case in DIGESTS for part in DIGESTS[case])
    for case in DIGESTS:
        assert bit_mismatches(case, _recorded(case)) == []


def _add_to_first_weight(layer: str, delta: float) -> Tamper:
    def tamper(model: torch.nn.Module) -> None:
        with torch.no_grad():
            dict(model.named_parameters())[layer].view(-1)[0] += delta
    return tamper


@pytest.mark.parametrize("layer", ["backbone.model.features.0.0.weight", "f_branch.conv_f.1.layers.0.weight"])
@pytest.mark.parametrize("case", ["modnet", "mattebench:modnet-synthetic"])
def test_the_pins_catch_one_weight_changed_by_1e_4(case, layer):
    """One weight of the first (backbone) or the last (fusion head) convolution moved by 1e-4: the comparison that
    holds on any machine reports it."""
    method, options = CASES[case]
    found = mismatches(case, _outputs(method, options, tamper=_add_to_first_weight(layer, 1e-4)))
    assert found and all(m.startswith(f"{case} ") for m in found), found

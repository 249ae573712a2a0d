"""MODNet's outputs pinned: every registered variant (untrained, from a fixed seed) and both shipped checkpoints,
through predict, predict_batch, the OFD sequence path and the export module, on fixed inputs.

The numbers were computed on the code before MODNet moved onto the shared torch base (issue 14, item 5):
the restructuring must not change a single bit. Where torch and the CPU kernel family match the ones they
were recorded with, the sha256 of each output's float32 bytes must match exactly; elsewhere (other BLAS
kernels give last-bit differences) the statistics and pixels must match within 1e-5.
"""

from __future__ import annotations

import hashlib
import warnings
from typing import NamedTuple

import numpy as np
import pytest
import torch

from mattebench.registry import create_method

RECORDED_WITH = ("2.13.0+cpu", "AVX512")  # torch.__version__, torch.backends.cpu.get_cpu_capability(); 1 thread
ATOL = 1e-5


class Pinned(NamedTuple):
    digest: str  # sha256 of the float32 bytes, first 16 hex digits
    shape: tuple[int, ...]
    stats: tuple[float, float, float, float]  # mean, std, min, max
    pixels: tuple[float, float, float]  # at (h/5, w/4), (h/2, w/5), (4h/5, 4w/5)


REFERENCE: dict[str, dict[str, Pinned]] = {
    'modnet': {
        'predict': Pinned('8a3957bcabc8449d', (70, 90), (0.384974354, 0.140546975, 0.076778069, 0.857621431), (0.513079464, 0.234897852, 0.257434785)),
        'batch1': Pinned('8dfbf9ed9baf11f1', (50, 64), (0.382363798, 0.166649357, 0.081479974, 0.900774062), (0.236029476, 0.179035053, 0.291924447)),
        'ofd1': Pinned('3dcc9f1794a6e9d0', (70, 90), (0.474088415, 0.129367061, 0.127824545, 0.81541276), (0.540631235, 0.374720991, 0.564702034)),
        'ofd3': Pinned('321e8a949ea2a0fd', (70, 90), (0.475001398, 0.136785766, 0.124750391, 0.895365119), (0.525702298, 0.156778634, 0.428941309)),
        'export': Pinned('0883d9262fa96629', (1, 1, 64, 64), (0.370367081, 0.142021834, 0.078484558, 0.870133221), (0.412492812, 0.210226387, 0.218629882)),
    },
    'modnet-easpp': {
        'predict': Pinned('875f98dd16d7c8c5', (70, 90), (0.538806396, 0.10755679, 0.217529684, 0.854778171), (0.418860227, 0.408543408, 0.572740912)),
        'batch1': Pinned('de1f78aed77d43b5', (50, 64), (0.537202798, 0.106624695, 0.225774497, 0.883804739), (0.443507791, 0.413123846, 0.759355187)),
        'ofd1': Pinned('3ba22197936fdec1', (70, 90), (0.634247898, 0.116094746, 0.209587663, 0.940943837), (0.643345594, 0.487065136, 0.888922334)),
        'ofd3': Pinned('0cbe4611c4351b6d', (70, 90), (0.648181518, 0.106473472, 0.295584649, 0.940276086), (0.834256172, 0.584910274, 0.610583067)),
        'export': Pinned('fa047e8739ebe0cc', (1, 1, 64, 64), (0.544383924, 0.109750213, 0.165346146, 0.898294568), (0.463636816, 0.459582627, 0.467951506)),
    },
    'modnet-trimap': {
        'predict': Pinned('ebcab81b4a16300f', (70, 90), (0.217843247, 0.303198115, 0.0, 1.0), (0.306761473, 0.344727397, 0.404906273)),
        'batch1': Pinned('ffefc849ccc867c0', (50, 64), (0.271140285, 0.307008198, 0.0, 1.0), (0.304519087, 0.20334205, 0.236570597)),
        'export': Pinned('f37a34dec540483b', (1, 1, 64, 64), (0.308058274, 0.140673776, 0.01549995, 0.73674643), (0.499877244, 0.370537162, 0.392266065)),
    },
    'modnet-trimap/v1': {
        'predict': Pinned('130297ed5c88fd75', (70, 90), (0.300029381, 0.344692316, 0.0, 1.0), (0.512157202, 0.537615776, 0.641455173)),
        'batch1': Pinned('ce303d6d049bd167', (50, 64), (0.358465222, 0.337143125, 0.0, 1.0), (0.572268903, 0.762512028, 0.572524905)),
        'export': Pinned('66c301e9d700dafa', (1, 1, 64, 64), (0.538222837, 0.124690623, 0.095863752, 0.902783453), (0.563299417, 0.531636059, 0.604561746)),
    },
    'mattebench:modnet-synthetic': {
        'predict': Pinned('95d797a1fb662108', (70, 90), (0.36098598, 0.310734311, 0.002159727, 0.964733541), (0.100555971, 0.252120703, 0.588978171)),
        'batch1': Pinned('e47205dde2bcc86f', (50, 64), (0.364079528, 0.320298693, 0.002278059, 0.977457345), (0.484127134, 0.257803231, 0.775078356)),
        'ofd1': Pinned('fd37208778453082', (70, 90), (0.366510865, 0.309791535, 0.001607085, 0.977394879), (0.052246783, 0.172108963, 0.738269627)),
        'ofd3': Pinned('17357744e5f2a45c', (70, 90), (0.381814042, 0.315530551, 0.001928964, 0.979690135), (0.882108033, 0.529352248, 0.823424757)),
        'export': Pinned('8e904f6878264e1a', (1, 1, 64, 64), (0.428311514, 0.322115297, 0.002113466, 0.982830524), (0.759131551, 0.055954706, 0.571122408)),
    },
    'mattebench:modnet-trimap-synthetic': {
        'predict': Pinned('71f10fbe99e94781', (70, 90), (0.350528566, 0.424824543, 0.0, 1.0), (0.751538873, 0.963843107, 0.852101922)),
        'batch1': Pinned('83f80f2edb1ac3c2', (50, 64), (0.424091916, 0.420257534, 0.0, 1.0), (0.912475288, 0.965266347, 0.973621488)),
        'export': Pinned('c96c299eb0b81141', (1, 1, 64, 64), (0.493979306, 0.333991646, 0.002522489, 0.999086976), (0.488246948, 0.289794028, 0.585196197)),
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


def _outputs(method: str, options: dict) -> dict[str, np.ndarray]:
    """The outputs in the order they were recorded (the untrained networks draw from one seeded stream)."""
    img, img2, tri, tri2 = _inputs()
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # untrained: the warning is tested elsewhere
        m = create_method(method, **options)
    t = m.needs_trimap
    out = {"predict": m.predict(img, tri if t else None)}
    out["batch1"] = m.predict_batch([img, img2, img], [tri, tri2, tri] if t else None)[1]
    module, example = m.export_module(64, 64)
    torch.manual_seed(1)
    x = torch.rand_like(example) * 2 - 1
    with torch.no_grad():
        out["export"] = module(x).numpy()
    if not t:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            seq = create_method(method, ofd=True, **options)
        frames = [img, np.roll(img, 3, 1), img, np.roll(img, 5, 0)]
        mattes = seq.predict_sequence(frames)
        out["ofd1"], out["ofd3"] = mattes[1], mattes[3]
    return out


@pytest.fixture
def one_thread():
    """The numbers were recorded on one thread (a different split of the convolutions moves the last bits)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _pixels(a: np.ndarray) -> tuple[float, float, float]:
    a = a.reshape(a.shape[-2:])
    h, w = a.shape
    return float(a[h // 5, w // 4]), float(a[h // 2, w // 5]), float(a[4 * h // 5, 4 * w // 5])


@pytest.mark.parametrize("case", sorted(CASES))
def test_outputs_match_the_recorded_ones(case, one_thread):
    method, options = CASES[case]
    got = _outputs(method, options)
    assert sorted(got) == sorted(REFERENCE[case])
    exact = (torch.__version__, torch.backends.cpu.get_cpu_capability()) == RECORDED_WITH
    for part, want in REFERENCE[case].items():
        a = np.asarray(got[part])
        assert a.dtype == np.float32 and a.shape == want.shape, (case, part)
        a64 = a.astype(np.float64)
        np.testing.assert_allclose((a64.mean(), a64.std(), a.min(), a.max()), want.stats, rtol=0, atol=ATOL, err_msg=f"{case} {part}")
        np.testing.assert_allclose(_pixels(a), want.pixels, rtol=0, atol=ATOL, err_msg=f"{case} {part}")
        if exact:
            assert hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16] == want.digest, f"{case} {part}: not bit-identical"

"""Hair for the synthetic portraits: many strands, each a polyline far thinner than a pixel.

Strands live in head units (see :mod:`mattebench.data.synthetic_shapes`). A frontal view of combed
hair is modelled as a family of curves between two guides, per side of the parting:

- the *hairline* guide runs from the parting over the forehead to the temple and above the ear;
- the *outer* guide runs along the outside of the hair volume (an ellipse ``vol`` units larger
  than the head).

A strand at depth ``d`` in [0, 1] follows ``(1 - d) * hairline + d * outer`` from the parting to the
side of the head, then (long hair, bob, curls) falls under gravity with a flare and a wave. Strands
are drawn 1/SS of a pixel wide (``thickness`` 1 on the supersampled canvas), so a single strand
covers a fraction of a pixel and alpha at the hair boundary is truly fractional; a few *flyaway*
strands leave the volume, the hardest case for matting.

Every strand point carries a *sway weight* (0 at the root, 1 at the tip) so that a video can swing
the hair without moving the roots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mattebench.data.synthetic_shapes import quad_bezier

HAIR_STYLES: tuple[str, ...] = ("long", "bob", "short", "curly")


@dataclass
class Strands:
    """N strands of P points in head units, with per-point sway weight and per-strand width."""

    points: np.ndarray  # N x P x 2
    sway: np.ndarray  # N x P, 0 at the root .. 1 at the tip
    thick: np.ndarray  # N, canvas pixels (1 = 1/SS output pixel)

    @staticmethod
    def empty(p: int = 2) -> "Strands":
        return Strands(np.zeros((0, p, 2)), np.zeros((0, p)), np.zeros(0, dtype=np.int32))

    def tone(self) -> np.ndarray:
        """A fixed brightness in [0, 1) per strand (a hash of its index: no generator needed)."""
        i = np.arange(len(self.points), dtype=np.float64)
        return np.modf(np.abs(np.sin(i * 12.9898 + 78.233) * 43758.5453))[0]

    def swayed(self, amount_u: float) -> np.ndarray:
        """Points with the tips pushed sideways by ``amount_u`` head units (roots fixed)."""
        pts = self.points.copy()
        pts[..., 0] += amount_u * self.sway**2
        return pts


@dataclass
class Hair:
    style: str
    volume: float
    front: Strands  # drawn over the face and body
    back: Strands  # drawn behind the body (long hair hanging behind the neck)
    flyaways: Strands
    core_width: float  # head units: strands drawn this wide, then eroded, make the opaque core

    @property
    def length(self) -> float:
        pts = self.front.points
        return float(pts[..., 1].max()) if len(pts) else 0.0


_HAIRLINE = quad_bezier(np.array([0.0, -0.66]), np.array([0.95, -0.8]), np.array([1.02, 0.12]), 64)
_HAIRLINE_T = np.linspace(0.0, 1.0, 64)
_REACH = np.pi / 2 + 0.12  # the outer guide ends a little below the widest point of the head


def _combed(rng: np.random.Generator, n: int, part: float, vol: float, p: int, t_end: np.ndarray) -> np.ndarray:
    """n combed strands (either side of the parting), p points each, ending at t_end (per strand)."""
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)[:, None]
    depth = (1.2 * rng.random(n) ** 0.7)[:, None]  # ~15% beyond the outer guide: a sparse fringe
    s = np.linspace(0.0, 1.0, p)[None, :]
    t = s * t_end[:, None]
    # hairline guide (one side, u >= 0), then the outer guide: an ellipse vol larger than the head
    hl_u = np.interp(t, _HAIRLINE_T, _HAIRLINE[:, 0])
    hl_v = np.interp(t, _HAIRLINE_T, _HAIRLINE[:, 1])
    theta = t * _REACH
    out_u, out_v = (1.0 + vol) * np.sin(theta), -(1.28 + vol) * np.cos(theta)
    d = np.minimum(depth, 1.0)
    u = (1 - d) * hl_u + d * out_u
    v = (1 - d) * hl_v + d * out_v
    # strands past the outer guide stand off it along the outward normal: a sparse halo of
    # stray hair up to 0.3 head units deep, where coverage thins out gradually
    halo = 1.5 * np.maximum(depth - 1.0, 0.0) * np.clip(s * 4, 0, 1)
    u = u + halo * np.sin(theta)
    v = v - halo * np.cos(theta)
    # mirror to the strand's side; the parting shift fades out towards the side of the head
    u = side * u + part * (1 - t)
    # a little irregularity: smooth sideways wobble that grows away from the parting
    u = u + 0.025 * s * np.sin(rng.uniform(4, 9, (n, 1)) * np.pi * s + rng.uniform(0, 6.3, (n, 1)))
    v = v + 0.02 * rng.standard_normal((n, 1)) * s
    return np.stack([u, v], axis=-1)


def _fall(rng: np.random.Generator, start: np.ndarray, v_end: np.ndarray, flare: np.ndarray, p: int,
          wave_amp: float, curl_in: float) -> np.ndarray:
    """Strands hanging from ``start`` (N x 2) down to ``v_end``, spreading outwards by ``flare``."""
    n = len(start)
    s = np.linspace(0.0, 1.0, p)[None, :]
    side = np.sign(start[:, :1] + 1e-9)
    v = start[:, 1:2] + (v_end[:, None] - start[:, 1:2]) * s
    u = start[:, 0:1] + side * flare[:, None] * s**1.3
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    freq = rng.uniform(1.5, 3.0, (n, 1))
    u = u + wave_amp * np.sin(freq * np.pi * s + phase) * s
    u = u - side * curl_in * s**4  # bob: tips turn in under the chin
    return np.stack([u, v], axis=-1)


def make_hair(rng: np.random.Generator, style: str, bangs: bool, full_body: bool) -> Hair:
    if style not in HAIR_STYLES:
        raise ValueError(f"unknown hair style {style!r}")
    part = float(rng.choice([0.0, 0.0, 0.3, -0.3]) + rng.uniform(-0.05, 0.05))
    vol = {"long": rng.uniform(0.1, 0.25), "bob": rng.uniform(0.12, 0.3), "short": rng.uniform(0.06, 0.16),
           "curly": rng.uniform(0.35, 0.6)}[style]
    vol = float(vol)
    # fewer strands when the head is small: the same density per pixel, and faster
    density = 0.45 if full_body else 1.0
    n_front = int(({"long": 650, "bob": 600, "short": 700, "curly": 700}[style]) * density)
    if style == "short":
        front, back = _short_hair(rng, n_front, part, vol)
    else:
        front, back = _falling_hair(rng, style, bangs, density, n_front, part, vol)
    n_fly = int(rng.integers(12, 36) * (0.6 if full_body else 1.0) * (0.6 if style == "short" else 1.0))
    flyaways = _flyaways(rng, n_fly, part, vol, front, short=style == "short")
    return Hair(style, vol, front, back, flyaways, core_width=0.07)


_PC, _PF = 12, 16  # points on the combed part, on the falling part of a strand


def _short_hair(rng: np.random.Generator, n_front: int, part: float, vol: float) -> tuple[Strands, Strands]:
    """Short hair: combed strands plus sideburns; nothing hangs behind."""
    pc = _PC
    t_end = rng.uniform(0.8, 1.08, n_front)
    combed = _combed(rng, n_front, part, vol, pc, t_end)
    pts, sway = combed, np.tile(np.linspace(0, 0.3, pc), (n_front, 1))
    # sideburns and the hair above the ears, down to the ear lobes
    n_sb = n_front // 6
    side = np.where(rng.random(n_sb) < 0.5, -1.0, 1.0)[:, None]
    s = np.linspace(0, 1, pc)[None, :]
    u0 = rng.uniform(0.9, 1.0 + vol, (n_sb, 1))
    sb = np.stack([side * (u0 - 0.05 * s), -0.3 + rng.uniform(0.45, 0.75, (n_sb, 1)) * s], axis=-1)
    pts = np.concatenate([pts, sb])
    sway = np.concatenate([sway, np.tile(np.linspace(0, 0.2, pc), (n_sb, 1))])
    return Strands(pts, sway, _widths(rng, len(pts))), Strands.empty(pc)


def _fall_shape(rng: np.random.Generator, style: str, n_front: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    """(where each strand ends, its outward flare, wave amplitude, curl-in) of long, bob or curly hair."""
    if style == "long":
        v_end = rng.uniform(3.2, 6.0) + rng.uniform(-0.5, 0.3, n_front)
        flare = rng.uniform(0.2, 0.8) * rng.uniform(0.6, 1.2, n_front)
        wave, curl = float(rng.uniform(0.02, 0.12)), 0.0
    elif style == "bob":
        v_end = rng.uniform(0.9, 1.6) + rng.uniform(-0.12, 0.08, n_front)
        flare = rng.uniform(0.05, 0.25) * rng.uniform(0.6, 1.2, n_front)
        wave, curl = 0.03, float(rng.uniform(0.1, 0.3))
    else:  # curly
        v_end = rng.uniform(1.2, 3.0) + rng.uniform(-0.4, 0.3, n_front)
        flare = rng.uniform(0.3, 0.7) * rng.uniform(0.6, 1.2, n_front)
        wave, curl = 0.05, 0.0
    return v_end, flare, wave, curl


def _falling_hair(rng: np.random.Generator, style: str, bangs: bool, density: float, n_front: int, part: float,
                  vol: float) -> tuple[Strands, Strands]:
    """Long, bob or curly hair: combed strands that fall from the head, and hair hanging behind."""
    pc, pf = _PC, _PF
    combed = _combed(rng, n_front, part, vol, pc, np.ones(n_front))
    v_end, flare, wave, curl = _fall_shape(rng, style, n_front)
    fall = _fall(rng, combed[:, -1], v_end, flare, pf, wave, curl)
    pts = np.concatenate([combed, fall[:, 1:]], axis=1)
    sway = np.concatenate([np.zeros((n_front, pc)), np.tile(np.linspace(0, 1, pf)[1:], (n_front, 1))], axis=1)
    if style == "curly":
        pts, sway = _curl(rng, pts, sway, amp=float(rng.uniform(0.06, 0.12)), period=float(rng.uniform(0.2, 0.32)))
    if bangs and style in ("long", "bob"):
        pts, sway = _add_bangs(rng, pts, sway, int(180 * density))
    front = Strands(pts, sway, _widths(rng, len(pts)))
    return front, _back_hair(rng, style, density, vol, v_end, flare, wave, curl)


def _back_hair(rng: np.random.Generator, style: str, density: float, vol: float, v_end: np.ndarray,
               flare: np.ndarray, wave: float, curl: float) -> Strands:
    """Hair hanging behind the neck and shoulders, as long as the front's median strand."""
    pf = _PF
    n_back = int(320 * density)
    u0 = rng.uniform(-1.0 - vol, 1.0 + vol, n_back)
    start = np.stack([u0, rng.uniform(-0.2, 0.3, n_back)], axis=-1)
    back_end = float(np.median(v_end)) + rng.uniform(-0.4, 0.2, n_back)
    bpts = _fall(rng, start, back_end, np.abs(u0) * float(np.median(flare)) * 0.8, pf, wave, curl)
    bsway = np.tile(np.linspace(0, 1, pf), (n_back, 1))
    if style == "curly":
        bpts, bsway = _curl(rng, bpts, bsway, amp=0.08, period=0.25)
    return Strands(bpts, bsway, _widths(rng, n_back))


def _widths(rng: np.random.Generator, n: int) -> np.ndarray:
    # mostly one sub-pixel (1/SS px) wide, some two
    return np.where(rng.random(n) < 0.2, 2, 1).astype(np.int32)


def _curl(rng: np.random.Generator, pts: np.ndarray, sway: np.ndarray, amp: float, period: float) -> tuple[np.ndarray, np.ndarray]:
    """Corkscrew curls: a circle travelled along the strand, one turn per ``period`` head units.

    Curls need many more points along the strand to stay round: the strand is resampled to
    ``fine`` points (6 per turn), and its sway weights with it.
    """
    n, p, _ = pts.shape
    seg = np.sqrt((np.diff(pts, axis=1) ** 2).sum(-1))
    s = np.concatenate([np.zeros((n, 1)), np.cumsum(seg, axis=1)], axis=1)
    fine = max(p, int(np.ceil(s[:, -1].max() / period * 6)))  # 6 points a turn
    q = np.linspace(0.0, 1.0, fine)[None, :] * s[:, -1:]  # arc length of each new point, N x fine
    # piecewise-linear interpolation of every strand at once
    # segment index of every new point: one searchsorted over all strands, rows offset apart
    big = float(s[:, -1].max()) + 1.0
    rows = np.arange(n)[:, None] * big
    flat = np.searchsorted((s + rows).ravel(), (q + rows).ravel(), side="right").reshape(n, fine)
    k = np.clip(flat - 1 - np.arange(n)[:, None] * p, 0, p - 2)
    s0 = np.take_along_axis(s, k, 1)
    s1 = np.take_along_axis(s, k + 1, 1)
    f = np.clip((q - s0) / np.maximum(s1 - s0, 1e-9), 0, 1)[..., None]
    p0 = np.take_along_axis(pts, k[..., None], 1)
    p1 = np.take_along_axis(pts, (k + 1)[..., None], 1)
    base = p0 + f * (p1 - p0)
    w = np.take_along_axis(sway, k, 1) * (1 - f[..., 0]) + np.take_along_axis(sway, k + 1, 1) * f[..., 0]
    ph = rng.uniform(0, 2 * np.pi, (n, 1))
    a = amp * rng.uniform(0.7, 1.3, (n, 1)) * np.clip(q / 0.4, 0, 1)  # straight at the root
    ang = 2 * np.pi * q / period + ph
    out = base + np.stack([a * np.cos(ang), a * np.sin(ang)], axis=-1)
    return out, w


def _add_bangs(rng: np.random.Generator, pts: np.ndarray, sway: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    p = pts.shape[1]
    s = np.linspace(0.0, 1.0, p)[None, :]
    u0 = rng.uniform(-0.85, 0.85, (n, 1))
    top = -np.sqrt(np.clip(1 - u0**2, 0, 1)) * 1.2  # roots on the crown
    end = rng.uniform(-0.5, -0.3) + rng.uniform(-0.06, 0.06, (n, 1))
    u = u0 * (1 + 0.12 * s) + 0.02 * np.sin(rng.uniform(3, 6, (n, 1)) * s + rng.uniform(0, 6, (n, 1)))
    v = top + (end - top) * s
    b = np.stack([u, v], axis=-1)
    return np.concatenate([pts, b]), np.concatenate([sway, np.tile(0.3 * s[0], (n, 1))])


def _flyaways(rng: np.random.Generator, n: int, part: float, vol: float, front: Strands, short: bool) -> Strands:
    """Stray strands leaving the outside of the hair: they start along the local hair direction,
    turn outwards and droop under gravity."""
    p = 12
    if n == 0 or len(front.points) == 0:
        return Strands.empty(p)
    m = front.points.shape[1]
    idx = rng.integers(0, len(front.points), 6 * n)
    k = rng.integers(2, m - 1, 6 * n)
    cand = front.points[idx, k]
    # keep the candidates furthest out: the crown and sides of the hair volume
    out = np.where(cand[:, 1] < 0.3, np.hypot(cand[:, 0], cand[:, 1] / 1.28), np.abs(cand[:, 0]))
    keep = np.argsort(-out)[: 3 * n]  # the outer half of the candidates
    keep = rng.choice(keep, n, replace=False)
    idx, k, start = idx[keep], k[keep], cand[keep]
    tan = front.points[idx, k + 1] - front.points[idx, k - 1]
    ang0 = np.arctan2(tan[:, 1], tan[:, 0])
    # turn outwards: away from the vertical axis of the head
    outward = np.sign(start[:, 0] + 1e-9)
    turn = rng.uniform(0.15, 0.7, n)
    ang0 = ang0 - outward * np.sign(np.sin(ang0) + 1e-9) * turn
    length = rng.uniform(0.25, 0.6, n) if short else rng.uniform(0.35, 1.1, n)
    bend = rng.uniform(-0.8, 0.8, n)
    s = np.linspace(0, 1, p)[None, :]
    a = ang0[:, None] + bend[:, None] * s
    step = length[:, None] / (p - 1)
    du = np.cos(a) * step
    dv = np.sin(a) * step + 0.25 * step * s  # gravity
    u = start[:, 0:1] + np.cumsum(du, axis=1) - du[:, :1]
    v = start[:, 1:2] + np.cumsum(dv, axis=1) - dv[:, :1]
    sw = np.clip(front.sway[idx, k][:, None] + 0.5 * s, 0, 1.5)
    pts = np.stack([u, v], axis=-1)
    # no stray strand across the face (below the hairline, inside the head outline)
    inside = (pts[..., 1] > -0.75) & (np.abs(pts[..., 0]) < 0.97 * np.sqrt(np.clip(1 - (pts[..., 1] / 1.28) ** 2, 0, 1)))
    ok = ~inside.any(axis=1)
    return Strands(pts[ok], sw[ok], np.ones(int(ok.sum()), dtype=np.int32))

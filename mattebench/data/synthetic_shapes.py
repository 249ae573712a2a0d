"""Geometry helpers for the synthetic portraits: outlines as point arrays, drawn supersampled.

Shapes are built in *head units* (u, v): origin at the centre of the head, u to the right, v down,
one unit = half the head width. :class:`Frame` maps them to output pixels; :class:`Canvas` draws
them at ``SS`` times the output resolution with OpenCV (sub-pixel fixed point) and area-averages
back down, which is what makes the edges of every shape fractional (a box filter over SS x SS
sub-pixels per output pixel).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SS = 4  # supersampling factor per axis: SS*SS sub-pixels per output pixel
_SHIFT = 4  # OpenCV fixed-point bits for sub-pixel vertex positions


@dataclass(frozen=True)
class Frame:
    """Head units -> output pixels: x = ox + a*u, y = oy + a*v (pixel i spans [i, i+1))."""

    ox: float
    oy: float
    a: float

    def to_px(self, uv: np.ndarray) -> np.ndarray:
        uv = np.asarray(uv, dtype=np.float64)
        return np.stack([self.ox + self.a * uv[..., 0], self.oy + self.a * uv[..., 1]], axis=-1)

    def grid(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """(u, v) head coordinates of every output pixel centre, float32 HxW each."""
        xs = (np.arange(width, dtype=np.float32) + 0.5 - self.ox) / self.a
        ys = (np.arange(height, dtype=np.float32) + 0.5 - self.oy) / self.a
        u = np.broadcast_to(xs[None, :], (height, width))
        v = np.broadcast_to(ys[:, None], (height, width))
        return u, v


def _fixed(px: np.ndarray, scale: float) -> np.ndarray:
    """Continuous output pixels -> OpenCV fixed-point coordinates on a canvas ``scale`` times larger.

    OpenCV puts pixel j's centre at integer j, and output pixel i spans [i, i+1), so a continuous
    position x lands at x*scale - 0.5 on the canvas.
    """
    return np.round((px * scale - 0.5) * (1 << _SHIFT)).astype(np.int32)


class Canvas:
    """A supersampled uint8 canvas (HS x WS) for one layer's coverage or labels."""

    def __init__(self, height: int, width: int, frame: Frame, ss: int = SS) -> None:
        self.h, self.w, self.ss, self.frame = height, width, ss, frame
        self.img = np.zeros((height * ss, width * ss), dtype=np.uint8)

    def fill(self, outline_uv: np.ndarray, value: int = 255) -> None:
        pts = _fixed(self.frame.to_px(outline_uv), self.ss)
        cv2.fillPoly(self.img, [pts.reshape(-1, 1, 2)], int(value), cv2.LINE_8, _SHIFT)

    def fill_many(self, outlines_uv: list[np.ndarray], value: int = 255) -> None:
        if outlines_uv:
            pts = [_fixed(self.frame.to_px(o), self.ss).reshape(-1, 1, 2) for o in outlines_uv]
            cv2.fillPoly(self.img, pts, int(value), cv2.LINE_8, _SHIFT)

    def lines(self, curves_px: np.ndarray, thickness: int = 1, value: int = 255) -> None:
        """Polylines given in *output pixels* (N x P x 2); thickness in canvas pixels (1/SS px).

        Drawn aliased on the fine canvas: the area average does the antialiasing (and OpenCV's
        own antialiased lines are ten times slower).
        """
        if len(curves_px) == 0:
            return
        pts = np.ascontiguousarray(_fixed(np.asarray(curves_px), self.ss))  # N x P x 2: N polylines
        cv2.polylines(self.img, pts, False, int(value), int(thickness), cv2.LINE_8, _SHIFT)

    def coverage(self, value: int | None = None) -> np.ndarray:
        """Area average down to the output size: HxW float32 in [0, 1].

        With ``value`` the coverage of the sub-pixels equal to it (a label canvas), otherwise the
        mean of the canvas itself (a coverage canvas, 255 = covered).
        """
        src = self.img if value is None else cv2.compare(self.img, int(value), cv2.CMP_EQ)
        small = cv2.resize(src, (self.w, self.h), interpolation=cv2.INTER_AREA)
        return small.astype(np.float32) / 255.0


def ellipse(cu: float, cv: float, ru: float, rv: float, n: int = 48, rot: float = 0.0) -> np.ndarray:
    t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    x, y = ru * np.cos(t), rv * np.sin(t)
    c, s = np.cos(rot), np.sin(rot)
    return np.stack([cu + c * x - s * y, cv + s * x + c * y], axis=-1)


def chaikin(points: np.ndarray, iterations: int = 3, closed: bool = True) -> np.ndarray:
    """Corner cutting: a smooth outline through (near) the given control points."""
    p = np.asarray(points, dtype=np.float64)
    for _ in range(iterations):
        q = np.roll(p, -1, axis=0) if closed else p[1:]
        a = p if closed else p[:-1]
        new = np.empty((2 * len(a), 2))
        new[0::2] = 0.75 * a + 0.25 * q
        new[1::2] = 0.25 * a + 0.75 * q
        p = new if closed else np.vstack([points[:1], new, points[-1:]])
    return p


def resample(points: np.ndarray, n: int) -> np.ndarray:
    """n points evenly spaced by arc length along an open polyline."""
    p = np.asarray(points, dtype=np.float64)
    seg = np.sqrt((np.diff(p, axis=0) ** 2).sum(-1))
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], n)
    return np.stack([np.interp(t, s, p[:, 0]), np.interp(t, s, p[:, 1])], axis=-1)


def capsule(centre: np.ndarray, half_widths: np.ndarray, cap_points: int = 8) -> np.ndarray:
    """Outline of a tapered limb around a centre polyline, with round ends."""
    c = np.asarray(centre, dtype=np.float64)
    w = np.asarray(half_widths, dtype=np.float64)
    d = np.gradient(c, axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    nrm = np.stack([-d[:, 1], d[:, 0]], axis=-1)
    left, right = c + nrm * w[:, None], c - nrm * w[:, None]

    def cap(p: np.ndarray, direction: np.ndarray, r: float, start_normal: np.ndarray) -> np.ndarray:
        ang0 = np.arctan2(start_normal[1], start_normal[0])
        sweep = np.linspace(0.0, np.pi, cap_points + 2)[1:-1]
        # turn from +normal towards -normal through the direction of travel
        sign = 1.0 if start_normal[0] * direction[1] - start_normal[1] * direction[0] > 0 else -1.0
        a = ang0 + sign * sweep
        return p + r * np.stack([np.cos(a), np.sin(a)], axis=-1)

    end_cap = cap(c[-1], d[-1], w[-1], nrm[-1])
    start_cap = cap(c[0], -d[0], w[0], -nrm[0])
    return np.vstack([left, end_cap, right[::-1], start_cap])


def quad_bezier(p0: np.ndarray, p1: np.ndarray, p2: np.ndarray, n: int = 12) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


class Noise:
    """Smooth value noise fixed to the person (head units), so textures move with the body."""

    def __init__(self, rng: np.random.Generator, cells: tuple[int, int] = (24, 24), extent: float = 24.0) -> None:
        self.grid = rng.random(cells).astype(np.float32)
        self.extent = extent  # head units covered by the grid (from -extent/2 .. +extent/2 ...)

    def sample(self, u: np.ndarray, v: np.ndarray, su: float, sv: float) -> np.ndarray:
        """Noise in [0, 1] at head coordinates, one grid cell = su x sv head units."""
        gh, gw = self.grid.shape
        mx = (u / su + gw / 2.0).astype(np.float32)
        my = (v / sv + gh / 4.0).astype(np.float32)
        return cv2.remap(self.grid, mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)

"""Procedural portraits with exact ground truth: the renderer behind the ``synthetic`` dataset.

A :class:`Portrait` holds every random choice for one person (drawn once from a seeded generator
by :func:`sample_portrait`); :func:`render_portrait` turns it into an alpha matte and a true
foreground colour, optionally moved by a pixel offset and with the hair swayed (video frames).

The person is a stack of layers, back to front: hair hanging behind the neck, a veil, the body
(head, neck, torso, arms, legs, clothes), the hair in front, the held object, the fingers around it.
Each layer's coverage is drawn supersampled (:class:`~mattebench.data.synthetic_shapes.Canvas`,
SS x SS sub-pixels) and area-averaged, semi-transparent layers multiply it by their opacity, and the
layers are combined with the *over* operator on premultiplied colour:

    P <- a_k * C_k + (1 - a_k) * P,     A <- a_k + (1 - a_k) * A,     F = P / A.

So alpha is fractional wherever a boundary, a strand thinner than a pixel, or a sheer layer falls,
and ``I = A * F + (1 - A) * B`` holds for any background B: the matting equation, exactly.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass, field
from typing import Optional

import cv2
import numpy as np

from mattebench.data.synthetic_hair import HAIR_STYLES, Hair, make_hair
from mattebench.data.synthetic_shapes import (
    Canvas,
    Frame,
    Noise,
    capsule,
    chaikin,
    ellipse,
    quad_bezier,
    resample,
)

OBJECT_KINDS: tuple[str, ...] = ("mug", "phone", "book", "flowers", "balloon", "wine_glass")
SEMI_TRANSPARENT_OBJECTS = ("wine_glass",)

SKIN_TONES = np.array(
    [
        (0.98, 0.86, 0.77), (0.95, 0.78, 0.66), (0.88, 0.68, 0.54), (0.80, 0.58, 0.44),
        (0.66, 0.47, 0.34), (0.52, 0.36, 0.26), (0.38, 0.26, 0.19), (0.28, 0.19, 0.14),
    ]
)
HAIR_COLOURS = np.array(
    [
        (0.05, 0.04, 0.04), (0.12, 0.08, 0.06), (0.24, 0.15, 0.09), (0.38, 0.24, 0.13),
        (0.55, 0.26, 0.12), (0.78, 0.62, 0.38), (0.90, 0.80, 0.58), (0.66, 0.64, 0.62),
    ]
)
HAIR_WEIGHTS = np.array([0.2, 0.2, 0.17, 0.13, 0.08, 0.1, 0.07, 0.05])  # grey and platinum rarer
PATTERNS = ("plain", "stripes", "checks", "gradient", "dots")

# labels on the body canvas (z-order is drawing order; later shapes cover earlier ones)
SKIN, SHIRT, BOTTOM, SHOES = 1, 2, 3, 4


@dataclass
class Portrait:
    """Every random choice behind one person, in head units except where said."""

    height: int
    width: int
    cx: float  # head centre, output pixels
    cy: float
    a: float  # pixels per head unit (half the head width)
    full_body: bool
    hair: Hair
    bangs: bool
    shoulder: float  # shoulder half-width, head units
    waist: float
    hips: float
    sleeves: str  # "long" | "short"
    neckline: str  # "round" | "v"
    bottom: str  # "trousers" | "skirt"
    pattern: str
    pattern_freq: float
    pattern_angle: float
    colours: dict[str, np.ndarray]
    holds_object: bool
    object_kind: Optional[str]
    object_side: float  # +1 right of the image, -1 left
    arm_pose: str  # "relaxed" | "front" | "side"
    veil: bool
    veil_opacity: float
    eyeglasses: bool
    sunglasses: bool
    light: tuple[float, float]
    object_params: dict[str, float] = field(default_factory=dict)
    noise_skin: Noise | None = None
    noise_cloth: Noise | None = None
    noise_hair: Noise | None = None

    def frame(self, offset: tuple[float, float] = (0.0, 0.0)) -> Frame:
        return Frame(self.cx + offset[0], self.cy + offset[1], self.a)

    def factors(self) -> dict[str, object]:
        return {
            "full_body": self.full_body,
            "holds_object": self.holds_object,
            "object": self.object_kind,
            "veil": self.veil,
            "eyeglasses": self.eyeglasses,
            "sunglasses": self.sunglasses,
            "hair_style": self.hair.style,
            "arm_pose": self.arm_pose,
        }


def _hsv(h: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(h % 1.0, s, v))


def _pick(rng: np.random.Generator, palette: np.ndarray, jitter: float = 0.03) -> np.ndarray:
    c = palette[int(rng.integers(len(palette)))]
    return np.clip(c * rng.uniform(1 - jitter, 1 + jitter, 3), 0, 1)


def _colours(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Skin, hair, clothes, eyes, lips, object, veil and spectacle-frame colours of one person."""
    skin = _pick(rng, SKIN_TONES)
    hair_c = HAIR_COLOURS[int(rng.choice(len(HAIR_COLOURS), p=HAIR_WEIGHTS))] * rng.uniform(0.94, 1.06, 3)
    hair_c = np.clip(hair_c, 0, 1)
    shirt = _hsv(rng.random(), rng.uniform(0.15, 0.85), rng.uniform(0.25, 0.95))
    return {
        "skin": skin,
        "hair": hair_c,
        "shirt": shirt,
        "shirt2": _hsv(rng.random(), rng.uniform(0.0, 0.6), rng.uniform(0.5, 1.0)),
        "bottom": _hsv(rng.random(), rng.uniform(0.1, 0.6), rng.uniform(0.12, 0.6)),
        "shoes": _hsv(rng.random(), rng.uniform(0.0, 0.5), rng.uniform(0.05, 0.4)),
        "iris": np.array([(0.25, 0.15, 0.08), (0.3, 0.45, 0.6), (0.3, 0.45, 0.25), (0.1, 0.07, 0.05)][int(rng.integers(4))]),
        "lips": np.clip(skin * np.array([0.92, 0.62, 0.62]) + rng.uniform(-0.04, 0.04, 3), 0, 1),
        "object": _hsv(rng.random(), rng.uniform(0.4, 0.9), rng.uniform(0.4, 0.95)),
        "object2": _hsv(rng.random(), rng.uniform(0.3, 0.9), rng.uniform(0.5, 1.0)),
        "veil": np.array([0.97, 0.96, 0.93]) * rng.uniform(0.93, 1.0),
        "frames": np.array([(0.08, 0.07, 0.07), (0.45, 0.3, 0.15), (0.7, 0.6, 0.4), (0.2, 0.2, 0.35)][int(rng.integers(4))]),
    }


def _framing(rng: np.random.Generator, height: int, width: int, hair: Hair, veil: bool, shoulder: float,
             kind: Optional[str], pose: str, side: float, full_body: bool) -> tuple[float, float, float]:
    """The scale (pixels per head unit) and the head centre (cx, cy) that keep the person in the picture."""
    # the extent of the person (head units) that must stay in the picture
    top = -(1.28 + hair.volume) - (0.15 if veil else 0.0)
    reach = max(shoulder + 0.6, 1.0 + hair.volume + 0.2, 3.4 if veil else 0.0)
    left, right = -reach, reach
    hand_u = 0.0
    if pose == "side":
        hand_u = side * (shoulder + 1.45)
        right_extra = abs(hand_u) + (1.1 if kind == "balloon" else 0.7)
        if side > 0:
            right = max(right, right_extra)
        else:
            left = min(left, -right_extra)
    if kind == "balloon":
        top = min(top, -1.6 if pose == "side" else 3.0 - 5.6)
    if full_body:
        bottom_v = 18.0
        if pose == "relaxed" and kind is not None:
            if side > 0:
                right = max(right, shoulder + 1.6)
            else:
                left = min(left, -shoulder - 1.6)
        span = bottom_v - top
        a = height * float(rng.uniform(0.8, 0.92)) / span
        cy = -top * a + (height - span * a) * float(rng.uniform(0.25, 0.75))
    else:
        a = height / float(rng.uniform(7.4, 9.0))
        a = min(a, 0.94 * width / (right - left))  # the wide poses must fit across
        cy = -top * a + float(rng.uniform(0.02, 0.1)) * height
    lo, hi = -left * a + 0.02 * width, width - right * a - 0.02 * width
    cx = float(rng.uniform(lo, hi)) if hi > lo else 0.5 * (lo + hi)
    return a, cx, cy


def sample_portrait(
    rng: np.random.Generator,
    height: int,
    width: int,
    full_body: bool,
    holds_object: bool,
    veil: Optional[bool] = None,
    object_kind: Optional[str] = None,
) -> Portrait:
    """Draw one person. ``full_body`` and ``holds_object`` are the PPM-100 factors (set by the caller
    so that a split can balance them); everything else is drawn here."""
    style = HAIR_STYLES[int(rng.integers(len(HAIR_STYLES)))]
    bangs = bool(rng.random() < 0.35)
    hair = make_hair(rng, style, bangs, full_body)
    veil = bool(rng.random() < 0.22) if veil is None else veil
    kind = (object_kind or OBJECT_KINDS[int(rng.integers(len(OBJECT_KINDS)))]) if holds_object else None
    if kind is not None and kind not in OBJECT_KINDS:
        raise ValueError(f"unknown object {kind!r}; choose from {', '.join(OBJECT_KINDS)}")
    if kind is None:
        pose = "relaxed"
    elif full_body:
        pose = "relaxed"  # full body: the object hangs from the hand at hip height
    else:
        pose = "side" if kind in ("wine_glass", "balloon", "book") else "front"
    side = float(rng.choice([-1.0, 1.0]))

    shoulder = float(rng.uniform(2.35, 2.85))
    colours = _colours(rng)
    eyeglasses = bool(rng.random() < 0.3)
    sunglasses = eyeglasses and bool(rng.random() < 0.35)

    a, cx, cy = _framing(rng, height, width, hair, veil, shoulder, kind, pose, side, full_body)
    obj: dict[str, float] = {
        "tilt": float(rng.uniform(-0.25, 0.25)),
        "wine": float(rng.random() < 0.5),
        "n_flowers": float(rng.integers(3, 7)),
        "glass_opacity": float(rng.uniform(0.28, 0.45)),
        "seed": float(rng.integers(1 << 30)),
    }
    return Portrait(
        height=height, width=width, cx=cx, cy=cy, a=a, full_body=full_body, hair=hair, bangs=bangs,
        shoulder=shoulder, waist=float(rng.uniform(1.5, 1.9)), hips=float(rng.uniform(1.8, 2.2)),
        sleeves="long" if rng.random() < 0.5 else "short", neckline="v" if rng.random() < 0.4 else "round",
        bottom="skirt" if rng.random() < 0.3 else "trousers",
        pattern=PATTERNS[int(rng.integers(len(PATTERNS)))], pattern_freq=float(rng.uniform(2.0, 5.0)),
        pattern_angle=float(rng.choice([0.0, np.pi / 2, np.pi / 4, -np.pi / 4])),
        colours=colours, holds_object=holds_object, object_kind=kind, object_side=side, arm_pose=pose,
        veil=veil, veil_opacity=float(rng.uniform(0.38, 0.6)), eyeglasses=eyeglasses, sunglasses=sunglasses,
        light=(float(rng.uniform(-1, 1)), float(rng.uniform(-1, 0.3))), object_params=obj,
        noise_skin=Noise(rng), noise_cloth=Noise(rng), noise_hair=Noise(rng, (32, 256)),
    )


# ----------------------------------------------------------------------------------------------
# body geometry (head units)


def _arm(p: Portrait, side: float, pose: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre line, half widths and hand centre of one arm."""
    sh = np.array([side * (p.shoulder - 0.4), 2.7])
    if pose == "side":
        elbow = np.array([side * (p.shoulder + 0.95), 4.9])
        hand = np.array([side * (p.shoulder + 1.45), 3.25])
    elif pose == "front":
        elbow = np.array([side * (p.shoulder + 0.15), 5.7])
        hand = np.array([side * 0.75, 4.75])
    elif pose == "hold_low":
        elbow = np.array([side * (p.shoulder + 0.35), 5.6])
        hand = np.array([side * (p.shoulder + 1.0), 8.3])
    else:
        elbow = np.array([side * (p.shoulder + 0.05), 5.6])
        hand = np.array([side * (p.shoulder - 0.05), 8.4])
    wrist = hand + (elbow - hand) * (0.45 / np.linalg.norm(elbow - hand))
    centre = np.vstack([resample(np.vstack([sh, elbow]), 6), resample(np.vstack([elbow, wrist]), 6)[1:]])
    widths = np.interp(np.linspace(0, 1, len(centre)), [0, 0.5, 1], [0.5, 0.37, 0.27])
    return centre, widths, hand


def _torso(p: Portrait) -> np.ndarray:
    s, w, h = p.shoulder, p.waist, p.hips
    right = np.array(
        [[0.42, 1.5], [1.2, 1.85], [1.95, 2.1], [s - 0.12, 2.5], [s - 0.02, 3.0], [s - 0.45, 3.7],
         [w + 0.25, 5.0], [w, 6.3], [h, 7.6], [h, 9.0]]
    )
    left = right[::-1] * np.array([-1.0, 1.0])
    return chaikin(np.vstack([right, left]), 3, closed=True)


def _body_shapes(p: Portrait) -> tuple[list[tuple[int, np.ndarray]], np.ndarray, np.ndarray]:
    """(label, outline) in drawing order, the holding hand's centre and the arm holding it."""
    shapes: list[tuple[int, np.ndarray]] = []
    trousers = p.bottom == "trousers"
    for side in (-1.0, 1.0):  # legs and feet
        leg = np.array([[side * 0.95, 8.2], [side * 0.88, 13.0], [side * 0.78, 17.2]])
        shapes.append((BOTTOM if trousers else SKIN, capsule(resample(leg, 9), np.interp(np.linspace(0, 1, 9), [0, 0.5, 1], [0.98, 0.55, 0.33]))))
        shapes.append((SHOES, ellipse(side * 0.92, 17.55, 0.55, 0.3, 24)))
    hip = chaikin(np.array([[-p.waist, 6.2], [p.waist, 6.2], [p.hips, 7.6], [p.hips + 0.05, 9.2], [-p.hips - 0.05, 9.2], [-p.hips, 7.6]]), 2)
    shapes.append((BOTTOM, hip))
    if not trousers:
        shapes.append((BOTTOM, chaikin(np.array([[-p.waist, 6.2], [p.waist, 6.2], [p.hips + 0.9, 12.2], [-p.hips - 0.9, 12.2]]), 2)))
    shapes.append((SKIN, np.array([[-0.46, 0.6], [0.46, 0.6], [0.5, 2.0], [-0.5, 2.0]])))  # neck
    shapes.append((SHIRT, _torso(p)))
    if p.neckline == "v":
        shapes.append((SKIN, np.array([[-0.5, 1.52], [0.5, 1.52], [0.0, 2.75]])))
    else:
        shapes.append((SKIN, np.vstack([[[-0.5, 1.5]], quad_bezier(np.array([-0.5, 1.5]), np.array([0.0, 2.45]), np.array([0.5, 1.5]), 12)])))
    for side in (-1.0, 1.0):  # ears, then the head over them
        shapes.append((SKIN, ellipse(side * 0.98, 0.08, 0.17, 0.3, 20)))
    shapes.append((SKIN, _head()))

    hold_hand = np.array([np.nan, np.nan])
    for side in (-1.0, 1.0):
        holding = p.holds_object and side == p.object_side
        pose = p.arm_pose if holding else "relaxed"
        if holding and p.full_body:
            pose = "hold_low"
        centre, widths, hand = _arm(p, side, pose)
        shapes.append((SKIN, capsule(centre, widths)))
        sleeve_end = len(centre) if p.sleeves == "long" else 4
        shapes.append((SHIRT, capsule(centre[:sleeve_end], widths[:sleeve_end] + 0.04)))
        shapes.append((SKIN, ellipse(hand[0], hand[1], 0.3, 0.36, 20)))
        if holding:
            hold_hand = hand
    return shapes, hold_hand, np.array([p.object_side])


def _head() -> np.ndarray:
    # an egg: wider at the temples than at the jaw
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    u = np.cos(t)
    v = 1.28 * np.sin(t)
    u = u * np.where(v > 0, 1.0 - 0.22 * (v / 1.28) ** 2, 1.0)
    return np.stack([u, v], axis=-1)


# ----------------------------------------------------------------------------------------------
# colour fields (output resolution, float32 RGB in [0, 1])


def _shade(p: Portrait, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    lu, lv = p.light
    return np.clip(1.0 + 0.08 * lu * np.tanh(u / 2.0) + 0.05 * lv * np.tanh(v / 6.0), 0.7, 1.2)


def _skin_field(p: Portrait, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    n = p.noise_skin.sample(u, v, 0.35, 0.35)
    # rounded forms: darker towards the outline of head and limbs, warmer cheeks
    r2 = u**2 + (v / 1.28) ** 2
    face = np.where(v < 1.6, np.clip(1.0 - 0.22 * np.clip(r2 - 0.35, 0, 1), 0.75, 1.0), 1.0)
    # shadow under the jaw, fading down the neck
    neck_shadow = 1.0 - 0.2 * np.clip((v - 0.95) / 0.25, 0, 1) * np.clip((1.75 - v) / 0.6, 0, 1) * (np.abs(u) < 0.7)
    cheek = np.exp(-(((np.abs(u) - 0.55) ** 2) / 0.04 + ((v - 0.35) ** 2) / 0.03))
    base = p.colours["skin"][None, None, :] * (face * neck_shadow * (0.96 + 0.08 * n) * _shade(p, u, v))[..., None]
    blush = np.array([0.05, -0.03, -0.03])[None, None, :] * cheek[..., None]
    return np.clip(base + blush, 0, 1).astype(np.float32)


def _pattern(p: Portrait, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A 0..1 mix between the two shirt colours."""
    c, s = np.cos(p.pattern_angle), np.sin(p.pattern_angle)
    x = c * u + s * v
    y = -s * u + c * v
    f = p.pattern_freq
    if p.pattern == "stripes":
        return np.clip((np.sin(2 * np.pi * f * x / 2.5) * 3.0), -1, 1) * 0.5 + 0.5
    if p.pattern == "checks":
        a = np.clip(np.sin(2 * np.pi * f * x / 3.0) * 3, -1, 1)
        b = np.clip(np.sin(2 * np.pi * f * y / 3.0) * 3, -1, 1)
        return 0.25 * (a + 1) * 0.5 + 0.25 * (b + 1) * 0.5 + 0.25 * (a * b + 1)
    if p.pattern == "gradient":
        return np.clip((v - 2.0) / 7.0, 0, 1)
    if p.pattern == "dots":
        g = 2.0 / f
        dx = (u % g) - g / 2
        dy = (v % g) - g / 2
        return np.clip((g * 0.22 - np.sqrt(dx * dx + dy * dy)) * p.a, 0, 1)
    return np.zeros_like(u)


def _cloth_field(p: Portrait, u: np.ndarray, v: np.ndarray, colour: np.ndarray, colour2: np.ndarray, pattern: bool,
                 folds: np.ndarray) -> np.ndarray:
    """Fabric: two colours mixed by the pattern, soft folds (noise, elongated vertically), and
    cylinder shading across the torso and limbs."""
    n = folds
    cyl = 1.0 - 0.28 * np.clip(np.abs(u) / (p.shoulder + 0.4), 0, 1) ** 2
    k = _pattern(p, u, v)[..., None] if pattern else 0.0
    base = colour[None, None, :] * (1 - k) + colour2[None, None, :] * k
    shade = (0.78 + 0.3 * n) * cyl * _shade(p, u, v)
    return np.clip(base * shade[..., None], 0, 1).astype(np.float32)


def _strand_tone(shape: tuple[int, int], fr: Frame, strands: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each strand's own brightness drawn along its path (output resolution, 8 tone buckets), so
    the texture of the hair follows the strands; 0.5 where no strand passes."""
    m = np.full(shape, 128, np.uint8)
    for pts, tone in strands:
        if len(pts) == 0:
            continue
        px = np.round((fr.to_px(pts) - 0.5) * 16).astype(np.int32)
        bucket = np.minimum((tone * 8).astype(int), 7)
        for b in range(8):
            sel = px[bucket == b]
            if len(sel):
                cv2.polylines(m, np.ascontiguousarray(sel), False, int(40 + b * 25), 1, cv2.LINE_8, 4)
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 0.6)


def _hair_field(p: Portrait, u: np.ndarray, v: np.ndarray, strand_tone: np.ndarray) -> np.ndarray:
    # strand tones, broad streaks, a sheen band on the crown, darker underneath
    streak = p.noise_hair.sample(u, v, 0.035, 0.6)
    streak2 = strand_tone
    r = np.sqrt(u**2 + (v / 1.28) ** 2)
    sheen = np.exp(-((r - 0.9 - 0.5 * p.hair.volume) ** 2) / 0.02) * np.clip(-v, 0, 1)
    depth = np.clip(1.0 - 0.05 * np.clip(v - 1.0, 0, 6), 0.7, 1.0)
    c = p.colours["hair"][None, None, :]
    tone = (0.55 + 0.25 * streak + 0.45 * streak2) * depth
    col = c * tone[..., None] + (0.18 * sheen * (0.3 + 0.5 * c.mean()))[..., None]
    return np.clip(col, 0, 1).astype(np.float32)


def _draw_face(img8: np.ndarray, p: Portrait, fr: Frame) -> None:
    """Eyes, brows, nose, mouth (and glasses) on the uint8 skin colour image, antialiased."""
    sh = 4
    k = float(1 << sh)

    def pt(u: float, v: float) -> tuple[int, int]:
        x, y = fr.to_px(np.array([u, v]))
        return int(round((x - 0.5) * k)), int(round((y - 0.5) * k))

    def ax(ru: float, rv: float) -> tuple[int, int]:
        return int(round(ru * fr.a * k)), int(round(rv * fr.a * k))

    def col(c: np.ndarray) -> tuple[float, float, float]:
        return tuple(float(x) for x in np.clip(c * 255, 0, 255))  # type: ignore[return-value]

    thin = max(1, int(round(fr.a * 0.035)))
    skin = p.colours["skin"]
    dark = col(skin * 0.45)
    hair_dark = col(np.minimum(p.colours["hair"] * 0.9, skin * 0.5))
    aa = cv2.LINE_AA
    for s in (-1, 1):
        ex = s * 0.37
        cv2.ellipse(img8, pt(ex, -0.02), ax(0.17, 0.075), 0, 0, 360, col(np.array([0.93, 0.91, 0.88])), -1, aa, sh)
        cv2.circle(img8, pt(ex, -0.02), int(round(0.068 * fr.a * k)), col(p.colours["iris"]), -1, aa, sh)
        cv2.circle(img8, pt(ex, -0.02), int(round(0.032 * fr.a * k)), col(np.array([0.03, 0.03, 0.03])), -1, aa, sh)
        cv2.ellipse(img8, pt(ex, -0.0), ax(0.18, 0.09), 0, 190, 350, dark, thin, aa, sh)  # upper lid
        brow = quad_bezier(np.array([s * 0.17, -0.25]), np.array([s * 0.38, -0.36]), np.array([s * 0.6, -0.24]), 8)
        bp = np.round((fr.to_px(brow) - 0.5) * k).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img8, [bp], False, hair_dark, max(1, int(round(fr.a * 0.06))), aa, sh)
    nose = np.array([[0.07, 0.02], [0.12, 0.36], [0.05, 0.44]])
    npx = np.round((fr.to_px(nose) - 0.5) * k).astype(np.int32).reshape(-1, 1, 2)
    cv2.polylines(img8, [npx], False, col(skin * 0.78), thin, aa, sh)
    for s in (-1, 1):
        cv2.ellipse(img8, pt(s * 0.09, 0.45), ax(0.05, 0.025), 0, 0, 360, col(skin * 0.55), -1, aa, sh)
    cv2.ellipse(img8, pt(0.0, 0.72), ax(0.24, 0.09), 0, 0, 360, col(p.colours["lips"]), -1, aa, sh)
    cv2.ellipse(img8, pt(0.0, 0.69), ax(0.24, 0.03), 0, 0, 180, col(p.colours["lips"] * 0.55), thin, aa, sh)
    if p.eyeglasses:
        frame_c = col(p.colours["frames"])
        lw = max(1, int(round(fr.a * 0.045)))
        for s in (-1, 1):
            c0 = pt(s * 0.38, -0.02)
            axes = ax(0.27, 0.2)
            if p.sunglasses:
                lens = img8.copy()
                cv2.ellipse(lens, c0, axes, 0, 0, 360, col(np.array([0.05, 0.06, 0.08])), -1, aa, sh)
                cv2.addWeighted(lens, 0.82, img8, 0.18, 0, dst=img8)
            cv2.ellipse(img8, c0, axes, 0, 0, 360, frame_c, lw, aa, sh)
            cv2.line(img8, pt(s * 0.65, -0.05), pt(s * 0.98, -0.08), frame_c, lw, aa, sh)
        cv2.ellipse(img8, pt(0.0, -0.02), ax(0.12, 0.06), 0, 200, 340, frame_c, lw, aa, sh)


# ----------------------------------------------------------------------------------------------
# held objects: each returns its sub-layers (coverage * opacity, colour)


@dataclass(frozen=True)
class _ObjectCanvas:
    """What every held-object drawer needs: the portrait, the window's frame and grid, the hand."""

    p: Portrait
    fr: Frame
    u: np.ndarray
    v: np.ndarray
    hu: float
    hv: float

    def flat(self, colour: np.ndarray, shade: Optional[np.ndarray] = None) -> np.ndarray:
        f = np.broadcast_to(colour.astype(np.float32), (*self.u.shape, 3))
        return f if shade is None else np.clip(f * shade[..., None], 0, 1).astype(np.float32)

    def cov(self, shapes: list[np.ndarray], holes: Optional[list[np.ndarray]] = None) -> np.ndarray:
        cv_ = Canvas(*self.u.shape, self.fr)
        cv_.fill_many(shapes, 255)
        if holes:
            cv_.fill_many(holes, 0)
        return cv_.coverage()


def _rot(pts: np.ndarray, centre: tuple[float, float], ang: float) -> np.ndarray:
    c, s = np.cos(ang), np.sin(ang)
    d = pts - np.array(centre)
    return np.stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]], axis=-1) + np.array(centre)


Layers = list[tuple[np.ndarray, np.ndarray]]


def _mug(o: _ObjectCanvas) -> Layers:
    hu, hv, c1 = o.hu, o.hv, o.p.colours["object"]
    cyl = np.clip(1.0 - 0.45 * ((o.u - hu) / 0.55) ** 2, 0.5, 1.1)
    body = chaikin(np.array([[hu - 0.42, hv - 0.75], [hu + 0.42, hv - 0.75], [hu + 0.38, hv + 0.3], [hu - 0.38, hv + 0.3]]), 2)
    hx = hu - o.p.object_side * 0.45
    ring = [ellipse(hx, hv - 0.25, 0.27, 0.3, 32)]
    hole = [ellipse(hx, hv - 0.25, 0.15, 0.18, 32)]
    return [(o.cov(ring, hole), o.flat(c1 * 0.85)), (o.cov([body]), o.flat(c1, cyl))]


def _phone(o: _ObjectCanvas) -> Layers:
    hu, hv, tilt = o.hu, o.hv, o.p.object_params["tilt"]
    r = chaikin(np.array([[-0.3, -0.6], [0.3, -0.6], [0.3, 0.6], [-0.3, 0.6]]), 3) + np.array([hu, hv - 0.5])
    r = _rot(r, (hu, hv - 0.5), tilt)
    scr = chaikin(np.array([[-0.25, -0.52], [0.25, -0.52], [0.25, 0.52], [-0.25, 0.52]]), 2) + np.array([hu, hv - 0.5])
    scr = _rot(scr, (hu, hv - 0.5), tilt)
    grad = np.clip(0.6 + 0.4 * (o.v - hv) / 1.2, 0.3, 1.0)
    return [(o.cov([r]), o.flat(np.array([0.08, 0.08, 0.09]))), (o.cov([scr]), o.flat(o.p.colours["object2"] * 0.6 + 0.15, grad))]


def _book(o: _ObjectCanvas) -> Layers:
    ctr, tilt = (o.hu, o.hv - 0.5), o.p.object_params["tilt"]
    cover = _rot(np.array([[-0.65, -0.85], [0.65, -0.85], [0.65, 0.85], [-0.65, 0.85]]) + np.array(ctr), ctr, tilt)
    pages = _rot(np.array([[-0.6, -0.8], [0.6, -0.8], [0.6, -0.68], [-0.6, -0.68]]) + np.array(ctr), ctr, tilt)
    grain = 0.85 + 0.15 * o.p.noise_cloth.sample(o.u * 5, o.v * 5, 0.3, 0.3)
    return [(o.cov([cover]), o.flat(o.p.colours["object"], grain)), (o.cov([pages]), o.flat(np.array([0.93, 0.9, 0.82])))]


def _flowers(o: _ObjectCanvas) -> Layers:
    hu, hv, p = o.hu, o.hv, o.p
    rng = np.random.default_rng(int(p.object_params["seed"]))
    stems, heads, leaves, centres = [], [], [], []
    for _ in range(int(p.object_params["n_flowers"])):
        top = np.array([hu + rng.uniform(-0.9, 0.9), hv - rng.uniform(1.6, 2.7)])
        mid = np.array([hu, hv]) * 0.5 + top * 0.5 + np.array([rng.uniform(-0.25, 0.25), 0])
        stem = quad_bezier(np.array([hu, hv + 0.4]), mid, top, 12)
        stems.append(capsule(stem, np.full(len(stem), 0.035)))
        lp = stem[int(rng.integers(3, 8))]
        leaves.append(ellipse(lp[0] + 0.12, lp[1], 0.18, 0.07, 16, rng.uniform(-1, 1)))
        for k in range(6):
            ang = 2 * np.pi * k / 6 + rng.uniform(0, 1)
            heads.append(ellipse(top[0] + 0.16 * np.cos(ang), top[1] + 0.16 * np.sin(ang), 0.16, 0.09, 16, ang))
        centres.append(ellipse(top[0], top[1], 0.08, 0.08, 12))
    green = np.array([0.2, 0.45, 0.15])
    return [
        (o.cov(stems + leaves), o.flat(green, 0.8 + 0.3 * p.noise_cloth.sample(o.u * 3, o.v * 3, 0.2, 0.2))),
        (o.cov(heads), o.flat(p.colours["object2"], 0.85 + 0.2 * p.noise_cloth.sample(o.u * 6, o.v * 6, 0.15, 0.15))),
        (o.cov(centres), o.flat(np.array([0.95, 0.78, 0.2]))),
    ]


def _balloon(o: _ObjectCanvas) -> Layers:
    hu, hv, u, v, side = o.hu, o.hv, o.u, o.v, o.p.object_side
    bc = np.array([hu + side * 0.5, hv - 4.3])
    knot = bc + np.array([0.0, 1.0])
    string = quad_bezier(np.array([hu, hv]), np.array([hu - side * 0.5, (hv + knot[1]) / 2]), knot, 24)
    cs = Canvas(*u.shape, o.fr)
    cs.lines(o.fr.to_px(string)[None], thickness=2)  # half a pixel wide
    shade = np.clip(1.15 - 0.35 * np.sqrt(((u - bc[0] + 0.3) / 0.9) ** 2 + ((v - bc[1] + 0.35) / 1.0) ** 2), 0.55, 1.2)
    spot = np.exp(-(((u - bc[0] + 0.35) ** 2) + (v - bc[1] + 0.45) ** 2) / 0.01)
    colour = np.clip(o.p.colours["object"][None, None, :] * shade[..., None] + 0.6 * spot[..., None], 0, 1).astype(np.float32)
    knot_tri = np.array([knot + [-0.1, 0.05], knot + [0.1, 0.05], knot + [0, -0.15]])
    return [(cs.coverage(), o.flat(np.array([0.85, 0.85, 0.82]))), (o.cov([ellipse(bc[0], bc[1], 0.8, 0.97, 48), knot_tri]), colour)]


def _wine_glass(o: _ObjectCanvas) -> Layers:
    """Held by the stem: bowl above the hand, foot below; the glass is sheer, its rim and outline
    catch the light and are more opaque."""
    hu, hv, p = o.hu, o.hv, o.p
    op = p.object_params["glass_opacity"]
    top_v, bot_v = hv - 1.95, hv - 0.75
    bowl = np.vstack([
        quad_bezier(np.array([hu - 0.42, top_v]), np.array([hu - 0.45, bot_v + 0.1]), np.array([hu, bot_v]), 16),
        quad_bezier(np.array([hu, bot_v]), np.array([hu + 0.45, bot_v + 0.1]), np.array([hu + 0.42, top_v]), 16),
    ])
    stem = capsule(np.array([[hu, bot_v], [hu, hv + 0.45]]), np.array([0.05, 0.05]))
    foot = ellipse(hu, hv + 0.48, 0.35, 0.07, 24)
    glass = np.array([0.88, 0.92, 0.95], dtype=np.float32)
    glint = np.clip(1.0 + 0.25 * np.exp(-((o.u - hu + 0.25) ** 2) / 0.004), 0, 1.3)
    out: Layers = [(o.cov([bowl]) * op, o.flat(glass, glint))]
    if p.object_params["wine"] > 0.5:
        level = top_v + 0.55
        wine = np.vstack([bowl[(bowl[:, 1] >= level)], [[hu + 0.4, level], [hu - 0.4, level]]])
        wine = chaikin(wine[np.argsort(np.arctan2(wine[:, 1] - (bot_v - 0.2), wine[:, 0] - hu))], 1)
        out.append((o.cov([wine]) * 0.85, o.flat(np.array([0.42, 0.04, 0.1]))))
    rim = Canvas(*o.u.shape, o.fr)
    rim.lines(o.fr.to_px(bowl)[None], thickness=max(1, int(round(o.fr.a * 0.03 * 4))))
    out.append((rim.coverage() * 0.7, o.flat(np.array([0.97, 0.98, 1.0]))))
    out.append((o.cov([stem, foot]) * min(1.0, op + 0.25), o.flat(glass)))
    return out


# One drawer per held object (OBJECT_KINDS), each returning its sub-layers back to front.
_OBJECT_DRAWERS = {"mug": _mug, "phone": _phone, "book": _book, "flowers": _flowers, "balloon": _balloon, "wine_glass": _wine_glass}


def _object_layers(p: Portrait, fr: Frame, hand: np.ndarray, u: np.ndarray, v: np.ndarray) -> Layers:
    drawer = _OBJECT_DRAWERS.get(str(p.object_kind))
    return drawer(_ObjectCanvas(p, fr, u, v, float(hand[0]), float(hand[1]))) if drawer else []


def _grip_layer(shape: tuple[int, int], fr: Frame, hand: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fingers wrapped in front of the held object."""
    hu, hv = float(hand[0]), float(hand[1])
    c = Canvas(shape[0], shape[1], fr)
    c.fill(ellipse(hu, hv + 0.05, 0.3, 0.22, 24))
    return c.coverage(), skin


# ----------------------------------------------------------------------------------------------


@dataclass
class Rendered:
    """One rendered person: alpha in [0, 1] and the true foreground colour (float32)."""

    alpha: np.ndarray  # HxW
    fg: np.ndarray  # HxWx3
    solid: np.ndarray  # HxW bool: pixels fully covered by the rigid body (no hair, no sheer layer)
    layers: dict[str, np.ndarray]  # per-layer alpha, for tests and debugging


def _strand_canvas(shape: tuple[int, int], fr: Frame, strands_pts: np.ndarray, thick: np.ndarray) -> np.ndarray:
    c = Canvas(shape[0], shape[1], fr)
    px = fr.to_px(strands_pts)
    for t in np.unique(thick):
        c.lines(px[thick == t], thickness=int(t))
    return c.coverage()


def _hair_core(p: Portrait, shape: tuple[int, int], fr: Frame, pts: np.ndarray) -> np.ndarray:
    """The dense inside of the hair: strands drawn thick, eroded well inside the strand envelope,
    softened. Outside the core only the sub-pixel strands cover, so the rim of the hair is a band
    of genuinely partial coverage about 0.22 head units wide."""
    if len(pts) == 0:
        return np.zeros(shape, np.float32)
    m = np.zeros(shape, np.uint8)
    px = np.round((fr.to_px(pts) - 0.5) * 16).astype(np.int32)
    cv2.polylines(m, np.ascontiguousarray(px), False, 255, 1, cv2.LINE_8, 4)
    # close the gaps between strands (dilate), then pull the core back inside the envelope
    rd = max(1, int(round(p.hair.core_width * fr.a)))
    re = rd + max(1, int(round(0.22 * fr.a)))
    m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rd + 1, 2 * rd + 1)))
    m = cv2.erode(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * re + 1, 2 * re + 1)))
    return cv2.GaussianBlur(m.astype(np.float32) / 255.0, (0, 0), 1.0)


# how far each held object reaches from the hand (head units): umin, umax, vmin, vmax
_OBJECT_REACH = {
    "mug": (-0.9, 0.9, -0.9, 0.5), "phone": (-0.9, 0.9, -1.3, 0.3), "book": (-1.2, 1.2, -1.6, 0.6),
    "flowers": (-1.3, 1.3, -3.0, 0.6), "balloon": (-1.6, 1.6, -5.5, 0.3), "wine_glass": (-0.6, 0.6, -2.1, 0.7),
}


def _veil_outline(p: Portrait) -> tuple[np.ndarray, float]:
    vol = p.hair.volume
    length = 7.5 if not p.full_body else 9.0
    # flaring out from the crown past the hair and the shoulders, so that it shows over the background
    outline = chaikin(np.array([[-0.6, -1.28 - vol - 0.12], [0.6, -1.28 - vol - 0.12], [1.35 + vol, -0.6], [2.9, 2.0], [3.6, length],
                                [-3.6, length], [-2.9, 2.0], [-1.35 - vol, -0.6]]), 3)
    return outline, length


def _window(p: Portrait, fr: Frame, point_sets: list[np.ndarray]) -> tuple[int, int, int, int]:
    """The pixel window (y0, y1, x0, x1) holding everything drawn, clipped to the image."""
    pts = np.concatenate([q.reshape(-1, 2) for q in point_sets if q.size])
    px = fr.to_px(pts)
    margin = 3
    x0 = int(np.clip(np.floor(px[:, 0].min()) - margin, 0, p.width))
    x1 = int(np.clip(np.ceil(px[:, 0].max()) + margin, 0, p.width))
    y0 = int(np.clip(np.floor(px[:, 1].min()) - margin, 0, p.height))
    y1 = int(np.clip(np.ceil(px[:, 1].max()) + margin, 0, p.height))
    return y0, y1, x0, x1


def _veil_layer(p: Portrait, fr: Frame, u: np.ndarray, v: np.ndarray, outline: np.ndarray, length: float) -> tuple[np.ndarray, np.ndarray]:
    """Sheer fabric from the crown to below the shoulders: folds modulate its opacity, the hem is denser."""
    cv_ = Canvas(*u.shape, fr)
    cv_.fill(outline)
    folds = 1.0 + 0.22 * np.sin(2 * np.pi * (u * 1.6 + 0.4 * p.noise_cloth.sample(u, v, 1.0, 2.0)))
    hem = np.clip((v - (length - 0.35)) / 0.1, 0, 1) * 0.3
    opacity = np.clip(p.veil_opacity * folds + hem, 0.2, 0.8)
    veil_col = np.broadcast_to(p.colours["veil"].astype(np.float32), (*u.shape, 3)) * (0.92 + 0.08 * folds / 1.22)[..., None]
    return cv_.coverage() * opacity, veil_col.astype(np.float32)


def _body_layer(p: Portrait, fr: Frame, u: np.ndarray, v: np.ndarray, shapes: list[tuple[int, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The body from one supersampled label canvas, coverage per label: (alpha, colour, skin colour)."""
    h, w = u.shape
    lab = Canvas(h, w, fr)
    for label, outline in shapes:
        lab.fill(outline, label)
    folds = p.noise_cloth.sample(u, v, 0.9, 1.4)
    skin8 = np.clip(np.round(_skin_field(p, u, v) * 255), 0, 255).astype(np.uint8)
    _draw_face(skin8, p, fr)
    skin_col = skin8.astype(np.float32) / 255.0
    fields = {
        SKIN: lambda: skin_col,
        SHIRT: lambda: _cloth_field(p, u, v, p.colours["shirt"], p.colours["shirt2"], True, folds),
        BOTTOM: lambda: _cloth_field(p, u, v, p.colours["bottom"], p.colours["bottom"] * 0.8, False, folds),
        SHOES: lambda: np.broadcast_to(p.colours["shoes"].astype(np.float32), (h, w, 3)),
    }
    a_body = np.zeros((h, w), np.float32)
    prem = np.zeros((h, w, 3), np.float32)
    for label, field_of in fields.items():
        c = lab.coverage(label)
        if not c.any():  # e.g. trousers and shoes below the frame of a half-body portrait
            continue
        a_body += c
        prem += c[..., None] * field_of()
    a_body = np.minimum(a_body, 1.0)
    return a_body, prem / np.maximum(a_body, 1e-6)[..., None], skin_col


def _over(layers: list[tuple[str, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Over-composite the layers back to front, premultiplied: (alpha, premultiplied colour, cover by
    anything but the rigid body)."""
    h, w = layers[0][1].shape
    A = np.zeros((h, w), np.float32)
    P = np.zeros((h, w, 3), np.float32)
    other = np.zeros((h, w), np.float32)
    for name, a_k, c_k in layers:
        # P <- a C + (1 - a) P  ==  P + a (C - P)
        P += a_k[..., None] * (c_k - P)
        A += a_k * (1.0 - A)
        if name != "body":
            other += a_k * (1.0 - other)
    return A, P, other


def _paste(p: Portrait, window: tuple[int, int, int, int], A: np.ndarray, fg: np.ndarray, solid: np.ndarray,
           layers: list[tuple[str, np.ndarray, np.ndarray]]) -> Rendered:
    """Paste the window into the full frame; the colour extension continues outwards."""
    H, W = p.height, p.width
    y0, y1, x0, x1 = window
    alpha_full = np.zeros((H, W), np.float32)
    alpha_full[y0:y1, x0:x1] = np.clip(A, 0, 1)
    fg_full = cv2.copyMakeBorder(fg, y0, H - y1, x0, W - x1, cv2.BORDER_REPLICATE)
    solid_full = np.zeros((H, W), bool)
    solid_full[y0:y1, x0:x1] = solid
    named = {}
    for n, a, _ in layers:
        m = np.zeros((H, W), np.float32)
        m[y0:y1, x0:x1] = a
        named[n] = m
    return Rendered(alpha=alpha_full, fg=fg_full, solid=solid_full, layers=named)


def render_portrait(p: Portrait, offset: tuple[float, float] = (0.0, 0.0), sway: float = 0.0) -> Rendered:
    """Render the person moved by ``offset`` pixels with the hair tips swayed by ``sway`` head units.

    Only the window around the person is rendered (everything outside it has alpha 0); the
    result is pasted into the full frame. Layers, back to front: hair behind the shoulders, the
    veil, the body, the hair in front, the held object and the fingers over it.
    """
    full = p.frame(offset)
    fpts, bpts, flypts = p.hair.front.swayed(sway), p.hair.back.swayed(sway), p.hair.flyaways.swayed(sway)
    shapes, hand, _ = _body_shapes(p)
    veil_outline, veil_length = _veil_outline(p) if p.veil else (np.zeros((0, 2)), 0.0)
    holds = p.holds_object and bool(np.all(np.isfinite(hand)))
    reach = [fpts, bpts, flypts, veil_outline] + [o for _, o in shapes]
    if holds:
        du0, du1, dv0, dv1 = _OBJECT_REACH[str(p.object_kind)]
        reach.append(np.array([[hand[0] + du0, hand[1] + dv0], [hand[0] + du1, hand[1] + dv1]]))
    y0, y1, x0, x1 = _window(p, full, reach)
    if y1 <= y0 or x1 <= x0:  # the person is entirely outside the picture
        mean = np.broadcast_to(p.colours["shirt"].astype(np.float32), (p.height, p.width, 3)).copy()
        return Rendered(np.zeros((p.height, p.width), np.float32), mean, np.zeros((p.height, p.width), bool), {})
    h, w = y1 - y0, x1 - x0
    fr = Frame(full.ox - x0, full.oy - y0, full.a)
    u, v = fr.grid(h, w)
    layers: list[tuple[str, np.ndarray, np.ndarray]] = []
    hair_col = _hair_field(p, u, v, _strand_tone((h, w), fr, [(bpts, p.hair.back.tone()), (fpts, p.hair.front.tone())]))
    if len(bpts):
        a_back = np.maximum(_strand_canvas((h, w), fr, bpts, p.hair.back.thick), _hair_core(p, (h, w), fr, bpts))
        layers.append(("hair_back", a_back, hair_col * 0.85))
    if p.veil:
        layers.append(("veil", *_veil_layer(p, fr, u, v, veil_outline, veil_length)))
    a_body, body_col, skin_col = _body_layer(p, fr, u, v, shapes)
    layers.append(("body", a_body, body_col))
    # the combed strands over the head, falling over the shoulders, and the flyaways
    a_front = np.maximum(_strand_canvas((h, w), fr, fpts, p.hair.front.thick), _hair_core(p, (h, w), fr, fpts))
    if len(flypts):
        a_fly = _strand_canvas((h, w), fr, flypts, p.hair.flyaways.thick)
        a_front = 1.0 - (1.0 - a_front) * (1.0 - a_fly)
    layers.append(("hair", a_front, hair_col))
    if holds:
        for k, (a_o, c_o) in enumerate(_object_layers(p, fr, hand, u, v)):
            layers.append((f"object{k}", a_o.astype(np.float32), np.asarray(c_o, np.float32)))
        layers.append(("grip", *_grip_layer((h, w), fr, hand, skin_col)))
    A, P, other = _over(layers)
    return _paste(p, (y0, y1, x0, x1), A, _extend_colour(P, A), (a_body >= 1.0) & (other <= 0.0), layers)


def _extend_colour(P: np.ndarray, A: np.ndarray) -> np.ndarray:
    """F = P / A where alpha > 0; elsewhere a smooth outward extension of the nearby colours, so the
    foreground image is usable (compositional losses, visualisation) and never black at the rim."""
    h, w = A.shape
    F = P / np.maximum(A, 1e-6)[..., None]
    # normalised convolution at quarter resolution (cheap), brought back up
    hs, ws = max(1, h // 4), max(1, w // 4)
    Pb = cv2.GaussianBlur(cv2.resize(P, (ws, hs), interpolation=cv2.INTER_AREA), (0, 0), 1.5)
    Ab = cv2.GaussianBlur(cv2.resize(A, (ws, hs), interpolation=cv2.INTER_AREA), (0, 0), 1.5)
    mean = P.reshape(-1, 3).sum(0) / max(float(A.sum()), 1e-6)
    ext = np.where((Ab > 1e-3)[..., None], Pb / np.maximum(Ab, 1e-6)[..., None], mean[None, None, :]).astype(np.float32)
    ext = cv2.resize(ext, (w, h), interpolation=cv2.INTER_LINEAR)
    out = np.where((A > 1e-6)[..., None], F, ext)
    return np.clip(out, 0.0, 1.0).astype(np.float32)

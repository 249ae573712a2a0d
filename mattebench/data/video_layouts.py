"""Published folder layouts of the three video matting benchmarks, and a scanner for them.

The loaders (:mod:`.videomatte`, :mod:`.youtubematte`, :mod:`.vm108`) turn a :class:`Scan` into clips;
``data check`` lists its problems (errors name the clip; notes do not stop a run).

Sources (facts: /work/shared/facts/video-benchmarks.md, sections 1-3):

- VideoMatte240K as RVM composites it: PeterL1n/RobustVideoMatting@53d74c6
  ``evaluation/generate_videomatte_with_background_{image,video}.py`` write
  ``out/<i:04d>/{fgr,pha,com,bgr}/<t:04d>.png``; ``evaluation/evaluate_lr.py`` L109-137 reads
  ``<dir>/<subset>/<clip>/{pha,fgr}/<frame>`` (the docstring tree L7-21 is wrong; the code wins).
- YouTubeMatte: pq-yang/MatAnyone@e5ddc53 ``evaluation/eval_yt_lr.py`` L12-20, L115 (GT
  ``<clip>/pha/<frame>``), ``eval_yt_hr.py`` L115 (HR GT alpha is ``<stem>.jpg``),
  ``infer_batch_lr.sh`` L18 (``har/`` is the model input).
- VideoMatting108: yunkezhang/TCVOM@f5fa07a README.md L27-45, ``dataset/VMD.py`` L21-25, L168-185,
  L225-229 (``FG_done/<key>`` RGBA, ``BG_done/<frame_corr[key]>`` with a ``.png`` fallback, clip frames
  = sorted ``frame_corr.json`` keys in the clip's folder), ``calc_metric.py`` L62-70 (flow PNGs).

A scan returns the clips it found (ordered frame paths per role) and a list of problems, each naming the
clip. ``error`` problems make a clip unusable (missing folder or frame, counts that differ between roles);
``note`` problems do not (unexpected resolution, extension, clip count or length, missing optional flow).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import cv2

__all__ = [
    "FolderLayout", "VM108Layout", "Problem", "ClipFrames", "Scan",
    "VIDEOMATTE_512x288", "VIDEOMATTE_1920x1080", "YOUTUBEMATTE_512x288", "YOUTUBEMATTE_1920x1080", "VM108",
    "LAYOUTS", "scan", "scan_folder_layout", "scan_vm108",
]


@dataclass(frozen=True)
class FolderLayout:
    """``<root>/<subset>/<clip>/<role>/<frame>.<ext>`` (RVM's VideoMatte composites, YouTubeMatte).

    ``root`` is the resolution folder itself (``videomatte_512x288``), as the official scripts'
    ``--true-dir`` is. ``frame_role`` is the role whose files define the frames (the scripts list the
    PREDICTION's ``pha/`` folder; on the ground-truth side we list GT ``pha``). ``ext`` maps a role to
    its published extension; another extension is a note (HR extensions are partly unverified).
    """

    name: str
    subsets: tuple[str, ...]
    roles: tuple[str, ...]  # required role folders
    optional_roles: tuple[str, ...]  # read when present (unverified in the source)
    input_role: str  # what the model is fed
    alpha_role: str
    foreground_role: Optional[str]
    ext: tuple[tuple[str, str], ...]  # (role, extension without dot)
    size: tuple[int, int]  # (width, height) as published
    frames_per_clip: Optional[int]  # None: not published
    clips_per_subset: Optional[int]
    source: str

    def ext_of(self, role: str) -> str:
        return dict(self.ext).get(role, "png")


@dataclass(frozen=True)
class VM108Layout:
    """VideoMatting108: ``FG_done/<video>/<frame>.png`` RGBA (alpha + foreground), ``BG_done``,
    ``flow_png/<video>/flow_<a>_<b>.png``, ``frame_corr.json`` (its keys are the frames),
    ``<split>_videos.txt`` (the clips)."""

    name: str
    split_file: str
    size: tuple[int, int]
    clips_in_split: int
    source: str


@dataclass(frozen=True)
class Problem:
    clip: str  # "<subset>/<clip>" or "<video>"; "" for the whole tree
    severity: str  # "error" | "note"
    message: str


@dataclass(frozen=True)
class ClipFrames:
    """One clip: frame stems in evaluation order and, per role, the file of each frame."""

    benchmark: str
    subset: str  # "" for VM108
    clip: str
    frames: tuple[str, ...]
    files: tuple[tuple[str, tuple[Path, ...]], ...]  # (role, one path per frame)

    @property
    def key(self) -> str:
        return f"{self.subset}/{self.clip}" if self.subset else self.clip

    def role(self, name: str) -> tuple[Path, ...]:
        for r, paths in self.files:
            if r == name:
                return paths
        raise ValueError(f"clip {self.key}: no role {name!r}; has {[r for r, _ in self.files]}")


@dataclass(frozen=True)
class Scan:
    layout: str
    root: Path
    clips: tuple[ClipFrames, ...]
    problems: tuple[Problem, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")


_RVM = "PeterL1n/RobustVideoMatting@53d74c6 evaluation/generate_videomatte_*.py, evaluate_lr.py L109-137"
_MA = "pq-yang/MatAnyone@e5ddc53 evaluation/eval_yt_lr.py L12-20 L115, eval_yt_hr.py L115, infer_batch_lr.sh L18"

VIDEOMATTE_512x288 = FolderLayout(
    "videomatte_512x288", ("videomatte_motion", "videomatte_static"), ("pha", "fgr", "com", "bgr"), (),
    "com", "pha", "fgr", (), (512, 288), 100, 25, _RVM)
# HR tar is JPG (training.md L156); GT alpha .jpg confirmed by MA2 eval_hr.py L123; fgr/com/bgr: unverified.
VIDEOMATTE_1920x1080 = FolderLayout(
    "videomatte_1920x1080", ("videomatte_motion", "videomatte_static"), ("pha", "fgr", "com", "bgr"), (),
    "com", "pha", "fgr", (("pha", "jpg"), ("fgr", "jpg"), ("com", "jpg"), ("bgr", "jpg")), (1920, 1080), 100, 25, _RVM)
YOUTUBEMATTE_512x288 = FolderLayout(
    "youtubematte_512x288", ("youtubematte_motion", "youtubematte_static"), ("har", "pha"), ("fgr", "bgr"),
    "har", "pha", None, (), (512, 288), None, None, _MA)
YOUTUBEMATTE_1920x1080 = FolderLayout(
    "youtubematte_1920x1080", ("youtubematte_motion", "youtubematte_static"), ("har", "pha"), ("fgr", "bgr"),
    "har", "pha", None, (("pha", "jpg"),), (1920, 1080), None, None, _MA)
VM108 = VM108Layout("vm108", "val_videos.txt", (1920, 1080), 28,
                    "yunkezhang/TCVOM@f5fa07a README.md L27-45, dataset/VMD.py L21-25 L168-185 L225-229")

LAYOUTS = {x.name: x for x in (VIDEOMATTE_512x288, VIDEOMATTE_1920x1080, YOUTUBEMATTE_512x288, YOUTUBEMATTE_1920x1080, VM108)}


def _size_note(path: Path, expected: tuple[int, int], clip: str) -> list[Problem]:
    """A note when the first frame's size is not the published one (test trees are small)."""
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        return [Problem(clip, "error", f"{path.name}: unreadable image")]
    h, w = img.shape[:2]
    if (w, h) != expected:
        return [Problem(clip, "note", f"{path.parent.name}/{path.name} is {w}x{h}, published size is {expected[0]}x{expected[1]}")]
    return []


def _stems(folder: Path) -> dict[str, str]:
    """stem -> file name of the image files in a folder (sorted by name, as the scripts sort)."""
    return {Path(n).stem: n for n in sorted(os.listdir(folder)) if not n.startswith(".")}


def _scan_clip(layout: FolderLayout, clip_dir: Path, subset: str, clip: str) -> tuple[Optional[ClipFrames], list[Problem]]:
    """One ``<subset>/<clip>`` folder: frames from the alpha role, every role checked against them."""
    key = f"{subset}/{clip}"
    present = [r for r in layout.roles + layout.optional_roles if (clip_dir / r).is_dir()]
    missing = [r for r in layout.roles if r not in present]
    if missing:
        return None, [Problem(key, "error", f"missing folder(s) {', '.join(missing)}")]
    stems = _stems(clip_dir / layout.alpha_role)
    frames = tuple(stems)
    if not frames:
        return None, [Problem(key, "error", f"{layout.alpha_role}/ holds no frames")]
    problems: list[Problem] = []
    if all(s.isdigit() for s in frames):
        # The generators number frames 0000.. without gaps: a gap is a lost frame (dtSSD would span it).
        want = {f"{t:0{len(frames[0])}d}" for t in range(int(frames[-1]) + 1)}
        gaps = sorted(want - set(frames))
        if gaps:
            problems.append(Problem(key, "error", f"{layout.alpha_role}/ is missing frame(s) {', '.join(gaps[:5])}" + (" ..." if len(gaps) > 5 else "")))
    if layout.frames_per_clip is not None and len(frames) != layout.frames_per_clip:
        problems.append(Problem(key, "note", f"{len(frames)} frames; published clips have {layout.frames_per_clip}"))
    files = []
    for role in present:
        have = stems if role == layout.alpha_role else _stems(clip_dir / role)
        lost = [s for s in frames if s not in have]
        extra = [s for s in have if s not in stems]
        if lost or extra:
            problems.append(Problem(key, "error", f"{role}/ has {len(have)} frames, {layout.alpha_role}/ has {len(frames)}"
                                    + (f"; missing {', '.join(lost[:5])}" if lost else "") + (f"; extra {', '.join(extra[:5])}" if extra else "")))
            continue
        exts = {Path(have[s]).suffix.lstrip(".").lower() for s in frames}
        if exts != {layout.ext_of(role)}:
            problems.append(Problem(key, "note", f"{role}/ files are .{'/.'.join(sorted(exts))}; published as .{layout.ext_of(role)}"))
        files.append((role, tuple(clip_dir / role / have[s] for s in frames)))
    if any(p.severity == "error" for p in problems):
        return None, problems
    problems += _size_note(dict(files)[layout.alpha_role][0], layout.size, key)
    return ClipFrames(layout.name, subset, clip, frames, tuple(files)), problems


def scan_folder_layout(layout: FolderLayout, root: Path) -> Scan:
    """Clips of a VideoMatte / YouTubeMatte tree in sorted subset, then clip order (the scripts' order).

    A missing subset or fewer clips than published is a note (a partial tree: score it as a subset);
    a broken clip is an error naming it and is left out of ``clips``.
    """
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{layout.name}: root {root} is not a folder")
    clips: list[ClipFrames] = []
    problems: list[Problem] = []
    for subset in layout.subsets:
        sdir = root / subset
        if not sdir.is_dir():
            problems.append(Problem(subset, "note", f"subset folder {subset}/ absent: partial tree"))
            continue
        names = sorted(n for n in os.listdir(sdir) if (sdir / n).is_dir())
        if layout.clips_per_subset is not None and len(names) != layout.clips_per_subset:
            problems.append(Problem(subset, "note", f"{len(names)} clips; the published set has {layout.clips_per_subset}"))
        for name in names:
            clip, probs = _scan_clip(layout, sdir / name, subset, name)
            problems += probs
            if clip is not None:
                clips.append(clip)
    unknown = sorted(n for n in os.listdir(root) if (root / n).is_dir() and n not in layout.subsets)
    if unknown:
        problems.append(Problem("", "note", f"unexpected folder(s) {', '.join(unknown)} (is the root the {layout.name} folder?)"))
    return Scan(layout.name, root, tuple(clips), tuple(problems))


def _vm108_clip(root: Path, video: str, keys: list[str], corr: dict, size: tuple[int, int]) -> tuple[Optional[ClipFrames], list[Problem]]:
    """One VM108 video: FG (alpha + foreground) and BG per frame, the flow of each consecutive pair.

    ``flow`` has T-1 paths (flow t -> t+1), present only when every one exists."""
    stems = [os.path.splitext(k)[0] for k in keys]
    fg = [root / "FG_done" / (s + ".png") for s in stems]  # calc_metric.py L53: stem + '.png'
    bg = []
    for k in keys:
        p = root / "BG_done" / corr[k]
        bg.append(p if p.exists() else p.with_suffix(".png"))  # VMD.py L227-229 fallback
    problems = []
    for role, paths in (("FG_done", fg), ("BG_done", bg)):
        lost = [p.name for p in paths if not p.exists()]
        if lost:
            problems.append(Problem(video, "error", f"{role}: {len(lost)} of {len(paths)} frames missing ({', '.join(lost[:5])})"))
    if problems:
        return None, problems
    names = [os.path.basename(s) for s in stems]
    flows = [root / "flow_png" / video / f"flow_{a}_{b}.png" for a, b in zip(names, names[1:])]
    files = [("fgr_pha", tuple(fg)), ("bgr", tuple(bg))]
    lost = [p.name for p in flows if not p.exists()]
    if lost:
        problems.append(Problem(video, "note", f"flow_png: {len(lost)} of {len(flows)} flows missing; MESSDdt would use estimated flow"))
    else:
        files.append(("flow", tuple(flows)))
    problems += _size_note(fg[0], size, video)
    return ClipFrames("vm108", "", video, tuple(names), tuple(files)), problems


def scan_vm108(layout: VM108Layout, root: Path) -> Scan:
    """The split's videos (``val_videos.txt``), frames = sorted ``frame_corr.json`` keys in each video's
    folder (VMD.py L174; calc_metric.py L129-154 pairs frames in the same sorted key order)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{layout.name}: root {root} is not a folder")
    need = [n for n in ("frame_corr.json", layout.split_file, "FG_done", "BG_done") if not (root / n).exists()]
    if need:
        return Scan(layout.name, root, (), (Problem("", "error", f"missing {', '.join(need)}"),))
    corr = json.loads((root / "frame_corr.json").read_text(encoding="utf-8"))
    videos = [v.strip() for v in (root / layout.split_file).read_text(encoding="utf-8").splitlines() if v.strip()]
    problems: list[Problem] = []
    if len(videos) != layout.clips_in_split:
        problems.append(Problem("", "note", f"{layout.split_file} lists {len(videos)} videos; the published split has {layout.clips_in_split}"))
    if not (root / "flow_png").is_dir():
        problems.append(Problem("", "note", "flow_png/ absent (shipped as flow_png_val: rename it); MESSDdt would use estimated flow"))
    clips = []
    for v in videos:
        keys = [k for k in sorted(corr) if os.path.dirname(k) == v]
        if not keys:
            problems.append(Problem(v, "error", "no frames in frame_corr.json"))
            continue
        clip, probs = _vm108_clip(root, v, keys, corr, layout.size)
        problems += probs
        if clip is not None:
            clips.append(clip)
    return Scan(layout.name, root, tuple(clips), tuple(problems))


def scan(name: str, root: Path) -> Scan:
    """Scan ``root`` as the named layout (a key of :data:`LAYOUTS`)."""
    if name not in LAYOUTS:
        raise ValueError(f"unknown layout {name!r}; known: {', '.join(LAYOUTS)}")
    layout = LAYOUTS[name]
    if isinstance(layout, VM108Layout):
        return scan_vm108(layout, root)
    return scan_folder_layout(layout, root)

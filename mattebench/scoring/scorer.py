"""Scoring one item: load it, run the method, check the prediction, compute the metrics.

A :class:`Scorer` turns a sample id into one result row and never raises for bad input: a
corrupt file, a size mismatch, a method exception or a NaN prediction becomes a row with
``status="error"`` and an ``error`` text that names the file and the reason. Executors (local,
Ray) build one Scorer per worker and feed it ids.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional

import numpy as np

from mattebench.contract import MattingMethod, SequencePredictor, observer
from mattebench.data import sample_notes
from mattebench.data.base import LazyFrames
from mattebench.data.io import alpha_from_8bit, image_info, read_log
from mattebench.data.lazy_sample import image_shape, ready_trimap
from mattebench.data.sample_inputs import COLUMN as INPUTS_COLUMN
from mattebench.data.sample_inputs import digest as inputs_digest
from mattebench.errors import PredictionError, SampleError
from mattebench.methods.host import (
    Answer,
    PredictionRequest,
    answer,
    restore_cwd,
    unless_moved,
)
from mattebench.metrics import fast as M
from mattebench.scoring import breakdowns
from mattebench.scoring import video_protocols as VP
from mattebench.types import (
    Clip,
    DatasetCard,
    MethodCard,
    Sample,
    SavedPredictionSource,
)

QUANTISATION = "unknown protocol: pred and gt as uint8(clip(round(255*a))); whole protocol: float prediction"


def metric_columns(card: DatasetCard) -> list[str]:
    cols: list[str] = []
    if "whole" in card.protocols:
        cols += list(M.WHOLE_METRICS)
    if "unknown" in card.protocols:
        cols += list(M.UNKNOWN_METRICS)
    if card.kind == "video":
        cols += list(M.VIDEO_METRICS)
    return cols


def check_prediction(pred: Any, shape: tuple[int, int], where: str) -> np.ndarray:
    """The method contract on the way out: HxW float32 in [0, 1], finite."""
    if hasattr(pred, "detach"):  # a torch tensor slipped through
        pred = pred.detach().cpu().numpy()
    if not isinstance(pred, np.ndarray):
        raise PredictionError(f"{where}: method returned {type(pred).__name__}, expected an HxW numpy array")
    if pred.ndim == 3 and pred.shape[2] == 1:
        pred = pred[:, :, 0]
    if pred.shape != shape:
        raise PredictionError(f"{where}: prediction has shape {pred.shape}, expected {shape} (the image's height and width)")
    if pred.dtype == np.uint8:
        return alpha_from_8bit(pred)
    pred = pred.astype(np.float32, copy=False)
    lo, hi = float(pred.min()), float(pred.max())  # NaN propagates through min and max: both finite <=> all finite
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int((~np.isfinite(pred)).sum())
        raise PredictionError(f"{where}: prediction has {bad} NaN/inf pixels")
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise PredictionError(f"{where}: prediction values span [{lo:.4g}, {hi:.4g}], expected alpha in [0, 1]")
    # The scorer's own copy either way; a copy is twice as fast as a clip that changes nothing.
    return pred.copy() if 0.0 <= lo and hi <= 1.0 else np.clip(pred, 0.0, 1.0)


def _unknown_scores(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray]) -> dict[str, float]:
    if trimap is None:
        return {k: math.nan for k in M.UNKNOWN_METRICS}
    return {k: float(v) for k, v in M.unknown_metrics(M.quantize(pred), M.quantize(gt), trimap).items()}


def _whole_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    return M.whole_metrics(pred, gt)  # each map checked once (mattebench.metrics.fast)


def _convention_scores(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray], names: tuple[str, ...],
                       **foregrounds: Any) -> dict[str, float]:
    from mattebench.metrics import (
        conventions as C,  # imported on use: runs without --conventions never load it
    )

    return C.score(pred, gt, trimap, names, **foregrounds)


@dataclass(frozen=True)
class Prepared:
    """An item loaded in the scoring process and the request made from it (the item keeps the ground truth)."""

    item: Any
    request: PredictionRequest
    reads: dict[str, set[str]] = field(default_factory=dict)  # files read for it -> sha256 (mattebench.data.io.read_log)


@dataclass
class Scorer:
    """Loads an item, asks the method, checks the prediction and scores it.

    ``method`` is the method object when it predicts in this process (saved predictions, reference
    methods); None when it predicts in a method host (:mod:`mattebench.methods.host`), which the executor
    runs: the executor then calls :meth:`prepare`, sends the request and hands the answer to :meth:`complete`.
    ``sequence``: the method predicts whole clips (``predict_sequence``); set from the host's report.
    """

    method: Optional[MattingMethod]
    dataset: Any
    method_card: MethodCard
    columns: list[str] = field(default_factory=list)
    debug: bool = False
    conventions: tuple[str, ...] = ()  # toolkit conventions (mattebench.metrics.conventions), scored after the reference
    # run --save-alphas: an AlphaSink (mattebench.runs.alphas) that rounds every prediction to what a
    # 16-bit PNG holds before it is scored and stores the chosen ids, so the files reproduce the run.
    alpha_sink: Any = None
    hosted: Any = None  # a MethodRecipe (mattebench.methods.host) when the method predicts in its own process
    sequence: bool = False
    # Scores a prepared item through a method host (set by the runner when ``hosted``), for executors that call score().
    remote: Optional[Callable[[Prepared], dict[str, Any]]] = None
    # Score a foreground estimated from the predicted alpha (pymatting) where the method predicts none (run
    # --estimate-foreground); scoring/breakdowns.py.
    estimate_foreground: bool = False
    # The breakdown columns (regions, boundaries, whole-image SAD/Grad/Conn, foreground): on unless the run asks
    # for the ranked columns only (run --no-breakdowns), which at 4K is several times faster.
    with_breakdowns: bool = True

    def __post_init__(self) -> None:
        if not self.columns:
            fg = self.with_breakdowns and self.foreground_source() is not None
            self.columns = metric_columns(self.dataset.card) + (
                breakdowns.breakdown_columns(self.dataset.card, fg) if self.with_breakdowns else [])
        if self.conventions or VP.protocols_of(self.dataset.card):  # a video benchmark scores its official protocol
            from mattebench.metrics import conventions as C

            self.conventions = VP.conventions_for(self.dataset.card, self.conventions)
            self.columns = self.columns + [c for c in C.columns(self.conventions, self.dataset.card.kind == "video") if c not in self.columns]
        if self.method is not None:
            self.sequence = isinstance(self.method, SequencePredictor)

    # -- one id -> one row ---------------------------------------------------------------
    def score(self, sample_id: str) -> dict[str, Any]:
        """The row of ``sample_id``: the method asked here, or through its host (``remote``)."""
        prepared = self.prepare(sample_id)
        if isinstance(prepared, dict):
            return prepared
        if self.method is None:
            if self.remote is None:
                raise RuntimeError("this Scorer's method predicts in a method host, and none was given (Scorer.remote)")
            return self.remote(prepared)
        return self.complete(prepared, self._answer_here(prepared))

    def prepare(self, sample_id: str) -> "Prepared | dict[str, Any]":
        """Load the item and make the method's request; a sample that cannot be used is its error row."""
        item: Any = None
        reads: dict[str, set[str]] = {}
        try:
            with read_log(reads):  # the bytes the sample is built from are hashed as they are read
                item = self.dataset.load(sample_id)
                return Prepared(item, self._request(item), reads)
        except Exception as exc:  # noqa: BLE001 - every failure is the sample's row (see _failed)
            return self._row(sample_id, item, error=self._failed(sample_id, exc))

    def complete(self, prepared: Prepared, ans: Answer) -> dict[str, Any]:
        """Check the answer and score it against the item's ground truth: the sample's row."""
        item, sample_id = prepared.item, prepared.request.sample_id
        try:
            if ans.error is not None:
                raise PredictionError(ans.error)
            with read_log(prepared.reads):  # a clip's frames or mattes read while it is scored count too
                if isinstance(item, Clip):
                    metrics = self._score_clip(item, prepared.request, ans)
                else:
                    metrics = self._score_sample(item, prepared.request, ans)
            # An ok row names, by content, the files it was built from (mattebench.data.sample_inputs): a resume checks them.
            digest = inputs_digest(self.dataset, sample_id, prepared.reads)
        except Exception as exc:  # noqa: BLE001
            return self._row(sample_id, item, error=self._failed(sample_id, exc))
        row = self._row(sample_id, item, metrics=metrics)
        row[INPUTS_COLUMN] = digest
        return row

    def _failed(self, sample_id: str, exc: BaseException) -> str:
        if isinstance(exc, SampleError):
            return str(exc) if exc.path else f"{sample_id}: {exc.reason}"
        if isinstance(exc, PredictionError):
            return str(exc)
        if isinstance(exc, MemoryError):
            return f"{sample_id}: out of memory while predicting or scoring"
        detail = traceback.format_exc(limit=3) if self.debug else ""  # a method or scorer bug must not end the run
        return f"{sample_id}: method or scorer raised {type(exc).__name__}: {exc}{(' ' + detail) if detail else ''}"

    def _row(self, sample_id: str, item: Any, metrics: Optional[dict[str, Any]] = None, error: Optional[str] = None) -> dict[str, Any]:
        row: dict[str, Any] = {"id": sample_id, "status": "ok", "error": ""}
        if error is not None:
            row.update(status="error", error=error)
            for c in self.columns:
                row.setdefault(c, None)
        else:
            row.update(metrics or {})
        # What the loader had to do to read the sample (snapped trimap, EXIF, RGBA cut-out), then what scoring
        # had to do (an estimated MESSDdt flow): into the row.
        scored_notes = row.pop(sample_notes.NOTES, None) or []
        row[sample_notes.NOTES] = sample_notes.encode([*sample_notes.notes_of(getattr(item, "metadata", None) or {}),
                                                       *scored_notes])
        return row

    # -- the request: what the method sees -----------------------------------------------
    def _request(self, item: Any) -> PredictionRequest:
        if isinstance(item, Clip):
            return self._clip_request(item)
        s: Sample = item
        where = str(s.metadata.get("image_path", s.id))
        if s.alpha is None:
            raise SampleError("no ground-truth alpha for this sample", path=where)
        shape = image_shape(s)  # from the header while the photo is not read (mattebench.data.lazy_sample)
        if s.alpha.shape != shape:
            raise SampleError(
                f"image is {shape[1]}x{shape[0]} but its alpha is {s.alpha.shape[1]}x{s.alpha.shape[0]}"
                f" ({s.metadata.get('alpha_path', 'alpha')})",
                path=where,
            )
        tri = s.trimap if self._wants_trimap() else ready_trimap(s)  # a generated trimap is made only to be read
        if tri is not None and tri.shape != shape:
            raise SampleError(f"trimap size {tri.shape} differs from the image {shape}", path=str(s.metadata.get("trimap_path", where)))
        if self._wants_trimap() and tri is None:
            raise SampleError("the method needs a trimap and this sample has none", path=where)
        tri = tri if self._wants_trimap() else None
        own = self._own
        return PredictionRequest(s.id, "image", (self._photo(s, shape),), (own(tri),), (0,), (where,),
                                 foreground=self._host_foreground() and s.fg is not None)

    def _photo(self, s: Sample, shape: tuple[int, int]) -> np.ndarray:
        """What the request carries as the photo: the method's copy, or for saved predictions (asked by id,
        never shown a pixel) a zero-byte stand-in of the photo's shape, so that the photo is never decoded."""
        if self._saved():
            return np.broadcast_to(np.zeros((), np.uint8), (*shape, 3))
        return self._own(s.image)

    def reads_trimaps(self) -> bool:
        """Whether scoring reads any trimap: the method's input, or a requested protocol (unknown region,
        toolkit conventions, the regions of the breakdowns). The run records the trimap recipe only then."""
        return (self._wants_trimap() or "sad" in self.columns or bool(self.conventions)
                or breakdowns.reads_trimap(self.columns))

    def _clip_request(self, c: Clip) -> PredictionRequest:
        if not c.alphas:
            raise SampleError("clip has no annotated frames", path=str(c.metadata.get("path", c.id)))
        n, idx, _own = len(c.frames), sorted(c.alphas), self._own
        if self.sequence and not self._saved():
            tri_all = tuple(_own(c.trimaps.get(i)) for i in range(n)) if self.method_card.needs_trimap else None
            return PredictionRequest(c.id, "sequence", tuple(_own(f) for f in c.frames), tri_all, tuple(range(n)),
                                     tuple(f"{c.id} frame {i}" for i in range(n)))
        if self.method_card.needs_trimap or self._saved():
            # A trimap-based method can only run where a trimap exists: the annotated frames (saved
            # predictions are needed only there too).
            frames = idx
            # Saved predictions are asked by id: their request carries no trimap (scoring reads it, once).
            tris: Optional[tuple[Optional[np.ndarray], ...]] = (tuple(_own(c.trimaps.get(i)) for i in idx)
                                                                if self._wants_trimap() else None)
        else:
            # Every frame in order, so that methods with state (OFD, recurrent nets) see the sequence.
            frames, tris = list(range(n)), None
        return PredictionRequest(c.id, "frames", tuple(self._frame(c, i) for i in frames), tris, tuple(frames),
                                 tuple(f"{c.id} frame {i}" for i in frames))

    def _frame(self, c: Clip, i: int) -> np.ndarray:
        """What the request carries as frame ``i``: the method's copy, or for saved predictions (asked by id) a
        zero-byte stand-in of the frame's size read from its header, so that the frame is never decoded (as
        :meth:`_photo`); a frame with an EXIF rotation, or held in memory, is read as before."""
        if self._saved() and isinstance(c.frames, LazyFrames):
            info = image_info(c.frames.paths[i])  # a missing or broken file: SampleError, the clip's error row
            if info.orientation == 1:
                return np.broadcast_to(np.zeros((), np.uint8), (info.height, info.width, 3))
        return self._own(c.frames[i])  # type: ignore[return-value]

    def _own(self, a: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """What a method in this process is given: its own copy (a method host gets one through the pipe anyway,
        and saved predictions are asked by id: they see no array)."""
        return own_copy(a) if self.method is not None and not self._saved() else a

    def _wants_trimap(self) -> bool:
        return bool(self.method_card.needs_trimap) and not self._saved()

    def _saved(self) -> bool:
        return isinstance(self.method, SavedPredictionSource)

    def _answer_here(self, prepared: Prepared) -> Answer:
        """The answer of a method in this process: saved predictions by id, a reference method after observe()."""
        item, req = prepared.item, prepared.request
        if self._saved():  # saved mattes: asked by id, never shown the sample
            src: Any = self.method
            t0 = time.perf_counter()
            try:
                preds = {i: src.prediction_for(self._pred_id(item, i), req.images[k].shape[:2]) for k, i in enumerate(req.indices)}
            except Exception as exc:  # noqa: BLE001 - the sample's error row
                return Answer({}, time.perf_counter() - t0, self._failed(req.sample_id, exc))
            return Answer(preds, time.perf_counter() - t0)
        observe = observer(self.method, self.method_card)
        if observe is not None:  # only reference methods (gt-echo) look at the ground truth
            try:
                observe(item)
            except Exception as exc:  # noqa: BLE001 - the sample's error row
                return Answer({}, 0.0, self._failed(req.sample_id, exc))
        cwd = os.getcwd()
        ans = answer(self.method, req, self.debug)
        return unless_moved(ans, req, restore_cwd(cwd))

    @staticmethod
    def _pred_id(item: Any, i: int) -> str:
        return frame_id(item, i) if isinstance(item, Clip) else item.id

    def _kept(self, pred_id: str, pred: np.ndarray) -> np.ndarray:
        return pred if self.alpha_sink is None else self.alpha_sink.keep(pred_id, pred)

    def _checked(self, item: Any, req: PredictionRequest, ans: Answer) -> dict[int, np.ndarray]:
        """Every prediction checked against the contract, in request order (the first bad one fails the item)."""
        out: dict[int, np.ndarray] = {}
        for k, i in enumerate(req.indices):
            a = check_prediction(ans.predictions.get(i), req.images[k].shape[:2], req.wheres[k])
            out[i] = a if req.mode == "sequence" else self._kept(self._pred_id(item, i), a)
        return out

    def _score_sample(self, s: Sample, req: PredictionRequest, ans: Answer) -> dict[str, Any]:
        pred = self._checked(s, req, ans)[0]
        out: dict[str, Any] = {"predict_ms": ans.seconds * 1000.0}
        if "mse_whole" in self.columns:
            out.update(_whole_scores(pred, s.alpha))
        if "sad" in self.columns:
            out.update(_unknown_scores(pred, s.alpha, s.trimap))
        if self.conventions:
            out.update(_convention_scores(pred, s.alpha, s.trimap, self.conventions))
        out.update(self._breakdown(pred, s, ans.foregrounds.get(0)))
        return out

    def _breakdown(self, pred: np.ndarray, s: Sample, given: Optional[np.ndarray] = None) -> dict[str, Any]:
        """Where the method fails (regions, boundaries, whole image, foreground): unranked columns; ``given``: the
        foreground a method host sent with the alpha."""
        return breakdowns.breakdown_scores(pred, s, self.columns, self.method, self.foreground_source(), given)

    def _host_foreground(self) -> bool:
        """The method predicts in a host and its factory declares a foreground (methods.host.declares_foreground)."""
        return self.method is None and bool(getattr(self.hosted, "foreground", False))

    def foreground_source(self) -> Optional[str]:
        """Whose foreground this run scores (scoring/breakdowns.py), or None."""
        return breakdowns.foreground_source(self.method, self.estimate_foreground, self._host_foreground())

    def _score_clip(self, c: Clip, req: PredictionRequest, ans: Answer) -> dict[str, Any]:
        """Every frame is predicted in order (temporal methods see the sequence); annotated frames are scored."""
        n, idx = len(c.frames), sorted(c.alphas)
        ans, fgrs = VP.split_foregrounds(ans, c.id)  # (alpha, foreground) frames: the video protocols score both
        dt = ans.seconds / max(1, len(req.indices))
        checked = self._checked(c, req, ans) if req.mode != "sequence" else {}
        checked = {i: checked[i] if i in checked else check_prediction(ans.predictions.get(i), c.frames[i].shape[:2], f"{c.id} frame {i}")
                   for i in idx}
        if req.mode == "sequence":
            checked = {i: self._kept(frame_id(c, i), a) for i, a in checked.items()}
        c = scored_annotations(c, idx)
        # The 8-bit ground truth, made once per frame: the unknown-region metrics and the protocols quantise it
        # anyway (M.quantize; a uint8 map passes through unchanged), so handing it over changes no value.
        gt8: dict[int, np.ndarray] = {}
        per_frame: list[dict[str, float]] = []
        for i in idx:
            scores: dict[str, float] = {}
            if "mse_whole" in self.columns:
                scores.update(_whole_scores(checked[i], c.alphas[i]))
            if "sad" in self.columns or self.conventions:
                gt8[i] = M.quantize(c.alphas[i])
            if "sad" in self.columns:
                scores.update(_unknown_scores(checked[i], gt8[i], c.trimaps.get(i)))
            if self.conventions:
                scores.update(_convention_scores(checked[i], gt8[i], c.trimaps.get(i), self.conventions,
                                                 **VP.frame_foregrounds(c, i, fgrs)))
            per_frame.append(scores)
        out: dict[str, Any] = {"predict_ms": dt * 1000.0, "frames": n, "annotated": len(idx)}
        for k in per_frame[0]:
            vals = [f[k] for f in per_frame if not math.isnan(f[k])]
            out[k] = float(np.mean(vals)) if vals else math.nan
        out.update(self._temporal(c, idx, checked))
        if self.conventions:
            from mattebench.metrics import conventions as C

            out.update(C.score_clip([checked[i] for i in idx], [gt8[i] for i in idx], self.conventions,
                                    **VP.clip_inputs(c, idx, self.conventions)))
        return out

    @staticmethod
    def _temporal(c: Clip, idx: list[int], checked: dict[int, np.ndarray]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        pa = [checked[i] for i in idx]  # lists, not stacks: the frames are held once (the metrics take either)
        ga = [c.alphas[i] for i in idx]
        out["dtssd"] = float(M.dtssd(pa, ga)) if len(idx) > 1 else math.nan
        consecutive = len(idx) > 1 and all(b - a == 1 for a, b in zip(idx, idx[1:]))
        if consecutive and all(i in c.trimaps for i in idx):
            flows = [c.flows.get(i) for i in idx[:-1]]
            have_flows = all(f is not None for f in flows)
            out["messddt"] = float(M.messddt(pa, ga, [c.trimaps[i] for i in idx], flows=flows if have_flows else None))
            if not have_flows:
                out[sample_notes.NOTES] = [sample_notes.flow_note(c.id)]
        else:
            out["messddt"] = math.nan  # annotations are not on consecutive frames: MESSDdt is undefined
        return out


class _ReadOnce(Mapping):
    """A clip's annotations (frame index -> array), each read from the underlying mapping on first access only."""

    def __init__(self, maps: Mapping[int, np.ndarray], idx: list[int]):
        self._maps = maps
        self._keys = dict.fromkeys(i for i in idx if i in maps)  # ordered, O(1) membership
        self._read: dict[int, np.ndarray] = {}

    def __getitem__(self, i: int) -> np.ndarray:
        if i not in self._read:
            if i not in self._keys:
                raise KeyError(i)
            self._read[i] = self._maps[i]
        return self._read[i]

    def __contains__(self, i: object) -> bool:  # without reading (Mapping's default would)
        return i in self._keys

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def scored_annotations(c: Clip, idx: list[int]) -> Clip:
    """The clip restricted to the scored frames' alphas, trimaps and foregrounds, each read at most once: a lazy
    clip (the video benchmarks) decodes a file, or generates a trimap, on every access, and scoring reads each
    several times (whole, unknown, protocols, temporal). Unread entries stay unread (a missing trimap is not made)."""
    return dataclasses.replace(c, alphas=_ReadOnce(c.alphas, idx), trimaps=_ReadOnce(c.trimaps, idx), fgs=_ReadOnce(c.fgs, idx))


def own_copy(a: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """A copy the method owns: whatever it writes into it, the scorer never reads it back."""
    return None if a is None else np.array(a, copy=True)


def frame_id(clip: Clip, i: int) -> str:
    """``<clip id>/<frame>``: the frame's file stem when the dataset names its frames, else its index (5 digits)."""
    names = clip.metadata.get("frame_names")
    stem = os.path.splitext(str(names[i]))[0] if names and i < len(names) else f"{i:05d}"
    return f"{clip.id}/{stem}"


def scorer_columns(scorer: Scorer) -> list[str]:
    cols = list(scorer.columns) + ["predict_ms"]
    if scorer.dataset.card.kind == "video":
        cols += ["frames", "annotated"]
    return cols


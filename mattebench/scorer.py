"""Scoring one item: load it, run the method, check the prediction, compute the metrics.

A :class:`Scorer` turns a sample id into one result row and never raises for bad input: a
corrupt file, a size mismatch, a method exception or a NaN prediction becomes a row with
``status="error"`` and an ``error`` text that names the file and the reason. Executors (local,
Ray) build one Scorer per worker and feed it ids.
"""

from __future__ import annotations

import math
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from . import metrics as M
from . import sample_notes
from .errors import PredictionError, SampleError
from .contract import MattingMethod, SequencePredictor
from .ground_truth import observer
from .sample_inputs import records_inputs
from .types import Clip, DatasetCard, MethodCard, Sample, SavedPredictionSource

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
        return pred.astype(np.float32) / np.float32(255.0)
    pred = pred.astype(np.float32, copy=False)
    if not np.isfinite(pred).all():
        bad = int((~np.isfinite(pred)).sum())
        raise PredictionError(f"{where}: prediction has {bad} NaN/inf pixels")
    lo, hi = float(pred.min()), float(pred.max())
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise PredictionError(f"{where}: prediction values span [{lo:.4g}, {hi:.4g}], expected alpha in [0, 1]")
    return np.clip(pred, 0.0, 1.0)


def _unknown_scores(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray]) -> dict[str, float]:
    if trimap is None:
        return {k: math.nan for k in M.UNKNOWN_METRICS}
    return {k: float(v) for k, v in M.unknown_metrics(M.quantize(pred), M.quantize(gt), trimap).items()}


def _whole_scores(pred: np.ndarray, gt: np.ndarray) -> dict[str, float]:
    return {k: float(getattr(M, k)(pred, gt)) for k in M.WHOLE_METRICS}


def _convention_scores(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray], names: tuple[str, ...]) -> dict[str, float]:
    from . import conventions as C  # imported on use: runs without --conventions never load it

    return C.score(pred, gt, trimap, names)


def _call_method(fn: Any, where: str, *args: Any) -> Any:
    """``fn(*args)``, with ``sys.exit()`` and other BaseExceptions (not Ctrl-C) made a PredictionError,
    so that a method that exits or raises past ``Exception`` fails its sample, not the run."""
    try:
        return fn(*args)
    except (KeyboardInterrupt, GeneratorExit):
        raise
    except SystemExit as exc:
        raise PredictionError(f"{where}: the method called sys.exit({exc.code!r}) while predicting") from exc
    except Exception:
        raise
    except BaseException as exc:  # noqa: BLE001 - a BaseException subclass from method code
        raise PredictionError(f"{where}: the method raised {type(exc).__name__} (not an Exception): {exc}") from exc


@dataclass
class Scorer:
    method: MattingMethod
    dataset: Any
    method_card: MethodCard
    columns: list[str] = field(default_factory=list)
    debug: bool = False
    conventions: tuple[str, ...] = ()  # toolkit conventions (mattebench.conventions), scored after the reference
    # run --save-alphas: an AlphaSink (mattebench.saved_alphas) that rounds every prediction to what a
    # 16-bit PNG holds before it is scored and stores the chosen ids, so the files reproduce the run.
    alpha_sink: Any = None

    def __post_init__(self) -> None:
        if not self.columns:
            self.columns = metric_columns(self.dataset.card)
        if self.conventions:
            from . import conventions as C

            self.conventions = C.parse(self.conventions)
            self.columns = self.columns + [c for c in C.columns(self.conventions, self.dataset.card.kind == "video") if c not in self.columns]

    # -- one id -> one row ---------------------------------------------------------------
    @records_inputs  # an ok row gets the digest of the files it was built from (mattebench.sample_inputs)
    def score(self, sample_id: str) -> dict[str, Any]:
        row: dict[str, Any] = {"id": sample_id, "status": "ok", "error": ""}
        item: Any = None
        try:
            item = self.dataset.load(sample_id)
            if isinstance(item, Clip):
                row.update(self._score_clip(item))
            else:
                row.update(self._score_sample(item))
        except SampleError as exc:
            row.update(status="error", error=str(exc) if exc.path else f"{sample_id}: {exc.reason}")
        except PredictionError as exc:
            row.update(status="error", error=str(exc))
        except MemoryError:
            row.update(status="error", error=f"{sample_id}: out of memory while predicting or scoring")
        except Exception as exc:  # a method bug must not end the run
            detail = traceback.format_exc(limit=3) if self.debug else ""
            row.update(status="error", error=f"{sample_id}: method or scorer raised {type(exc).__name__}: {exc}{(' ' + detail) if detail else ''}")
        if row["status"] == "error":
            for c in self.columns:
                row.setdefault(c, None)
        # What the loader had to do to read the sample (snapped trimap, EXIF, RGBA cut-out), then what scoring
        # had to do (an estimated MESSDdt flow): into the row.
        scored_notes = row.pop(sample_notes.NOTES, None) or []
        row[sample_notes.NOTES] = sample_notes.encode([*sample_notes.notes_of(getattr(item, "metadata", None) or {}),
                                                       *scored_notes])
        return row

    def _predict(self, image: np.ndarray, trimap: Optional[np.ndarray], item: Any, where: str,
                 pred_id: Optional[str] = None) -> tuple[np.ndarray, float]:
        if isinstance(self.method, SavedPredictionSource):  # saved mattes: asked by id, never shown the sample
            t0 = time.perf_counter()
            pred = self.method.prediction_for(pred_id or item.id, image.shape[:2])
            return self._kept(pred_id or item.id, check_prediction(pred, image.shape[:2], where)), time.perf_counter() - t0
        observe = observer(self.method, self.method_card)
        if observe is not None:  # only reference methods (gt-echo) look at the ground truth
            observe(item)
        tri = trimap if self.method_card.needs_trimap else None
        if self.method_card.needs_trimap and trimap is None:
            raise SampleError("the method needs a trimap and this sample has none", path=where)
        t0 = time.perf_counter()
        pred = _call_method(self.method.predict, where, image, tri)
        dt = time.perf_counter() - t0
        return self._kept(pred_id or item.id, check_prediction(pred, image.shape[:2], where)), dt

    def _kept(self, pred_id: str, pred: np.ndarray) -> np.ndarray:
        return pred if self.alpha_sink is None else self.alpha_sink.keep(pred_id, pred)

    def _score_sample(self, s: Sample) -> dict[str, Any]:
        where = str(s.metadata.get("image_path", s.id))
        if s.alpha is None:
            raise SampleError("no ground-truth alpha for this sample", path=where)
        if s.alpha.shape != s.image.shape[:2]:
            raise SampleError(
                f"image is {s.image.shape[1]}x{s.image.shape[0]} but its alpha is {s.alpha.shape[1]}x{s.alpha.shape[0]}"
                f" ({s.metadata.get('alpha_path', 'alpha')})",
                path=where,
            )
        if s.trimap is not None and s.trimap.shape != s.image.shape[:2]:
            raise SampleError(f"trimap size {s.trimap.shape} differs from the image {s.image.shape[:2]}", path=str(s.metadata.get("trimap_path", where)))
        pred, dt = self._predict(s.image, s.trimap, s, where)
        out: dict[str, Any] = {"predict_ms": dt * 1000.0}
        if "mse_whole" in self.columns:
            out.update(_whole_scores(pred, s.alpha))
        if "sad" in self.columns:
            out.update(_unknown_scores(pred, s.alpha, s.trimap))
        if self.conventions:
            out.update(_convention_scores(pred, s.alpha, s.trimap, self.conventions))
        return out

    def _score_clip(self, c: Clip) -> dict[str, Any]:
        """Every frame is predicted in order (temporal methods see the sequence); annotated frames are scored."""
        if not c.alphas:
            raise SampleError("clip has no annotated frames", path=str(c.metadata.get("path", c.id)))
        frames = c.frames
        n = len(frames)
        idx = sorted(c.alphas)
        seq = self.method if isinstance(self.method, SequencePredictor) else None
        t0 = time.perf_counter()
        if seq is not None:
            observe = observer(self.method, self.method_card)
            if observe is not None:
                observe(c)
            tri_all = [c.trimaps.get(i) for i in range(n)] if self.method_card.needs_trimap else None
            preds = dict(enumerate(_call_method(lambda: list(seq.predict_sequence(list(frames), tri_all)), str(c.id))))
            n_pred = n
        elif self.method_card.needs_trimap or isinstance(self.method, SavedPredictionSource):
            # A trimap-based method can only run where a trimap exists: the annotated frames (saved
            # predictions are needed only there too).
            preds = {i: self._predict(frames[i], c.trimaps.get(i), c, f"{c.id} frame {i}", frame_id(c, i))[0] for i in idx}
            n_pred = len(idx)
        else:
            # Every frame in order, so that methods with state (OFD, recurrent nets) see the sequence.
            preds = {}
            for i in range(n):
                preds[i] = self._predict(frames[i], None, c, f"{c.id} frame {i}", frame_id(c, i))[0]
            n_pred = n
        dt = (time.perf_counter() - t0) / max(1, n_pred)
        checked = {i: check_prediction(preds.get(i), frames[i].shape[:2], f"{c.id} frame {i}") for i in idx}
        if seq is not None:
            checked = {i: self._kept(frame_id(c, i), a) for i, a in checked.items()}
        per_frame: list[dict[str, float]] = []
        for i in idx:
            scores: dict[str, float] = {}
            if "mse_whole" in self.columns:
                scores.update(_whole_scores(checked[i], c.alphas[i]))
            if "sad" in self.columns:
                scores.update(_unknown_scores(checked[i], c.alphas[i], c.trimaps.get(i)))
            if self.conventions:
                scores.update(_convention_scores(checked[i], c.alphas[i], c.trimaps.get(i), self.conventions))
            per_frame.append(scores)
        out: dict[str, Any] = {"predict_ms": dt * 1000.0, "frames": n, "annotated": len(idx)}
        for k in per_frame[0]:
            vals = [f[k] for f in per_frame if not math.isnan(f[k])]
            out[k] = float(np.mean(vals)) if vals else math.nan
        pa = np.stack([checked[i] for i in idx])
        ga = np.stack([c.alphas[i] for i in idx])
        out["dtssd"] = float(M.dtssd(pa, ga)) if len(idx) > 1 else math.nan
        consecutive = len(idx) > 1 and all(b - a == 1 for a, b in zip(idx, idx[1:]))
        if consecutive and all(i in c.trimaps for i in idx):
            flows = [c.flows.get(i) for i in idx[:-1]]
            have_flows = all(f is not None for f in flows)
            out["messddt"] = float(M.messddt(pa, ga, np.stack([c.trimaps[i] for i in idx]), flows=flows if have_flows else None))
            if not have_flows:
                out[sample_notes.NOTES] = [sample_notes.flow_note(c.id)]
        else:
            out["messddt"] = math.nan  # annotations are not on consecutive frames: MESSDdt is undefined
        if self.conventions:
            from . import conventions as C

            out.update(C.score_clip([checked[i] for i in idx], [c.alphas[i] for i in idx], self.conventions))
        return out


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


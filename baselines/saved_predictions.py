"""Scoring a folder of saved predictions: ``mattebench run --predictions DIR --name NAME``.

The most common use of any matting evaluation code: a researcher's own method wrote one matte per
image, and the folder is scored like any registered method. The files are matched by sample id:
``DIR/<id>.<ext>`` (the file stem; sub-folders allowed when ids hold ``/``), and clip frames as
``DIR/<clip id>/<frame>.<ext>`` with ``<frame>`` the frame's file stem or its index. Extensions:
8- or 16-bit PNG, JPEG, TIFF (8, 16 bit or float) and ``.npy`` (see :mod:`mattebench.data.io`).

The scorer asks for a matte by id and size only (:class:`mattebench.types.SavedPredictionSource`):
the folder never sees an image or a ground truth. A missing file, an unreadable one, two files for
one id, or a size other than the image's becomes an error row naming the path; files that match no
sample are counted and named in a warning. The run's identity holds a fingerprint of the folder
(every file's relative name and sha256), so an edited folder is never resumed into.

The video benchmarks' own layouts are read too (:data:`BENCHMARK_FRAME_KEYS`): RVM's and MatAnyone's
``<subset>/<clip>/pha/<frame>.png`` (with the predicted foreground in ``<subset>/<clip>/fgr/<frame>.png``,
scored by RVM's protocol) and TCVOM's ``<video>/<frame>_pred.png`` (its ``_tri.png`` files are not read:
the dataset makes the same trimap from the ground truth).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mattebench.contract import method
from mattebench.data.io import PREDICTION_EXTENSIONS, read_prediction
from mattebench.errors import MattebenchError, NotRegularFile, PredictionError
from mattebench.files import sha256_file
from mattebench.methods.registry import look_alike_method
from mattebench.names import escaped, name_problem
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, MethodCard

SOURCE_NOTE = "scored from saved predictions"


@dataclass(frozen=True)
class PredictionFile:
    key: str  # relative path without extension ("s01", "clip3/00012")
    path: Path


def index_folder(folder: Path) -> dict[str, list[PredictionFile]]:
    """Every prediction file under ``folder`` by key (hidden files and other extensions skipped)."""
    out: dict[str, list[PredictionFile]] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.startswith(".") or p.suffix.lower() not in PREDICTION_EXTENSIONS:
                continue
            key = p.relative_to(folder).with_suffix("").as_posix()
            out.setdefault(key, []).append(PredictionFile(key, p))
    return out


# The video benchmarks' prediction layouts, after ``<clip id>/``: RVM / MatAnyone write ``pha/<frame>`` (and
# ``fgr/<frame>``: the foreground), TCVOM's pred_vmn.py ``<frame>_pred`` (pred_vmn.py L130-135).
BENCHMARK_FRAME_KEYS = ("pha/{frame}", "{frame}_pred")
FOREGROUND_KEY = "fgr/{frame}"


def _prefixes(key: str) -> list[str]:
    """``a/b/c`` -> ``a``, ``a/b``: the clip ids a frame file may belong to (clip ids may hold ``/``)."""
    parts = key.split("/")
    return ["/".join(parts[:k]) for k in range(1, len(parts))]


def _matched_ids(keys: Sequence[str], ids: set[str]) -> set[str]:
    """The sample ids that ``keys`` (relative names without extension) provide: ``<id>`` or ``<clip id>/<frame>``."""
    hit = set()
    for key in keys:
        if key in ids:
            hit.add(key)
        else:
            hit.update(p for p in _prefixes(key) if p in ids)
    return hit


def _reads_as_matte(folder: Path, keys: Sequence[str], ids: set[str], files: dict[str, list[PredictionFile]]) -> bool:
    """Whether the first file of ``folder`` named like a sample reads as a matte (a composite does not)."""
    for key in sorted(keys):
        if key in ids or ("/" in key and key.split("/", 1)[0] in ids):
            try:
                read_prediction(files[key][0].path)
                return True
            except PredictionError:
                return False
    return False


def locate_predictions(folder: Path, sample_ids: Sequence[str]) -> Path:
    """The folder that holds the mattes: ``folder`` itself, or the one sub-folder of it that does.

    ``predict --out D`` writes ``D/alpha/`` (and ``D/composite/``); other tools write ``pha/``, ``matte/`` and so on.
    When no file at ``folder``'s own level is named like a sample, its sub-folders are looked at one level down:
    those holding files named like the samples are candidates; with several, those whose files are not mattes
    (colour composites) drop out. One left is the answer; more than one is refused with their names, so the
    user passes the right one. A folder with nothing named like a sample is returned as it is (every sample
    then gets an error row naming the file it expected).
    """
    if not folder.is_dir():
        return folder
    files = index_folder(folder)
    ids = set(sample_ids)
    if _matched_ids(list(files), ids):
        return folder
    by_sub: dict[str, list[str]] = {}
    for key in files:
        if "/" in key:
            head, rest = key.split("/", 1)
            by_sub.setdefault(head, []).append(rest)
    candidates = sorted(sub for sub, keys in by_sub.items() if _matched_ids(keys, ids))
    if len(candidates) > 1:
        sub_files = {sub: {k: files[f"{sub}/{k}"] for k in by_sub[sub]} for sub in candidates}
        mattes = [sub for sub in candidates if _reads_as_matte(folder / sub, by_sub[sub], ids, sub_files[sub])]
        candidates = mattes or candidates
    if not candidates:
        return folder
    if len(candidates) > 1:
        shown = ", ".join(str(folder / sub) for sub in candidates)
        raise MattebenchError(f"--predictions {folder}: no matte at its top level, and {len(candidates)} sub-folders hold files "
                              f"named like the samples ({shown}); pass the one with the mattes, e.g. --predictions "
                              f"{folder / candidates[0]}")
    return folder / candidates[0]


def folder_fingerprint(files: dict[str, list[PredictionFile]], folder: Path) -> str:
    """sha256 over every file's relative name and content hash (names sorted).

    A file that cannot be hashed (a FIFO or device, which would block or never end; a dangling link; no
    permission) enters as what it is: the folder is still indexed, and the sample that asks for that file
    gets an error row naming it (:func:`mattebench.data.io.read_prediction`).
    """
    h = hashlib.sha256()
    for key in sorted(files):
        for f in files[key]:
            try:
                content = sha256_file(f.path)
            except NotRegularFile as exc:
                content = f"not a regular file: {exc.kind}"
            except OSError as exc:
                content = f"unreadable: {exc.strerror or type(exc).__name__}"
            # names may hold bytes that are not UTF-8 (os.walk gives them as surrogates): hash those bytes
            h.update(f"{f.path.relative_to(folder).as_posix()}\t{content}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def card_from_options(name: str, family: str, paper: str, url: str, notes: str, what: str, licence: str = "unknown") -> MethodCard:
    """The card of a user-brought input (saved predictions, exported models): from the user's options."""
    if family not in (FAMILY_FREE, FAMILY_TRIMAP):
        raise MattebenchError(f"--family {family!r}: choose {FAMILY_FREE} or {FAMILY_TRIMAP} (how the predictions were made)")
    if not name or "/" in name or name != name.strip():
        raise MattebenchError(f"--name {name!r}: give a short name without '/' (it names the run folder and the leaderboard row)")
    problem = name_problem(name)
    twin = None if problem is not None else look_alike_method(name)
    if problem is not None or twin is not None:  # the check every registered name passes
        why = problem or f"it looks like the method {twin!r} (a second, identical-looking row on the leaderboard)"
        raise MattebenchError(f"--name '{escaped(name)}' (it names the run folder and the leaderboard row): {why}; "
                              "give --name a name that differs visibly from every method's")
    return MethodCard(name=name, needs_trimap=family == FAMILY_TRIMAP, family=family, paper=paper, url=url,
                      code_licence=licence, weights_licence=licence, input_size="as the user's files",
                      notes=(what + (f". {notes}" if notes else "")), weights_option="")  # the user's own output


class SavedPredictions:
    """A folder of mattes as a method (see the module docstring). ``family`` is the user's declaration."""

    def __init__(self, dir: str | os.PathLike[str], name: Optional[str] = None, family: str = FAMILY_FREE,
                 paper: str = "", url: str = "", notes: str = "", device: Any = None):
        self.folder = Path(dir)
        if not self.folder.is_dir():
            raise MattebenchError(f"--predictions {self.folder}: no such folder (give the folder that holds one matte per sample id)")
        self.files = index_folder(self.folder)
        if not self.files:
            raise MattebenchError(f"--predictions {self.folder}: no prediction files ({', '.join(PREDICTION_EXTENSIONS)}) in it")
        self.name = name or self.folder.resolve().name
        self.card = card_from_options(self.name, family, paper, url, notes, f"{SOURCE_NOTE} ({self.folder})")
        self.needs_trimap = self.card.needs_trimap
        self._fingerprint: Optional[str] = None

    # -- ExternalInput ----------------------------------------------------------------------------
    def input_identity(self) -> dict[str, Any]:
        if self._fingerprint is None:
            self._fingerprint = folder_fingerprint(self.files, self.folder)
        return {"source": SOURCE_NOTE, "predictions_dir": str(self.folder.resolve()), "predictions_fingerprint": self._fingerprint,
                "predictions_files": sum(len(v) for v in self.files.values())}

    def unmatched(self, sample_ids: Sequence[str]) -> list[str]:
        """Files whose key is no sample id and no frame of a clip id (clips: keys under ``<clip id>/``)."""
        ids = set(sample_ids)
        extra = []
        for key, fs in sorted(self.files.items()):
            if key in ids or any(p in ids for p in _prefixes(key)):
                continue
            extra.extend(f.path.relative_to(self.folder).as_posix() for f in fs)
        return extra

    # -- SavedPredictionSource --------------------------------------------------------------------
    def _lookup(self, sample_id: str) -> PredictionFile:
        fs = self.files.get(sample_id)
        if fs is None and "/" in sample_id:  # a clip frame: also by index (0012 == 12 == frame 12)
            clip, frame = sample_id.rsplit("/", 1)
            fs = self._frame_by_index(clip, frame) or self._benchmark_frame(clip, frame)
        if not fs:
            raise PredictionError(f"no prediction for sample {sample_id}: expected {self.folder / sample_id}"
                                  f"{{{','.join(PREDICTION_EXTENSIONS)}}}")
        if len(fs) > 1:
            raise PredictionError(f"sample {sample_id} has {len(fs)} prediction files ({', '.join(str(f.path) for f in fs)}); keep one")
        return fs[0]

    def _frame_by_index(self, clip: str, frame: str) -> Optional[list[PredictionFile]]:
        if not frame.isdigit():
            return None
        want = int(frame)
        hits = [f for key, fs in self.files.items() if key.startswith(clip + "/") for f in fs
                if key[len(clip) + 1:].isdigit() and int(key[len(clip) + 1:]) == want]
        return hits or None

    def _benchmark_frame(self, clip: str, frame: str) -> Optional[list[PredictionFile]]:
        for pattern in BENCHMARK_FRAME_KEYS:
            fs = self.files.get(f"{clip}/{pattern.format(frame=frame)}")
            if fs:
                return fs
        return None

    def _foreground(self, sample_id: str, alpha_file: PredictionFile, shape: tuple[int, int]) -> Optional[np.ndarray]:
        """The saved foreground beside a benchmark-layout alpha (``<clip>/fgr/<frame>``), HxWx3 uint8 RGB, or None."""
        if "/" not in sample_id:
            return None
        clip, frame = sample_id.rsplit("/", 1)
        if alpha_file.key != f"{clip}/pha/{frame}":
            return None
        fs = self.files.get(f"{clip}/{FOREGROUND_KEY.format(frame=frame)}")
        if not fs:
            return None
        from mattebench.data.io import read_image

        try:
            fgr = read_image(fs[0].path, apply_exif=False)
        except Exception as exc:  # noqa: BLE001 - the clip's error row names the file
            raise PredictionError(f"{fs[0].path}: cannot read the predicted foreground ({type(exc).__name__}: {exc})") from exc
        if fgr.shape[:2] != tuple(shape):
            raise PredictionError(f"{fs[0].path}: foreground is {fgr.shape[1]}x{fgr.shape[0]} but the frame is {shape[1]}x{shape[0]}")
        return fgr

    def prediction_for(self, sample_id: str, shape: tuple[int, int]) -> Any:
        """The matte of ``sample_id`` (HxW float32); for a benchmark-layout frame with a saved foreground, the pair
        ``(alpha, foreground)`` (:mod:`mattebench.scoring.video_protocols` takes it apart)."""
        f = self._lookup(sample_id)
        # 8-bit files stay uint8: the scorer turns them into k/255, the same float32 values, with no range checks
        alpha = read_prediction(f.path, keep_8bit=True)
        if alpha.shape != tuple(shape):
            raise PredictionError(f"{f.path}: prediction is {alpha.shape[1]}x{alpha.shape[0]} but the image of {sample_id} is "
                                  f"{shape[1]}x{shape[0]}; save mattes at the image's size (no resizing is done here)")
        fgr = self._foreground(sample_id, f, tuple(shape))
        return alpha if fgr is None else (alpha, fgr)

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        raise MattebenchError("saved predictions are looked up by sample id (the scorer calls prediction_for); "
                              "they cannot predict a new image")


PREDICTIONS_CARD = MethodCard(
    name="predictions", family=FAMILY_FREE, notes=SOURCE_NOTE + ": the card of each run comes from --name/--family",
    input_size="as the user's files", on_leaderboard=True, weights_option="")


@method(PREDICTIONS_CARD)
def create_saved_predictions(dir: str, name: Optional[str] = None, family: str = FAMILY_FREE, paper: str = "", url: str = "",
                             notes: str = "", device: Any = None) -> SavedPredictions:
    """``predictions``: a folder of saved mattes (``-m dir=PATH``; the CLI's ``--predictions DIR``)."""
    return SavedPredictions(dir, name=name, family=family, paper=paper, url=url, notes=notes, device=device)

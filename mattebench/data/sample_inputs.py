"""Each stored row names, by content, the files its sample was built from; a resume checks them.

The run identity holds the dataset's fingerprint (its file names and sizes): a matte edited in place with
its size and modification time kept would pass it. So every row also holds ``inputs_sha256``: one
sha256 over the sample's files (label relative to the data root, sha256 of the bytes), written when the
sample is scored and checked when a resume would keep the row.

- **Which files**: those the dataset lists for the sample (``files(id)``: image, matte, trimap,
  foreground, background; every frame, matte and trimap of a clip), and any other file read while the
  sample was loaded and scored. A dataset that lists no files (a plug-in, a generated set) is covered by
  the files read while it was loaded.
- **Hashed while reading**: :func:`mattebench.data.io.read_log` hashes the bytes each reader decodes; only a
  listed file that scoring did not read (a clip frame a trimap-based method never needed, a foreground
  a composite set kept decoded from an earlier sample) is read again, to hash it.
- **On resume** (:func:`why_changed`): a row whose digest differs from the files now, or that has no
  valid digest (a row written before mattebench stored it, a garbled cell), is not trusted; the store
  drops it with a warning naming the sample and its files, and the sample is recomputed. A row built
  from no file (a generated sample) has nothing to check.

Saved predictions and model files are not part of the row digest: the run identity holds them by content
(:mod:`mattebench.runs.identity`), and a change there refuses the whole resume before any row is read.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional

from mattebench import files
from mattebench.data.io import read_log
from mattebench.types import Clip

COLUMN = "inputs_sha256"  # also in mattebench.runs.store.TEXT_COLUMNS (kept as text, never parsed as a number)
NO_FILES = files.combine(())  # the digest of a sample built from no file
SHOW_FILES = 5


def _listed(dataset: Any, sample_id: str) -> Optional[list[Path]]:
    """The files the dataset lists for the sample, or None when it lists none (no ``files``)."""
    files = getattr(dataset, "files", None)
    if not callable(files):
        return None
    return [Path(ref.path) for ref in files(sample_id)]


def _label(path: str | os.PathLike[str], root: Optional[Path]) -> str:
    p = os.path.abspath(path)
    if root is not None:
        try:
            return Path(p).relative_to(os.path.abspath(root)).as_posix()
        except ValueError:
            pass
    return Path(p).as_posix()


def _entries(dataset: Any, listed: Optional[Iterable[Path]], log: Mapping[str, set[str]]) -> set[tuple[str, str]]:
    root = getattr(dataset, "root", None)
    entries = {(_label(p, root), d) for p, ds in log.items() for d in ds}
    for p in listed or ():
        digests = log.get(os.path.abspath(p))
        if not digests:  # listed but not read while scoring: hashed now
            entries.add((_label(p, root), files.file_digest(p)))
    return entries


def digest(dataset: Any, sample_id: str, log: Mapping[str, set[str]]) -> str:
    """The row digest of a sample scored just now, from the bytes logged while it was read."""
    return files.combine(_entries(dataset, _listed(dataset, sample_id), log))


def records_inputs(score: Callable[[Any, str], dict[str, Any]]) -> Callable[[Any, str], dict[str, Any]]:
    """Decorates ``Scorer.score``: the files read while the sample is scored are hashed as they are read,
    and an ok row gets their digest in ``inputs_sha256``."""

    @functools.wraps(score)
    def wrapper(self: Any, sample_id: str) -> dict[str, Any]:
        with read_log() as log:
            row = score(self, sample_id)
        if row.get("status") == "ok":
            row[COLUMN] = digest(self.dataset, sample_id, log)
        return row

    return wrapper


def _shown(paths: list[str]) -> str:
    more = len(paths) - SHOW_FILES
    return ", ".join(paths[:SHOW_FILES]) + (f" and {more} more" if more > 0 else "")


def why_changed(dataset: Any, row: Mapping[str, Any]) -> Optional[str]:
    """Why a stored ok row may not be kept: its files changed, or it holds no valid digest; None to keep it."""
    stored = row.get(COLUMN)
    if not isinstance(stored, str) or not stored:
        return (f"it has no {COLUMN} (written before mattebench stored each sample's input digest, or the cell "
                f"was emptied), so its files cannot be checked")
    if len(stored) != 64 or any(c not in "0123456789abcdef" for c in stored):
        return f"its {COLUMN} {stored[:70]!r} is not a sha256 digest"
    if stored == NO_FILES:
        return None  # built from no file: nothing can have changed on disk
    sid = str(row["id"])
    try:
        listed = _listed(dataset, sid)
        if listed is None:
            now, names = _reloaded(dataset, sid)
        else:
            now = files.combine(_entries(dataset, listed, {}))
            root = getattr(dataset, "root", None)
            names = [_label(p, root) for p in listed]
    except Exception as exc:  # a file gone, a dataset that cannot load it now: recomputing says what
        return f"its input files cannot be checked ({type(exc).__name__}: {exc})"
    if now != stored:
        return f"its input files changed since it was scored (one or more of: {_shown(sorted(names))})"
    return None


def _reloaded(dataset: Any, sample_id: str) -> tuple[str, list[str]]:
    """A dataset that lists no files: load the sample again and hash what it reads (a clip's frames are
    read on access, so a clip is always recomputed)."""
    with read_log() as log:
        item = dataset.load(sample_id)
    if isinstance(item, Clip):
        raise ValueError("the dataset lists no files (files(id)) and a clip's frames are read lazily")
    root = getattr(dataset, "root", None)
    return files.combine(_entries(dataset, None, log)), [_label(p, root) for p in log]

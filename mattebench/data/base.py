"""What every real-dataset loader shares: finding the root, pairing files by stem, fingerprints,
reading one paired sample with clear errors, and the file list that ``data check`` verifies.

Data roots (``root=None``): ``$MATTEBENCH_DATA/<name>`` when the environment variable is set,
else ``datasets/<name>/data`` under the current directory, else the same folder under the
mattebench checkout. A root that does not exist, or that does not hold the dataset's layout,
raises :class:`DatasetNotFound` with what to download, from where, and where to put it.

Loading is lazy: constructing a dataset lists directories and reads list files; pixels are read
only in ``load(id)``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Optional, Sequence

import numpy as np

from mattebench.data.io import (
    IMAGE_EXTENSIONS,
    alpha_from_8bit,
    image_info,
    listed_file,
    read_image,
    read_matte,
)
from mattebench.data.lazy_sample import LazySample, PhotoReader, TrimapFromAlpha
from mattebench.data.sample_notes import NOTES
from mattebench.data.trimap import RECIPE_NAME
from mattebench.data.trimap_values import (
    SNAP_OPTION,
    parse_snap_option,
    read_checked_trimap,
)
from mattebench.errors import DatasetNotFound, NotRegularFile, SampleError, guide_path
from mattebench.files import read_regular, sha256_file  # noqa: F401  (sha256_file re-exported: the project's one file hash)
from mattebench.types import DatasetCard, Sample

ENV_DATA = "MATTEBENCH_DATA"
# How files become arrays, in the fingerprint: rows read under older rules (a trimap with 127s scored as is, a
# cut-out matte read from its colour) must not be resumed into a run that reads them differently.
READ_RULES = "trimap-values-v1 rgba-cutout-v1 mask01-v1 labelmap-v1 single-page-v1"
ENV_CACHE = "MATTEBENCH_CACHE"
_REPO_ROOT = Path(__file__).resolve().parents[2]


# -- roots -----------------------------------------------------------------------------------------
def default_root(name: str) -> Path:
    """Where ``root=None`` looks for dataset ``name`` (see the module docstring)."""
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env).expanduser() / name
    here = Path.cwd() / "datasets" / name / "data"
    if here.exists():
        return here
    return _REPO_ROOT / "datasets" / name / "data"


def cache_dir() -> Path:
    """User cache for derived files (frozen trimap manifests, optional composite cache)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "mattebench"


def resolve_root(card: DatasetCard, root: Optional[os.PathLike[str] | str], data_name: Optional[str] = None) -> Path:
    """The data root as a Path; raises DatasetNotFound (with download instructions) when absent.

    ``data_name`` names the default folder when it differs from the card's name (``amd`` reads
    the Composition-1k files).
    """
    path = Path(root).expanduser() if root is not None else default_root(data_name or card.name)
    if not path.is_dir():
        how = "given" if root is not None else f"default (set --data-root or ${ENV_DATA})"
        raise DatasetNotFound(f"{card.name}: data root {path} ({how}) does not exist or is not a folder.\n{how_to_get(card, path)}")
    return path


def how_to_get(card: DatasetCard, root: Path) -> str:
    """The instruction block shared by every DatasetNotFound message."""
    lines = [
        f"Get {card.name} from {card.url or 'its authors (see the README)'} (licence: {card.licence}).",
        f"Put it under {root} so that it looks like:",
        *("    " + ln for ln in card.layout.strip().splitlines()),
        f"Then check it with: mattebench data check {card.name} --data-root {root}",
    ]
    readme = guide_path(f"datasets/{card.name}/README.md")  # the copy on this machine; none for a plug-in's dataset
    if readme:
        lines.append(f"Details: {readme}")
    return "\n".join(lines)


def not_found(card: DatasetCard, root: Path, what: str) -> DatasetNotFound:
    return DatasetNotFound(f"{card.name}: {what} under {root}.\n{how_to_get(card, root)}")


def find_dir(root: Path, candidates: Sequence[str], required: Sequence[str]) -> Optional[Path]:
    """The first ``root/<candidate>`` holding every path in ``required`` ("" = root itself)."""
    for cand in candidates:
        base = root / cand if cand else root
        if base.is_dir() and all((base / r).exists() for r in required):
            return base
    return None


# -- file listing and pairing ----------------------------------------------------------------------
def natural_key(text: str) -> list[Any]:
    """Sort key that orders ``test_2`` before ``test_10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]


def stem_index(folder: Path, problems: Optional[list[str]] = None, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> dict[str, Path]:
    """stem -> file for the image files of ``folder`` (sorted; hidden files skipped).

    Two files with one stem (``a.png`` and ``a.jpg``) make the pairing ambiguous: the first in
    name order is kept and a problem is recorded.
    """
    out: dict[str, Path] = {}
    if not folder.is_dir():
        return out
    for f in sorted(folder.iterdir()):
        if not listed_file(f, tuple(extensions)):  # keeps dangling links and fifos: their sample fails, named
            continue
        if f.stem in out:
            if problems is not None:
                problems.append(f"two files share the stem {f.stem!r}: {out[f.stem]} and {f} (kept the first); remove one")
            continue
        out[f.stem] = f
    return out


def read_list(path: Path) -> list[str]:
    """Lines of a name list: CRLF or LF, optional final newline, BOM and blank lines ignored."""
    try:
        text = read_regular(path).decode("utf-8-sig")  # a FIFO planted as a list file is refused, never read
    except NotRegularFile as exc:
        raise DatasetNotFound(f"cannot read the list file {path}: it is {exc.kind}, not a regular file") from exc
    except OSError as exc:
        raise DatasetNotFound(f"cannot read the list file {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetNotFound(f"the list file {path} is not UTF-8 text ({exc}); re-download it") from exc
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def hash_files(entries: Iterable[tuple[str, Path]], extra: Mapping[str, Any]) -> str:
    """sha256 over sorted (label, size) pairs plus ``extra`` (options, rule names).

    Labels are paths relative to the data root, so the same data gives the same fingerprint
    wherever it lies. A missing file enters as size -1 (the fingerprint then differs from a
    complete tree's).
    """
    h = hashlib.sha256()
    h.update(json.dumps(extra, sort_keys=True, default=str).encode())
    for label, path in sorted(set(entries)):
        try:
            size = path.stat().st_size
        except OSError:
            size = -1
        h.update(f"\n{label}\t{size}".encode("utf-8", "surrogateescape"))  # names may hold non-UTF-8 bytes
    return h.hexdigest()


def rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


@dataclass(frozen=True)
class FileRef:
    """One file ``data check`` verifies: its role, path, and its size group.

    Files of one item with the same non-empty ``group`` must have the same size (image, alpha and
    trimap of a sample; every frame of a clip). ``role`` "image" is compared after EXIF rotation.
    """

    role: str
    path: Path
    group: str = "main"


# -- the base class --------------------------------------------------------------------------------
class RealDataset:
    """Base of the real-dataset loaders. Subclasses fill ``_ids`` and implement ``load``/``files``.

    ``problems`` collects what indexing found wrong (unpaired files, wrong counts, bad lists); a
    load of an affected id raises SampleError, and ``data check`` lists every problem.
    ``notes`` holds facts worth printing (which list file was used, how many videos were found).
    """

    card: ClassVar[DatasetCard]
    expected_count: ClassVar[Optional[int]] = None
    data_name: ClassVar[Optional[str]] = None  # default-root folder when not the card's name

    def __init__(self, root: Optional[os.PathLike[str] | str] = None) -> None:
        self.root: Path = resolve_root(self.card, root, self.data_name)
        self.problems: list[str] = []
        self.notes: list[str] = []
        self._ids: list[str] = []
        self.options: dict[str, Any] = {}
        self.partial: Optional[tuple[int, int]] = None  # (found, expected) on a partial but consistent tree
        self.trimap_snap = False  # -d trimap_snap=true: see set_trimap_snap

    def set_trimap_snap(self, value: object) -> None:
        """``-d trimap_snap=true``: stray trimap values are mapped to the nearest class (with a note) instead of
        failing the sample. Datasets that read trimap files take the option and call this."""
        self.trimap_snap = parse_snap_option(value)
        if self.trimap_snap:
            self.options[SNAP_OPTION] = True  # part of the fingerprint: snapped numbers are not the same numbers

    # -- contract ------------------------------------------------------------------------------
    def ids(self) -> list[str]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[Any]:
        for i in self._ids:
            yield self.load(i)

    def load(self, id: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def files(self, id: str) -> list[FileRef]:  # pragma: no cover - abstract
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        return {"samples": len(self._ids)}

    def fingerprint_extra(self) -> dict[str, Any]:
        return {}

    def fingerprint(self) -> str:
        """Hash of the manifest: relative file names and sizes, the options, the rules in force."""
        entries = [(f"{ref.role}:{rel(ref.path, self.root)}", ref.path) for i in self._ids for ref in self.files(i)]
        extra = {"dataset": self.card.name, "options": self.options, "ids": len(self._ids), "read_rules": READ_RULES,
                 **self.fingerprint_extra()}
        return hash_files(entries, extra)

    def _check_count(self, found: int, what: str) -> None:
        if self.expected_count is not None and 0 < found < self.expected_count and not self.problems:
            # Fewer files than the release, but every one paired: a partial tree (a dev subset, a download
            # in progress). Usable as it is; runs on it are marked as a subset (mattebench.runs.identity).
            self.partial = (found, self.expected_count)
            self.notes.append(f"PARTIAL TREE: {found} of {self.expected_count} {what} present; runs score the {found} "
                              f"pairs present and are marked as a subset (not comparable with full-set numbers)")
            return
        if self.expected_count is not None and found != self.expected_count:
            self.problems.append(
                f"expected {self.expected_count} {what}, found {found}: the download or extraction looks incomplete"
                if found < self.expected_count
                else f"expected {self.expected_count} {what}, found {found}: extra files are present (they are loaded too)"
            )

    def _require(self, id: str) -> None:
        if id not in self._id_set:
            raise SampleError(f"unknown sample id {id!r} for {self.card.name} ({len(self._ids)} ids)", sample_id=id)

    @property
    def _id_set(self) -> set[str]:
        cached = getattr(self, "_id_set_cache", None)
        if cached is None or len(cached) != len(self._ids):
            cached = set(self._ids)
            self._id_set_cache = cached
        return cached


LABEL_MAX = 31  # a matte whose largest value is this or less holds no foreground at all: a label map or a mask


def check_matte_levels(alpha_u8: np.ndarray, path: Path) -> None:
    """A ground-truth matte whose values are only small integers (0/1, 0/1/2, ... up to ``LABEL_MAX``) is a mask or
    a label map saved without scaling to 255: read as 8-bit alpha it would be almost fully transparent, and every
    method would score against an empty matte. An all-zero matte (no foreground) is left alone."""
    top = int(alpha_u8.max()) if alpha_u8.size else 0
    if top == 1:
        raise SampleError("the matte holds only the values 0 and 1: a 0/1 mask saved without scaling? "
                          "Save it with 255 for foreground (8-bit alpha: 0 = background, 255 = foreground)", path=str(path))
    if 1 < top <= LABEL_MAX:
        values = np.unique(alpha_u8)
        shown = ", ".join(str(int(v)) for v in values[:8]) + (", ..." if len(values) > 8 else "")
        raise SampleError(f"the matte holds only small values ({shown}; at most {top} of 255): a label map or class "
                          f"mask saved as a matte? A matte is 8-bit alpha (0 = background, 255 = foreground); save it "
                          f"scaled to 0..255", path=str(path))


EXIF_ORIENTATION = "exif_orientation"
_ORIENTATION_NAMES = {2: "mirrored", 3: "rotated 180", 4: "flipped", 5: "mirrored and rotated 90 counter-clockwise",
                      6: "rotated 90 clockwise", 7: "mirrored and rotated 90 clockwise", 8: "rotated 90 counter-clockwise"}


EXIF_CHOICES = ("auto", "apply", "ignore")


@dataclass(frozen=True)
class PhotoPlan:
    """How a photo is read so that it matches its matte, decided from its header alone (see
    :func:`plan_photo`): with or without its EXIF rotation, the size it will have, what goes into the
    sample's metadata."""

    apply_exif: bool
    shape: tuple[int, int]
    metadata: Mapping[str, Any]


def plan_photo(image_path: Path, alpha_shape: tuple[int, int], alpha_path: Path, exif: str = "auto") -> PhotoPlan:
    """How to read a photo so that it matches its matte's size, from its header (no pixel decoded).

    The photo is read with its EXIF orientation applied (what a viewer and ``cv2.imread`` show). When
    that size differs from the matte's but the stored orientation matches (the matte was drawn on the raw
    pixels), the raw pixels are used. Otherwise the sizes truly differ: SampleError naming both files.
    Every photo with an orientation other than 1 gets ``metadata["exif_orientation"]`` and a note saying
    what was done, counted in the run's provenance: where both orientations fit the matte (a square photo,
    a 180-degree turn, a mirror) the choice cannot be checked from sizes, and the note says so.
    ``exif="apply"`` or ``"ignore"`` (``-d exif=...``) makes the choice for every photo instead.
    """
    info = image_info(image_path)  # missing, empty, not an image, over the pixel limit: SampleError here
    orientation = info.orientation
    shown = (info.display_size[1], info.display_size[0])
    raw = (info.height, info.width)
    if orientation == 1 and shown == alpha_shape:
        return PhotoPlan(True, shown, {})
    fits_shown, fits_raw = shown == alpha_shape, raw == alpha_shape and orientation != 1
    if exif != "auto" and orientation != 1:
        fits_shown, fits_raw = fits_shown and exif == "apply", fits_raw and exif == "ignore"
    if not fits_shown and not fits_raw:
        h, w = shown
        raise SampleError(
            f"image is {w}x{h} but its matte {alpha_path} is {alpha_shape[1]}x{alpha_shape[0]}; one of the two files is wrong"
            + (f" (EXIF orientation {orientation}, -d exif={exif})" if orientation != 1 else ""),
            path=str(image_path),
        )
    how = f"{image_path}: EXIF orientation {orientation} ({_ORIENTATION_NAMES.get(orientation, '?')})"
    if fits_shown and fits_raw:
        note = (f"{EXIF_ORIENTATION}: {how} applied, as image viewers and cv2.imread do; the matte fits either "
                "orientation, so check that it follows the rotated photo (if it follows the stored pixels, pass -d exif=ignore)")
        return PhotoPlan(True, shown, {EXIF_ORIENTATION: orientation, NOTES: [note]})
    if fits_shown:
        why = "-d exif=apply" if exif == "apply" else "only the rotated photo fits the matte"
        return PhotoPlan(True, shown, {EXIF_ORIENTATION: orientation, NOTES: [f"{EXIF_ORIENTATION}: {how} applied ({why})"]})
    why = "-d exif=ignore" if exif == "ignore" else "the matte follows the stored pixels"
    note = f"{EXIF_ORIENTATION}: {how} ignored ({why})"
    return PhotoPlan(False, raw, {"exif_orientation_ignored": True, EXIF_ORIENTATION: orientation, NOTES: [note]})


def read_image_matching(image_path: Path, alpha_shape: tuple[int, int], alpha_path: Path,
                        exif: str = "auto") -> tuple[np.ndarray, dict[str, Any]]:
    """The photo read as :func:`plan_photo` decides, with the metadata it adds."""
    plan = plan_photo(image_path, alpha_shape, alpha_path, exif)
    return PhotoReader(image_path, plan.apply_exif, plan.shape)(), {k: (list(v) if k == NOTES else v) for k, v in plan.metadata.items()}


def load_pair(
    id: str,
    image_path: Optional[Path],
    alpha_path: Optional[Path],
    trimap_path: Optional[Path],
    generate_trimap: bool,
    extra_metadata: Optional[dict[str, Any]] = None,
    trimap_snap: bool = False,
    exif: str = "auto",
) -> Sample:
    """One image/alpha(/trimap) sample with every failure as SampleError naming the file.

    A trimap file must hold only 0/128/255 (see :mod:`.trimap_values`); ``trimap_snap`` maps stray
    values to the nearest class instead of failing, with a note.
    """
    if image_path is None:
        raise SampleError("no image file for this sample", sample_id=id, path=str(alpha_path) if alpha_path else None)
    if alpha_path is None:
        raise SampleError("no ground-truth matte for this image (expected one with the same file stem)", path=str(image_path), sample_id=id)
    alpha_u8, alpha_notes = read_matte(alpha_path)
    check_matte_levels(alpha_u8, alpha_path)
    alpha = alpha_from_8bit(alpha_u8)  # k/255 in float32, one pass
    # The photo and a generated trimap are read when first used (mattebench.data.lazy_sample): saved
    # predictions under the whole-image protocol read neither; the size checks use the photo's header.
    plan = plan_photo(image_path, alpha.shape, alpha_path, exif)
    meta = dict(plan.metadata)
    notes: list[str] = [*alpha_notes, *meta.pop(NOTES, [])]
    metadata: dict[str, Any] = {"image_path": str(image_path), "alpha_path": str(alpha_path), **meta}
    trimap: Optional[np.ndarray] = None
    make_trimap: Optional[TrimapFromAlpha] = None
    if trimap_path is not None:
        trimap, snapped = read_checked_trimap(trimap_path, trimap_snap, sample_id=id)
        if trimap.shape != alpha.shape:
            raise SampleError(
                f"trimap is {trimap.shape[1]}x{trimap.shape[0]} but the matte {alpha_path} is {alpha.shape[1]}x{alpha.shape[0]}",
                path=str(trimap_path),
                sample_id=id,
            )
        metadata["trimap_path"] = str(trimap_path)
        metadata["trimap_source"] = "official"
        if snapped:
            notes.append(snapped)
    elif generate_trimap:
        make_trimap = TrimapFromAlpha(alpha_u8)  # made when first read: this says how it is made
        metadata["trimap_source"] = "generated:" + RECIPE_NAME
    if extra_metadata:
        metadata.update(extra_metadata)
    if notes:
        metadata[NOTES] = [*metadata.get(NOTES, []), *notes]
    return LazySample(id=id, alpha=alpha, trimap=trimap, metadata=metadata, image_shape=plan.shape,
                      image_loader=PhotoReader(image_path, plan.apply_exif, plan.shape), trimap_loader=make_trimap)


class PairedFolderDataset(RealDataset):
    """image/alpha(/trimap) folders paired by file stem; ids are the image stems.

    Subclasses implement ``_locate()`` returning ``(image_dir, alpha_dir, trimap_dir or None)``.
    ``trimaps_expected`` says whether a missing trimap is a problem (official trimaps) or the
    generated recipe fills in (trimap-free sets).
    """

    trimaps_expected: ClassVar[bool] = False

    def __init__(self, root: Optional[os.PathLike[str] | str] = None, trimap_snap: bool = False, exif: str = "auto") -> None:
        super().__init__(root)
        self.image_dir, self.alpha_dir, self.trimap_dir = self._locate()
        self._index()
        self.set_trimap_snap(trimap_snap)
        if exif not in EXIF_CHOICES:
            raise DatasetNotFound(f"{self.card.name}: -d exif must be one of {', '.join(EXIF_CHOICES)}, got {exif!r}")
        self.exif = exif
        if exif != "auto":
            self.options["exif"] = exif

    def _locate(self) -> tuple[Path, Path, Optional[Path]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _index(self) -> None:
        images = stem_index(self.image_dir, self.problems)
        alphas = stem_index(self.alpha_dir, self.problems)
        trimaps = stem_index(self.trimap_dir, self.problems) if self.trimap_dir is not None else {}
        if self.trimaps_expected and self.trimap_dir is None:
            self.problems.append("the trimap folder is missing: the unknown-protocol metrics need the official trimaps")
        self._images, self._alphas, self._trimaps = images, alphas, trimaps
        for stem, path in images.items():
            if stem not in alphas:
                self.problems.append(f"missing matte for {path} (expected {self.alpha_dir}/{stem}.*)")
            if self.trimap_dir is not None and stem not in trimaps:
                self.problems.append(f"missing trimap for {path} (expected {self.trimap_dir}/{stem}.*)")
        for stem, path in alphas.items():
            if stem not in images:
                self.problems.append(f"matte {path} has no image (expected {self.image_dir}/{stem}.*)")
        for stem, path in trimaps.items():
            if stem not in images:
                self.problems.append(f"trimap {path} has no image (expected {self.image_dir}/{stem}.*)")
        self._ids = sorted(images)
        self._check_count(len(images), "images")

    def counts(self) -> dict[str, int]:
        out = {"samples": len(self._ids), "images": len(self._images), "mattes": len(self._alphas)}
        if self.trimap_dir is not None:
            out["trimaps"] = len(self._trimaps)
        return out

    def files(self, id: str) -> list[FileRef]:
        refs = [FileRef("image", self._images[id])]
        stem_alpha = self._alphas.get(id)
        refs.append(FileRef("alpha", stem_alpha if stem_alpha is not None else self.alpha_dir / f"{id}.png"))
        if self.trimap_dir is not None:
            t = self._trimaps.get(id)
            refs.append(FileRef("trimap", t if t is not None else self.trimap_dir / f"{id}.png"))
        return refs

    def load(self, id: str) -> Sample:
        self._require(id)
        image_path = self._images[id]
        alpha_path = self._alphas.get(id)
        trimap_path = self._trimaps.get(id)
        if trimap_path is None and (self.trimap_dir is not None or self.trimaps_expected):
            # Official trimaps are part of the protocol: never replace a missing one silently.
            where = self.trimap_dir if self.trimap_dir is not None else self.image_dir.parent / "trimap"
            raise SampleError(f"no trimap for this image (expected {where}/{id}.png); re-download the trimaps", path=str(image_path), sample_id=id)
        return load_pair(id, image_path, alpha_path, trimap_path, generate_trimap=True, trimap_snap=self.trimap_snap,
                         exif=self.exif)


class LazyFrames(Sequence[np.ndarray]):
    """A clip's frames read on access, so a long 1080p clip never sits in memory at once."""

    def __init__(self, paths: Sequence[Path]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [read_image(p) for p in self.paths[i]]
        return read_image(self.paths[i])


class LazyMaps(Mapping[int, np.ndarray]):
    """frame index -> annotation (alpha or trimap), read from its file on access."""

    def __init__(self, paths: Mapping[int, Path], reader: Any):
        self.paths = dict(sorted(paths.items()))
        self.reader = reader

    def __getitem__(self, i: int) -> np.ndarray:
        return self.reader(self.paths[i])

    def __iter__(self) -> Iterator[int]:
        return iter(self.paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __contains__(self, i: object) -> bool:
        return i in self.paths

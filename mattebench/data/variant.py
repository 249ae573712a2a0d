"""Dataset variants for the robustness track, applied once to every dataset where datasets are loaded.

:func:`mattebench.methods.registry.load_dataset` takes three reserved options away from the dataset's own
factory and wraps what the factory returns in a :class:`DatasetVariant`:

- ``corrupt=KIND:SEVERITY``: the input image (every frame of a clip) is corrupted as in
  :mod:`mattebench.data.corrupt`; ground truth, trimap, fg/bg and the compositing are untouched.
- ``trimap_radius=R``: the generated-trimap recipe (:func:`mattebench.data.trimap.trimap_from_alpha`,
  ``dilate-erode-v1``) with band radius R instead of its size-relative default. A sample that carries an
  *official* trimap becomes an error row saying to use ``trimap_adjust`` instead: an official trimap is
  never silently replaced.
- ``trimap_adjust=+R|-R``: the unknown band of whatever trimap the sample has (official or generated)
  grown or shrunk by R pixels (:func:`mattebench.data.trimap.adjust_band`), the small/large trimaps of
  alphamatting.com. The unknown-region metrics are then computed on the adjusted band (as
  alphamatting.com scores each trimap on its own band); the whole-image metrics compare across widths.

The variant changes the dataset's fingerprint (:meth:`DatasetVariant.fingerprint` hashes the inner
fingerprint with :meth:`VariantSpec.as_dict`, which carries the corruption's parameter values and the
table version), the runner records :meth:`VariantSpec.as_dict` in the run identity and summary as
``dataset_variant`` and keeps the run folder apart with :func:`variant_tag` (``corrupt-jpeg-3``) unless
``--tag`` is given, and the leaderboards keep such runs out of the clean tables.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional, Sequence

import numpy as np

from mattebench.data import corrupt as C
from mattebench.data.trimap import RECIPE_NAME, adjust_band, trimap_from_alpha
from mattebench.errors import MattebenchError, SampleError, VariantError
from mattebench.types import Clip, Sample

OPTION_NAMES = ("corrupt", "trimap_radius", "trimap_adjust")
MAX_RADIUS = 1024


def _int_option(name: str, value: Any, signed: bool) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[+-]?\d+" if signed else r"\+?\d+", text):
        want = "+R or -R (pixels), e.g. -d trimap_adjust=+5" if signed else "a number of pixels >= 0, e.g. -d trimap_radius=5"
        raise VariantError(f"{name}={value!r}: give {want}")
    n = int(text)
    if abs(n) > MAX_RADIUS:
        raise VariantError(f"{name}={value!r}: at most {MAX_RADIUS} pixels")
    if signed and n == 0:
        raise VariantError(f"{name}=0 changes nothing: leave the option out for the dataset's own trimap")
    return n


@dataclass(frozen=True)
class VariantSpec:
    """What a variant changes; empty (``bool(spec)`` false) when nothing."""

    corrupt: Optional[C.Corruption] = None
    trimap_radius: Optional[int] = None
    trimap_adjust: Optional[int] = None

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.corrupt, self.trimap_radius, self.trimap_adjust))

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "VariantSpec":
        return cls(
            corrupt=C.Corruption.parse(options["corrupt"]) if options.get("corrupt") is not None else None,
            trimap_radius=_int_option("trimap_radius", options["trimap_radius"], False) if options.get("trimap_radius") is not None else None,
            trimap_adjust=_int_option("trimap_adjust", options["trimap_adjust"], True) if options.get("trimap_adjust") is not None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """The record form (identity, summary, fingerprint): only what is set."""
        out: dict[str, Any] = {}
        if self.corrupt is not None:
            out["corrupt"] = self.corrupt.as_dict()
        if self.trimap_radius is not None:
            out["trimap_radius"] = self.trimap_radius
        if self.trimap_adjust is not None:
            out["trimap_adjust"] = self.trimap_adjust
        return out

    def tag(self) -> Optional[str]:
        """The automatic run-folder tag: ``corrupt-jpeg-3``, ``trimap-r5``, ``trimap+3``, joined by ``_``."""
        parts = []
        if self.corrupt is not None:
            parts.append(f"corrupt-{self.corrupt.kind}-{self.corrupt.severity}")
        if self.trimap_radius is not None:
            parts.append(f"trimap-r{self.trimap_radius}")
        if self.trimap_adjust is not None:
            parts.append(f"trimap{self.trimap_adjust:+d}")
        return "_".join(parts) or None


def split_variant_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], VariantSpec]:
    """(the dataset's own options, the parsed variant); raises CorruptionError on a bad value."""
    own = {k: v for k, v in options.items() if k not in OPTION_NAMES}
    return own, VariantSpec.from_options({k: v for k, v in options.items() if k in OPTION_NAMES})


class _Frames(Sequence[np.ndarray]):
    """A clip's frames corrupted on access (frames stay lazy, as the loaders keep them)."""

    def __init__(self, frames: Sequence[np.ndarray], fn: Callable[[np.ndarray, int], np.ndarray]):
        self._frames, self._fn = frames, fn

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        j = i + len(self) if i < 0 else i
        return self._fn(self._frames[j], j)


class _Maps(Mapping[int, np.ndarray]):
    """frame index -> trimap, transformed on access."""

    def __init__(self, keys: Sequence[int], fn: Callable[[int], np.ndarray]):
        self._keys, self._fn = list(keys), fn

    def __getitem__(self, i: int) -> np.ndarray:
        if i not in self._keys:
            raise KeyError(i)
        return self._fn(i)

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, i: object) -> bool:  # without computing the trimap
        return i in self._keys


def _generated(metadata: Mapping[str, Any]) -> bool:
    return str(metadata.get("trimap_source", "")).startswith("generated:")


class DatasetVariant:
    """Any dataset, its items transformed by a :class:`VariantSpec` (see the module docstring).

    Everything else (card, counts, files, problems, training streams) is the inner dataset's.
    """

    def __init__(self, inner: Any, name: str, spec: VariantSpec):
        if not spec:
            raise MattebenchError("DatasetVariant needs a non-empty VariantSpec")
        self.inner, self.name, self.spec = inner, name, spec
        self.card = inner.card

    def __getattr__(self, attr: str) -> Any:
        if attr in ("inner", "name", "spec"):  # not set yet (unpickling): no recursion
            raise AttributeError(attr)
        value = getattr(self.inner, attr)
        if attr in ("sample", "training_sample") and callable(value):
            return lambda *a, **k: self.transform(value(*a, **k))
        return value

    # -- the dataset contract --------------------------------------------------------------
    def ids(self) -> list[str]:
        return list(self.inner.ids())

    def __len__(self) -> int:
        return len(self.inner.ids())

    def __iter__(self) -> Iterator[Any]:
        for i in self.ids():
            yield self.load(i)

    def load(self, id: str) -> Any:
        return self.transform(self.inner.load(id))

    def fingerprint(self) -> str:
        key = json.dumps({"inner": self.inner.fingerprint(), "variant": self.spec.as_dict()}, sort_keys=True)
        return hashlib.sha256(key.encode()).hexdigest()

    def variant(self) -> dict[str, Any]:
        return self.spec.as_dict()

    # -- items -----------------------------------------------------------------------------
    def transform(self, item: Any) -> Any:
        if isinstance(item, Clip):
            return self._clip(item)
        if isinstance(item, Sample):
            return self._sample(item)
        raise MattebenchError(f"dataset {self.name!r} returned a {type(item).__name__}, not a Sample or Clip: variants need one of those")

    def _meta(self, metadata: Mapping[str, Any]) -> dict[str, Any]:
        return {**metadata, "variant": self.spec.as_dict()}

    def _trimap(self, trimap: Optional[np.ndarray], alpha: Optional[np.ndarray], meta: dict[str, Any], where: str) -> Optional[np.ndarray]:
        s = self.spec
        if s.trimap_radius is not None:
            if trimap is not None and not _generated(meta):
                raise SampleError(
                    f"trimap_radius={s.trimap_radius} applies to generated trimaps, and this sample's trimap is "
                    f"{meta.get('trimap_source', 'from the dataset')} ({meta.get('trimap_path', 'no path')}); "
                    "use -d trimap_adjust=+R or -R to grow or shrink an official trimap", path=where)
            if alpha is None:
                raise SampleError("trimap_radius needs the ground-truth alpha to generate the trimap from", path=where)
            trimap = trimap_from_alpha(alpha, radius=s.trimap_radius)
            meta["trimap_source"] = f"generated:{RECIPE_NAME}(r={s.trimap_radius})"
        if s.trimap_adjust is not None:
            if trimap is None:
                raise SampleError(f"trimap_adjust={s.trimap_adjust:+d}: this sample has no trimap to adjust", path=where)
            trimap = adjust_band(trimap, s.trimap_adjust)
            meta["trimap_source"] = f"{meta.get('trimap_source', 'dataset')}, band {s.trimap_adjust:+d} px"
        return trimap

    def _sample(self, s: Sample) -> Sample:
        meta = self._meta(s.metadata)
        where = str(s.metadata.get("image_path", s.id))
        image = s.image
        if self.spec.corrupt is not None:
            image = C.apply(s.image, self.spec.corrupt, self.name, s.id)
        trimap = self._trimap(s.trimap, s.alpha, meta, where) if (self.spec.trimap_radius is not None or self.spec.trimap_adjust is not None) else s.trimap
        return dataclasses.replace(s, image=image, trimap=trimap, metadata=meta)

    def _clip(self, c: Clip) -> Clip:
        meta = self._meta(c.metadata)
        frames: Sequence[np.ndarray] = c.frames
        if self.spec.corrupt is not None:
            corruption, name, cid = self.spec.corrupt, self.name, c.id
            frames = _Frames(c.frames, lambda img, j: C.apply(img, corruption, name, cid, frame=j))
        trimaps: Mapping[int, np.ndarray] = c.trimaps
        if self.spec.trimap_radius is not None or self.spec.trimap_adjust is not None:
            keys = sorted(set(c.trimaps) | (set(c.alphas) if self.spec.trimap_radius is not None else set()))
            src_meta = dict(meta)
            self._trimap(c.trimaps.get(keys[0]) if keys else None, c.alphas.get(keys[0]) if keys else None, meta,
                         str(c.metadata.get("path", c.id)))  # checks the clip once, sets trimap_source
            trimaps = _Maps(keys, lambda i: self._trimap(c.trimaps.get(i), c.alphas.get(i), dict(src_meta), f"{c.id} frame {i}"))
        return dataclasses.replace(c, frames=frames, trimaps=trimaps, metadata=meta)  # type: ignore[arg-type]


def wrap(dataset: Any, name: str, spec: VariantSpec) -> Any:
    """``dataset`` itself when ``spec`` is empty, else a :class:`DatasetVariant`."""
    return DatasetVariant(dataset, name, spec) if spec else dataset


def variant_of(dataset: Any) -> dict[str, Any]:
    """The variant record of a (possibly wrapped) dataset: ``{}`` for a clean dataset."""
    return dataset.variant() if isinstance(dataset, DatasetVariant) else {}


def variant_tag(variant: Mapping[str, Any]) -> Optional[str]:
    """The automatic run tag of a variant record (as :meth:`VariantSpec.tag`), None when clean."""
    if not variant:
        return None
    c = variant.get("corrupt")
    spec = VariantSpec(
        corrupt=C.Corruption(c["kind"], int(c["severity"])) if c else None,
        trimap_radius=variant.get("trimap_radius"),
        trimap_adjust=variant.get("trimap_adjust"),
    )
    return spec.tag()

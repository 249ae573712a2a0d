"""The records that flow through mattebench: samples, clips, cards.

Data flows one way: dataset -> Sample/Clip -> method -> scorer -> store -> report.
Arrays follow one convention everywhere:

- image: HxWx3 uint8 RGB
- alpha: HxW float32 in [0, 1] (ground truth read from 8-bit files is exactly k/255)
- trimap: HxW uint8 with 0 = background, 128 = unknown, 255 = foreground, or None
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import (
    Any,
    Iterator,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Union,
    runtime_checkable,
)

import numpy as np

FAMILY_TRIMAP = "trimap-based"
FAMILY_FREE = "trimap-free"
FAMILY_REFERENCE = "reference"

# What an 8-bit matte value k means as alpha, for every step (reading files, scoring, the metrics): single(k) / 255,
# as MATLAB's evaluation code and numpy's astype(float32) / float32(255) give it. One table, looked up by value.
ALPHA_OF_8BIT = np.arange(256, dtype=np.float32) / np.float32(255.0)


@dataclass(frozen=True)
class AtLeast:
    """The valid range of a numeric method or dataset option, said where the option is declared:
    ``ref_size: Annotated[Optional[int], AtLeast(1)] = 512`` (or in an ``options={...}`` mapping). A value below
    ``min`` (or equal to it, with ``strict=True``) is refused before anything is built (:mod:`mattebench.methods.options`)."""

    min: float
    strict: bool = False

    def admits(self, value: Any) -> bool:
        return value > self.min if self.strict else value >= self.min

    def __str__(self) -> str:
        return f"{'>' if self.strict else '>='} {self.min:g}"


@dataclass
class Sample:
    """One still image with its ground truth.

    ``fg`` and ``bg`` hold the true foreground and background colours (HxWx3 uint8) when the
    dataset composites them (synthetic, Composition-1k, D646); training uses them for the
    compositional loss. ``metadata`` holds source paths and protocol facts (background index,
    how the trimap was made).
    """

    id: str
    image: np.ndarray
    alpha: Optional[np.ndarray]
    trimap: Optional[np.ndarray] = None
    fg: Optional[np.ndarray] = None
    bg: Optional[np.ndarray] = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class Clip:
    """A video clip: every frame in order, ground truth on some of them.

    ``alphas`` and ``trimaps`` map a frame index (into ``frames``) to its annotation.
    ``flows`` optionally maps a frame index t to the ground-truth motion t -> t+1 (HxWx2, pixels).
    """

    id: str
    frames: Sequence[np.ndarray]
    alphas: dict[int, np.ndarray]
    trimaps: dict[int, np.ndarray] = field(default_factory=dict)
    flows: dict[int, np.ndarray] = field(default_factory=dict)
    fgs: dict[int, np.ndarray] = field(default_factory=dict)
    bgs: dict[int, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)


Item = Union[Sample, Clip]


@dataclass(frozen=True)
class MethodCard:
    """What a user needs to know about a method before trusting its numbers."""

    name: str
    needs_trimap: bool = False
    family: str = FAMILY_FREE
    pretrained: str = ""  # e.g. "SPS MobileNetV2 (†)"; empty when none
    paper: str = ""
    url: str = ""
    code_licence: str = "unknown"
    weights_licence: str = "none (no released weights)"
    input_size: str = "any size"
    notes: str = ""
    trainable: bool = False
    on_leaderboard: bool = True
    # False when two copies of the method must not run at once (one licence seat, a device it
    # opens exclusively, files it writes at fixed paths): `run` then scores with one worker.
    process_safe: bool = True
    # True for a floor every real method must beat, shown as "(reference)" in the tables although its family is
    # not ``reference`` (it sees no ground truth: trimap-midpoint uses the trimap only).
    reference_floor: bool = False
    # The option that carries the method's trained weights (``"checkpoint"``): without it the network is
    # untrained and its numbers are no result, so `run` refuses it unless --allow-untrained. ``""``: the method
    # needs no trained weights (a classical solver, a user's exported model). ``None``: the card does not say
    # (a third-party card written before the field), and the method is treated as trained.
    weights_option: Optional[str] = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def untrained_with(self, options: Mapping[str, Any]) -> bool:
        """Whether ``options`` build the method without trained weights (its weights option absent or empty)."""
        return bool(self.weights_option) and not options.get(str(self.weights_option))


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset is, which protocols score it, and where to get it."""

    name: str
    kind: str = "image"  # "image" or "video"
    protocols: tuple[str, ...] = ("whole",)  # subset of ("whole", "unknown"); video adds temporal metrics
    primary_metric: str = "mse_whole"
    paper: str = ""
    url: str = ""
    licence: str = "unknown"
    layout: str = ""
    needs_root: bool = True
    notes: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["protocols"] = list(self.protocols)
        return d


@runtime_checkable
class SavedPredictionSource(Protocol):
    """A method whose mattes already exist (a folder of saved predictions).

    The scorer asks it by sample id and expected (height, width) instead of calling ``predict``, so it
    never sees the image or the ground truth. Clip frames are asked as ``"<clip id>/<frame>"``;
    ``frame_ids`` lists the names a frame may have (its file stem, then its index).
    ``prediction_for`` raises :class:`mattebench.errors.PredictionError` naming the expected path.
    """

    def prediction_for(self, sample_id: str, shape: tuple[int, int]) -> np.ndarray: ...


@runtime_checkable
class ExternalInput(Protocol):
    """A method built from a file the user brings (saved predictions, an ONNX or TFLite model).

    Its card comes from the user's options (``name`` names the run folder), and ``input_identity()``
    returns the hashes that must match for a run to resume (a model's sha256, a folder's fingerprint).
    ``unmatched(ids)`` names inputs that match no sample id (warned about, never scored).
    """

    card: MethodCard

    def input_identity(self) -> dict[str, Any]: ...

    def unmatched(self, sample_ids: Sequence[str]) -> list[str]: ...


@runtime_checkable
class Dataset(Protocol):
    """The dataset contract. ``load`` raises :class:`mattebench.errors.SampleError` on bad input."""

    card: DatasetCard

    def ids(self) -> list[str]: ...

    def load(self, id: str) -> Item: ...

    def fingerprint(self) -> str: ...


def iter_items(dataset: Dataset) -> Iterator[Item]:
    for i in dataset.ids():
        yield dataset.load(i)

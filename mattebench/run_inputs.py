"""What the runner records about inputs a user brings and about partial datasets.

- :func:`external_identity`: for a method built from the user's file (saved predictions, an ONNX or
  TFLite model; :class:`mattebench.types.ExternalInput`), the hashes that enter the run identity,
  and a warning naming the inputs that match no sample id.
- :func:`locate_user_input`: a ``--predictions`` folder whose mattes sit one level down (``predict --out D``
  writes ``D/alpha/``) is scored from that sub-folder, and the run says so.
- :func:`subset_reason`: why a run covers fewer samples than the dataset has (``--limit``, or a
  partial tree such as 41 of PPM-100's 100 pairs), so that leaderboards mark the row.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

from .types import ExternalInput

SHOW_NAMES = 10
# Registered names of the methods built from a user's file (mattebench_baselines.saved_predictions, mattebench_baselines.exported).
USER_INPUT_METHODS = ("predictions", "onnx", "tflite")


class UnmatchedPredictions(UserWarning):
    """Files in a predictions folder (or other user input) that match no sample id."""


class PredictionsFound(UserWarning):
    """The mattes of a --predictions folder were found in one of its sub-folders (which one is named)."""


def locate_user_input(method: str, options: dict[str, Any], ids: Sequence[str]) -> None:
    """Point ``options["dir"]`` of saved predictions at the folder that holds the mattes (in place).

    Done once, in the driver, before the method is built: workers and the run identity then see the
    same folder, and a run given ``D`` resumes a run given ``D/alpha``.
    """
    if method != "predictions" or not options.get("dir"):
        return
    from mattebench_baselines.saved_predictions import locate_predictions

    given = Path(options["dir"])
    found = locate_predictions(given, ids)
    if found != given:
        options["dir"] = str(found)
        warnings.warn(f"--predictions {given}: no matte at its top level; scoring the files in {found} "
                      f"(pass --predictions {found} to say so yourself)", PredictionsFound, stacklevel=3)


def external_identity(method: Any, ids: Sequence[str]) -> dict[str, Any]:
    """Identity entries of a user-brought input ({} for registered methods); warns about unmatched files."""
    if method is None or not isinstance(method, ExternalInput):
        return {}
    extra = method.unmatched(list(ids))
    if extra:
        shown = ", ".join(extra[:SHOW_NAMES]) + (f" and {len(extra) - SHOW_NAMES} more" if len(extra) > SHOW_NAMES else "")
        warnings.warn(f"{len(extra)} file(s) match no sample id of this dataset and are not scored: {shown}",
                      UnmatchedPredictions, stacklevel=3)
    return dict(method.input_identity())


def subset_reason(dataset: Any, limit: Optional[int], n_ids: int, n_run: int) -> Optional[str]:
    partial = getattr(dataset, "partial", None)
    if partial:
        found, expected = partial
        return f"partial tree: {found} of the dataset's {expected} samples are present"
    if limit is not None and n_run < n_ids:
        return f"--limit {limit}: {n_run} of {n_ids} samples"
    return None

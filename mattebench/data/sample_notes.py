"""Notes a loader leaves on a sample (what it had to do to read it), carried to the row and the provenance.

A loader appends strings to ``Sample.metadata["notes"]`` (or ``Clip.metadata["notes"]``), each starting
with a stable kind and a colon: ``trimap_snapped: <file>: ...``, ``exif_orientation: <file>: ...``,
``matte_alpha_channel: <file>: ...``. The scorer copies them into the row's ``notes`` column as a JSON
list (one line, whatever the text holds), and the runner counts them by kind into the run's provenance,
so a number that needed such a repair says so on the leaderboard.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable, Mapping, Optional

NOTES = "notes"  # the metadata key and the samples.csv column

# A note the scorer (not a loader) leaves on a video row: its MESSDdt used a flow estimated on the ground
# truth, the dataset having none. It travels with the row, so every executor (local, worker processes,
# Ray) brings it back, and the run records it once as ``provenance.flow_source``.
FLOW_ESTIMATED = "messddt_flow_estimated"
FLOW_ESTIMATED_SOURCE = "MESSDdt used a dense flow estimated on the ground truth (OpenCV DIS)"
_RUN_LEVEL = {FLOW_ESTIMATED}  # kinds with their own provenance line, not a per-kind count line

# kind -> how the provenance line reads, given the number of samples
_PROVENANCE_TEXT = {
    "trimap_snapped": "{n} sample(s) had trimap values other than 0/128/255 mapped to the nearest class "
                      "(-d trimap_snap=true)",
    "exif_orientation": "{n} sample(s) have a photo with an EXIF orientation other than 1, applied or ignored as "
                        "each row says",
    "matte_alpha_channel": "{n} sample(s) have an RGBA cut-out matte, read from its alpha channel",
}


def kind_of(note: str) -> str:
    return note.split(":", 1)[0].strip() if ":" in note else "note"


def notes_of(metadata: Mapping[str, Any]) -> list[str]:
    value = metadata.get(NOTES) or []
    return [str(n) for n in value] if isinstance(value, (list, tuple)) else [str(value)]


def encode(notes: Iterable[str]) -> str:
    """The ``notes`` cell: a JSON list, or "" when there is none."""
    items = [str(n) for n in notes]
    return json.dumps(items, ensure_ascii=False) if items else ""


def decode(cell: Any) -> list[str]:
    """The notes of a stored cell (a JSON list; plain text is one note)."""
    if cell in (None, ""):
        return []
    if isinstance(cell, list):
        return [str(n) for n in cell]
    try:
        value = json.loads(str(cell))
    except ValueError:
        return [str(cell)]
    return [str(n) for n in value] if isinstance(value, list) else [str(value)]


def count_kinds(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """kind -> number of rows carrying at least one note of that kind."""
    counts: Counter[str] = Counter()
    for r in rows:
        counts.update({kind_of(n) for n in decode(r.get(NOTES))})
    return dict(sorted(counts.items()))


def provenance_lines(counts: Mapping[str, int]) -> list[str]:
    """One readable line per kind, for ``provenance["notes"]`` (shown under each leaderboard row)."""
    return [
        _PROVENANCE_TEXT.get(k, "{n} sample(s) carry a '" + k + "' note").format(n=n)
        + " (details in the notes column of samples.csv)"
        for k, n in counts.items() if n and k not in _RUN_LEVEL
    ]


def flow_note(clip_id: str) -> str:
    """The row note of a clip whose MESSDdt used an estimated flow."""
    return f"{FLOW_ESTIMATED}: {clip_id}: {FLOW_ESTIMATED_SOURCE}"


def flow_source(rows: Iterable[Mapping[str, Any]]) -> Optional[str]:
    """The run's ``provenance.flow_source``: where MESSDdt's flow came from when some clip had to estimate it
    (None when every clip brought its own flow, or the run has no MESSDdt)."""
    for r in rows:
        if any(kind_of(n) == FLOW_ESTIMATED for n in decode(r.get(NOTES))):
            return FLOW_ESTIMATED_SOURCE
    return None

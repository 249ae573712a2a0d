"""Sample groups a dataset declares: AIM-500 types/categories, P3M-500's sets, a user's groups.csv.

Sources: JizhiziLi/AIM @ 48e3dc8 core/test.py L131-147, 177-180, 215-216, 239-246 and
core/config.py L86-88 (facts: breakdowns.md sections 4 and 5); JizhiziLi/P3M @ 9f9390f
core/config.py L19-45. No data was fetched: the formats below are as the code reads them.

* AIM-500: ``aim_category_type.json`` at the dataset root, one JSON object whose keys are image
  stems and whose values are objects with ``type`` (SO, STM, NS) and ``category`` (animal, fruit,
  furniture, plant, portrait, toy, transparent). AIM groups each image's **whole-image SAD**
  (not the trimap SAD, no other metric) and prints sum/len per group with its count, in the
  fixed orders of :data:`AIM_TYPES` and :data:`AIM_CATEGORIES`; the README's "Avg." columns are
  the unweighted mean of the group means (:func:`macro_mean`). An empty group makes AIM divide by
  zero; here it is reported with n = 0 and no mean.
* P3M-500: the two sets are folders, not a list: P3M-500-P (face-blurred, ``blurred_image/``) and
  P3M-500-NP (not blurred, ``original_image/``); the distributed layout is
  ``P3M-10k/validation/P3M-500-{P,NP}/`` (mattebench.data.p3m), P3M's own config names the same
  folders ``validation1/`` and ``validation2/``. Both are accepted.
* ``groups.csv``: UTF-8 (a BOM is allowed), a header ``id,<column>[,<column>...]`` (``id,group``
  in the simplest case), one row per sample id; an empty cell means "no group in that column".
  Every problem raises :class:`~mattebench.errors.GroupsError` naming the file and the line.

:func:`dataset_groups` collects what a loaded dataset declares (the run records it in ``summary.json``);
the per-group means, intervals and paired comparisons are the report's (:mod:`mattebench.report.groups`).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from mattebench.errors import GroupsError

__all__ = ["AIM_TYPES", "AIM_CATEGORIES", "AIM_LIST", "GROUPS_CSV", "GroupMapping", "read_aim_category_type",
           "p3m500_groups", "read_groups_csv", "dataset_groups", "merge"]

AIM_TYPES = ("SO", "STM", "NS")  # AIM core/config.py L87: salient opaque, salient transparent/meticulous, non-salient
AIM_CATEGORIES = ("animal", "fruit", "furniture", "plant", "portrait", "toy", "transparent")  # config.py L88
P3M_SETS = {"P3M-500-P": "blurred_image", "P3M-500-NP": "original_image"}
_P3M_ALIASES = {"P3M-500-P": "validation1", "P3M-500-NP": "validation2"}
_IMAGE_EXT = {".jpg", ".jpeg", ".png"}
AIM_LIST = "aim_category_type.json"  # at the AIM-500 root (AIM core/config.py:86)
GROUPS_CSV = "groups.csv"  # beside any dataset's tree: id,<column>[,<column>...]


@dataclass(frozen=True)
class GroupMapping:
    """Group columns: ``columns[column][sample id] = group``; ``orders[column]`` the display order;
    ``source`` the file or folder it was read from."""

    columns: Mapping[str, Mapping[str, str]]
    orders: Mapping[str, tuple[str, ...]]
    source: str

    def as_json(self) -> dict[str, Any]:
        """What the run record keeps (``summary.json``: ``groups``)."""
        return {"source": self.source, "orders": {k: list(v) for k, v in self.orders.items()},
                "columns": {k: dict(sorted(v.items())) for k, v in self.columns.items()}}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "GroupMapping":
        cols = d.get("columns") or {}
        if not isinstance(cols, dict) or not all(isinstance(v, dict) for v in cols.values()):
            raise GroupsError("groups.columns is not an object of {id: group} objects")
        return cls({str(k): {str(i): str(g) for i, g in v.items()} for k, v in cols.items()},
                   {str(k): tuple(str(g) for g in v) for k, v in (d.get("orders") or {}).items()}, str(d.get("source", "")))


def _aim_entry(path: str, key: object, entry: object) -> tuple[str, str]:
    if not isinstance(key, str) or not key:
        raise GroupsError(f"{path}: key {key!r} is not an image stem")
    if not isinstance(entry, dict) or "type" not in entry or "category" not in entry:
        raise GroupsError(f"{path}: entry {key!r} must be an object with 'type' and 'category', got {entry!r}")
    t, c = entry["type"], entry["category"]
    if t not in AIM_TYPES:
        raise GroupsError(f"{path}: entry {key!r} has type {t!r}; expected one of {AIM_TYPES}")
    if c not in AIM_CATEGORIES:
        raise GroupsError(f"{path}: entry {key!r} has category {c!r}; expected one of {AIM_CATEGORIES}")
    return t, c


def read_aim_category_type(path: str | os.PathLike[str]) -> GroupMapping:
    """AIM-500's ``aim_category_type.json`` as two group columns, ``type`` and ``category``."""
    p = str(path)
    try:
        with open(p, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise GroupsError(f"{p}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not data:
        raise GroupsError(f"{p}: expected a non-empty JSON object mapping image stems to {{type, category}}")
    types, cats = {}, {}
    for key, entry in data.items():
        # AIM looks the stem up (util.py extract_pure_name_from_path); a key with an extension would never match.
        if Path(key).suffix.lower() in _IMAGE_EXT:
            raise GroupsError(f"{p}: key {key!r} has a file extension; AIM's keys are stems ({Path(key).stem!r})")
        types[key], cats[key] = _aim_entry(p, key, entry)
    return GroupMapping({"type": types, "category": cats}, {"type": AIM_TYPES, "category": AIM_CATEGORIES}, p)


def _p3m_folder(root: Path, set_name: str) -> Optional[Path]:
    sub = P3M_SETS[set_name]
    for base in (f"P3M-10k/validation/{set_name}", f"validation/{set_name}", set_name,
                 f"P3M-10k/{_P3M_ALIASES[set_name]}", _P3M_ALIASES[set_name]):
        if (root / base / sub).is_dir():
            return root / base / sub
    return None


def p3m500_groups(root: str | os.PathLike[str]) -> GroupMapping:
    """Column ``set``: each image stem of P3M-500-P and P3M-500-NP -> its set (both must be there)."""
    r = Path(root)
    sets: dict[str, str] = {}
    for name in P3M_SETS:
        folder = _p3m_folder(r, name)
        if folder is None:
            raise GroupsError(f"{r}: no {name}/{P3M_SETS[name]} folder (looked for P3M-10k/validation/{name}, "
                             f"validation/{name}, {name}, {_P3M_ALIASES[name]})")
        for f in sorted(folder.iterdir()):
            if f.name.startswith(".") or f.suffix.lower() not in _IMAGE_EXT:
                continue  # P3M skips hidden files (util.py listdir_nohidden)
            if f.stem in sets:
                raise GroupsError(f"{f}: stem {f.stem!r} is also in {sets[f.stem]}; the two sets must not share names")
            sets[f.stem] = name
    return GroupMapping({"set": sets}, {"set": tuple(P3M_SETS)}, str(r))


def _csv_header(path: str, header: Optional[list[str]]) -> list[str]:
    if not header:
        raise GroupsError(f"{path}:1: empty file; expected a header 'id,group' (more group columns allowed)")
    names = [h.strip() for h in header]
    if names[0] != "id":
        raise GroupsError(f"{path}:1: the first column must be 'id', got {names[0]!r}")
    if len(names) < 2:
        raise GroupsError(f"{path}:1: no group column after 'id'; expected e.g. 'id,group'")
    for k, n in enumerate(names[1:], start=2):
        if not n:
            raise GroupsError(f"{path}:1: column {k} has an empty name")
        if names.index(n) != k - 1:
            raise GroupsError(f"{path}:1: column name {n!r} appears twice")
    return names


def read_groups_csv(path: str | os.PathLike[str]) -> GroupMapping:
    """A user's ``groups.csv`` (see the module docstring); orders = first appearance in the file."""
    p = str(path)
    with open(p, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        names = _csv_header(p, next(reader, None))
        columns: dict[str, dict[str, str]] = {n: {} for n in names[1:]}
        seen: dict[str, int] = {}
        for row in reader:
            line = reader.line_num
            if not row or all(not c.strip() for c in row):
                continue  # blank lines carry nothing
            if len(row) != len(names):
                raise GroupsError(f"{p}:{line}: {len(row)} fields; the header has {len(names)} ({','.join(names)})")
            sid = row[0].strip()
            if not sid:
                raise GroupsError(f"{p}:{line}: empty id")
            if sid in seen:
                raise GroupsError(f"{p}:{line}: id {sid!r} already listed on line {seen[sid]}")
            seen[sid] = line
            for n, cell in zip(names[1:], row[1:]):
                if cell.strip():
                    columns[n][sid] = cell.strip()
    if not seen:
        raise GroupsError(f"{p}: a header but no rows")
    orders = {n: tuple(dict.fromkeys(col.values())) for n, col in columns.items()}
    return GroupMapping(columns, orders, p)


def merge(mappings: list[GroupMapping]) -> Optional[GroupMapping]:
    """One mapping of every column; two sources naming the same column is refused (which would win is unclear)."""
    if not mappings:
        return None
    columns: dict[str, Mapping[str, str]] = {}
    orders: dict[str, tuple[str, ...]] = {}
    for m in mappings:
        for k, v in m.columns.items():
            if k in columns:
                raise GroupsError(f"{m.source}: group column {k!r} is declared twice (also by another list); rename one")
            columns[k], orders[k] = v, m.orders.get(k, tuple(dict.fromkeys(v.values())))
    return GroupMapping(columns, orders, "; ".join(m.source for m in mappings))


def _tree_folders(ds: Any) -> list[Path]:
    """The dataset's root and the folder that holds its image folder (where a list sits beside the tree)."""
    out: list[Path] = []
    for p in (getattr(ds, "root", None), getattr(getattr(ds, "image_dir", None), "parent", None)):
        if p is not None and Path(p).is_dir() and Path(p).resolve() not in [q.resolve() for q in out]:
            out.append(Path(p))
    return out


def dataset_groups(ds: Any) -> Optional[GroupMapping]:
    """The groups a loaded dataset declares, or None: AIM-500's list at its root, P3M-500's set (the folder the
    images are in), and a ``groups.csv`` beside the tree (any dataset, the folder dataset included)."""
    name = getattr(getattr(ds, "card", None), "name", "")
    found: list[GroupMapping] = []
    folders = _tree_folders(ds)
    if name == "aim500":
        lists = [f / AIM_LIST for f in folders if (f / AIM_LIST).is_file()]
        if lists:
            found.append(read_aim_category_type(lists[0]))
    set_name = getattr(ds, "set_name", "")
    if name.startswith("p3m500") and set_name:
        found.append(GroupMapping({"set": {i: set_name for i in ds.ids()}}, {"set": tuple(P3M_SETS)}, str(ds.image_dir)))
    csvs = [f / GROUPS_CSV for f in folders if (f / GROUPS_CSV).is_file()]
    if csvs:
        found.append(read_groups_csv(csvs[0]))
    return merge(found)

"""Where a method fails (issue 24): breakdown columns in rows and records, the dataset's groups (a fake AIM-500
tree with the official list format, a P3M-500 tree, a folder dataset with groups.csv), per-group tables on the
board and the site, and version-2 records still read unchanged."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from _fake_trees import make_pairs
from mattebench.data.groups import AIM_CATEGORIES, AIM_TYPES, GroupMapping, read_aim_category_type, read_groups_csv
from mattebench.errors import GroupsError
from mattebench.metrics import stats
from mattebench.metrics.boundary import BOUNDARY_COLUMNS
from mattebench.metrics.regions import REGION_COLUMNS
from mattebench.report import groups as G
from mattebench.report.breakdown_section import TITLE
from mattebench.report.leaderboard import write_leaderboards
from mattebench.report.site import write_site
from mattebench.runs.record import RunRecord
from mattebench.runs.runner import evaluate

N = 12  # >= MIN_N_FOR_INTERVAL in the largest group, fewer in others


def _aim_tree(root):
    base = root / "AIM-500"
    stems = [f"o_{i:04x}" for i in range(N)]
    make_pairs(base / "original", base / "mask", stems, trimap_dir=base / "trimap")
    # the official list: {stem: {"type": SO|STM|NS, "category": ...}} at the dataset root (AIM core/config.py:86)
    listing = {s: {"type": AIM_TYPES[0] if i < 10 else AIM_TYPES[i % 3], "category": AIM_CATEGORIES[i % 7]}
               for i, s in enumerate(stems)}
    (base / "aim_category_type.json").write_text(json.dumps(listing))
    return listing


def _rows(run_dir):
    with open(run_dir / "samples.csv", newline="") as f:
        return list(csv.DictReader(f))


def _boards(runs, out):
    write_leaderboards(runs, out / "boards")
    index = write_site(runs, out)
    return {p.stem: p.read_text() for p in (out / "boards").glob("*.md")}, index.read_text()


def test_aim_tree_groups_on_board_and_site(tmp_path):
    listing = _aim_tree(tmp_path / "data")
    runs = tmp_path / "runs"
    for m in ("trimap-midpoint", "closed-form"):
        evaluate(m, "aim500", data_root=str(tmp_path / "data"), out=runs)
    rec = RunRecord.from_json(json.loads((runs / "aim500" / "trimap-midpoint" / "summary.json").read_text()))
    assert rec.schema_version == 3
    assert rec.groups["columns"]["type"] == {s: e["type"] for s, e in listing.items()}
    assert list(rec.groups["orders"]["category"]) == list(AIM_CATEGORIES)
    rows = _rows(runs / "aim500" / "trimap-midpoint")
    assert set(REGION_COLUMNS) | set(BOUNDARY_COLUMNS) | {"sad_whole", "grad_whole", "conn_whole"} <= set(rows[0])
    # the ranked columns are unchanged: the board ranks by the primary metric only from the usual columns
    boards, site = _boards(runs, tmp_path)
    md = boards["aim500"]
    ranked, _, where = md.partition(f"## {TITLE}")
    assert "sad_fg" not in ranked and "SAD fg" not in ranked and "Boundary IoU" not in ranked
    assert "### Groups: type" in where and "### Groups: category" in where
    assert "too small for an interval (n &lt; 10)" in where or "too small for an interval (n < 10)" in where
    assert "Groups: type, paired with" in where
    assert "Where it fails" in site and "Groups: category" in site


def test_group_means_transcribe_aim_loop_and_use_stats_intervals(tmp_path):
    listing = {f"o_{i}": {"type": AIM_TYPES[i % 3], "category": AIM_CATEGORIES[i % 7]} for i in range(45)}
    path = tmp_path / "aim_category_type.json"
    path.write_text(json.dumps(listing))
    m = read_aim_category_type(path)
    rng = np.random.default_rng(0)
    sad = {k: float(rng.random() * 50) for k in listing}
    # AIM core/test.py: each image's whole-image SAD appended to its type's list; printed sum/len
    lists = {t: [] for t in AIM_TYPES}
    for name in sorted(listing):
        lists[listing[name]["type"]].append(sad[name])
    got = G.group_means(sad, m, "type")
    assert [s.group for s in got] == list(AIM_TYPES)
    for s in got:
        assert s.n == len(lists[s.group]) == 15
        assert s.mean == pytest.approx(sum(lists[s.group]) / 15, rel=1e-12)
        ci = stats.mean_ci([sad[k] for k in sorted(listing) if listing[k]["type"] == s.group])
        assert (s.lo, s.hi) == (ci.lo, ci.hi)
    cats = G.group_means(sad, m, "category")
    assert all(s.lo is None and s.note == G.TOO_SMALL for s in cats if s.n < G.MIN_N_FOR_INTERVAL)
    # the AIM README's "Avg.": the unweighted mean of the group means (86.71 from its published row)
    three = [G.GroupSummary(t, 1, v, None, None) for t, v in zip(AIM_TYPES, (31.80, 94.02, 134.31))]
    assert round(G.macro_mean(three), 2) == 86.71


def test_p3m_tree_set_group(tmp_path):
    base = tmp_path / "data" / "P3M-10k" / "validation" / "P3M-500-P"
    make_pairs(base / "blurred_image", base / "mask", [f"p_{i}" for i in range(4)], trimap_dir=base / "trimap")
    runs = tmp_path / "runs"
    evaluate("trimap-midpoint", "p3m500-p", data_root=str(tmp_path / "data"), out=runs)
    rec = json.loads((runs / "p3m500-p" / "trimap-midpoint" / "summary.json").read_text())
    assert set(rec["groups"]["columns"]["set"].values()) == {"P3M-500-P"}
    boards, site = _boards(runs, tmp_path)
    assert "### Groups: set" in boards["p3m500-p"] and "P3M-500-P" in site


def test_folder_dataset_groups_csv_several_columns(tmp_path):
    root = tmp_path / "mine"
    stems = [f"img{i:02d}" for i in range(N)]
    make_pairs(root / "image", root / "alpha", stems)  # no trimaps: the generated recipe
    lines = ["id,hair,lighting"] + [f"{s},{'curly' if i % 2 else 'straight'},{'' if i == 0 else 'day'}"
                                    for i, s in enumerate(stems)]
    (root / "groups.csv").write_text("\n".join(lines) + "\n")
    runs = tmp_path / "runs"
    evaluate("trimap-midpoint", "folder", data_root=str(root), out=runs)
    rec = json.loads((runs / "folder" / "trimap-midpoint" / "summary.json").read_text())
    assert set(rec["groups"]["columns"]) == {"hair", "lighting"} and "img00" not in rec["groups"]["columns"]["lighting"]
    boards, site = _boards(runs, tmp_path)
    assert "### Groups: hair" in boards["folder"] and "### Groups: lighting" in boards["folder"]
    assert "curly" in site and "Regions of the trimap" in site


def test_broken_groups_csv_stops_before_any_sample(tmp_path):
    root = tmp_path / "mine"
    make_pairs(root / "image", root / "alpha", ["a", "b"])
    (root / "groups.csv").write_text("id,group\na,x\na,y\n")
    with pytest.raises(GroupsError, match=r"groups.csv:3: id 'a' already listed on line 2"):
        evaluate("trimap-midpoint", "folder", data_root=str(root), out=tmp_path / "runs")
    assert not (tmp_path / "runs" / "folder" / "trimap-midpoint" / "samples.csv").exists()


def test_groups_csv_errors_name_file_and_line(tmp_path):
    p = tmp_path / "groups.csv"
    p.write_text("name,group\n")
    with pytest.raises(GroupsError, match=r"groups.csv:1: the first column must be 'id'"):
        read_groups_csv(p)
    p.write_text("\ufeffid,group\na,x\n\nb,y,z\n")
    with pytest.raises(GroupsError, match=r"groups.csv:4: 3 fields"):
        read_groups_csv(p)


def test_paired_in_group_is_compare_machinery():
    mapping = GroupMapping({"g": {f"s{i}": ("a" if i < 12 else "b") for i in range(15)}}, {"g": ("a", "b")}, "test")
    rng = np.random.default_rng(1)
    x = {f"s{i}": float(rng.random()) for i in range(15)}
    y = {f"s{i}": float(rng.random()) for i in range(15)}
    pa, pb = G.paired_in_group(x, y, mapping, "g")
    ids = sorted(f"s{i}" for i in range(12))  # the group's samples in id order, as the report pairs them
    d = stats.paired_difference([x[i] for i in ids], [y[i] for i in ids])
    assert (pa.n, pa.diff, pa.lo, pa.hi) == (12, d.mean_diff, d.lo, d.hi)
    assert pb.n == 3 and pb.lo is None and pb.note == G.TOO_SMALL
    assert pb.diff == pytest.approx(sum(x[f"s{i}"] - y[f"s{i}"] for i in range(12, 15)) / 3, rel=1e-12)


def test_version_2_record_reads_and_writes_back_unchanged(tmp_path):
    make_pairs(tmp_path / "d" / "image", tmp_path / "d" / "alpha", ["a", "b"])
    _, rec = evaluate("trimap-midpoint", "folder", data_root=str(tmp_path / "d"))
    v2 = {k: v for k, v in rec.to_json().items() if k not in ("groups", "breakdowns")}
    v2["schema_version"] = 2
    back = RunRecord.from_json(json.loads(json.dumps(v2)))
    assert back.schema_version == 2 and back.groups is None and back.breakdowns is None
    assert back.to_json() == v2
    assert rec.breakdowns is not None and "sad_transition" in rec.breakdowns["columns"] and rec.means["sad_transition"] is not None
    assert not math.isnan(rec.means["biou"])

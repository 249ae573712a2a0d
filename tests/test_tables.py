"""`mattebench tables`: the paper's values, measured values from stored runs, differences, marks, plan."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from _shared_data import SHARED
from conftest import TinyDataset

from mattebench.commands import tables as tables_command
from mattebench.report import paper as P
from mattebench.report.paper import EXTRA_ROWS, ROW_SPECS, TRAIN_CONFIGS
from mattebench.report.tables import NOT_RUN, fmt_diff, fmt_value, render_document
from mattebench.runs.runner import evaluate
from mattebench.tracks.paper_plan import build_plan

# The paper's tables, typed again from shared/facts/paper-tables.md (independent of paper_values.py).
EXPECTED = {
    1: [("DIM", True, "0.0016", "0.0067"), ("IndexMatter", True, "0.0015", "0.0064"), ("MODNet", True, "0.0013", "0.0054"),
        ("DIM", False, "0.0221", "0.0327"), ("DIM †", False, "0.0115", "0.0178"), ("FDMPA †", False, "0.0101", "0.0160"),
        ("LFM †", False, "0.0094", "0.0158"), ("SHM †", False, "0.0072", "0.0152"), ("HAtt †", False, "0.0067", "0.0137"),
        ("BSHM †", False, "0.0063", "0.0114"), ("MODNet †", False, "0.0044", "0.0086")],
    2: [("DIM", True, "0.0014", "0.0069"), ("IndexMatter", True, "0.0013", "0.0066"), ("MODNet", True, "0.0011", "0.0063"),
        ("DIM", False, "0.0075", "0.0159"), ("DIM †", False, "0.0048", "0.0116"), ("FDMPA †", False, "0.0047", "0.0115"),
        ("LFM †", False, "0.0043", "0.0101"), ("SHM †", False, "0.0031", "0.0092"), ("HAtt †", False, "0.0034", "0.0094"),
        ("BSHM †", False, "0.0029", "0.0088"), ("MODNet †", False, "0.0023", "0.0077")],
    4: [("CRGNN", True, "0.0010", "0.0035"), ("MODNet", False, "0.0082", "0.0157"), ("MODNet + SOC", False, "0.0033", "0.0084")],
    5: [("DIM", True, "0.0025", "0.0081"), ("HAtt", False, "0.0054", "0.0126"), ("MODNet", False, "0.0037", "0.0098")],
}
# Table 3: (L_s, L_d, e-ASPP, SPS, MSE, MAD)
EXPECTED_T3 = [
    (False, False, False, False, "0.0162", "0.0235"),
    (True, False, False, False, "0.0097", "0.0158"),
    (True, True, False, False, "0.0083", "0.0142"),
    (True, True, True, False, "0.0057", "0.0109"),
    (True, True, True, True, "0.0044", "0.0086"),
]
# The project's facts folder sits beside the checkout (../shared) or where MATTEBENCH_SHARED points.
FACTS = SHARED / "facts" / "paper-tables.md"


def test_paper_values_are_the_facts_transcription():
    for num, rows in EXPECTED.items():
        t = P.TABLES[num - 1]
        assert t.number == num
        assert [(r.label, r.trimap, r.mse_text, r.mad_text) for r in t.rows] == rows
    t3 = P.TABLE3
    assert [(r.ablation["L_s"], r.ablation["L_d"], r.ablation["e-ASPP"], r.ablation["SPS"], r.mse_text, r.mad_text) for r in t3.rows] == EXPECTED_T3
    # the last ablation row is MODNet † of Table 1 (the reading the facts file gives of the garbled table)
    assert (t3.rows[-1].mse_text, t3.rows[-1].mad_text) == ("0.0044", "0.0086") == (P.TABLE1.rows[-1].mse_text, P.TABLE1.rows[-1].mad_text)
    assert P.FIGURE6_REFERENCES[0].ms == 14.9 and P.FIGURE6_REFERENCES[0].fps == 67
    assert P.FIGURE6_REFERENCES[1].fps == 31


@pytest.mark.skipif(not FACTS.exists(), reason=f"the facts file {FACTS} is absent (set MATTEBENCH_SHARED to the shared folder)")
def test_every_number_of_the_facts_file_is_in_paper_values():
    """Every MSE/MAD pair printed in the facts file's tables is a row of paper_values, in order."""
    text = FACTS.read_text()
    sections = re.split(r"^## ", text, flags=re.M)
    for t in P.TABLES:
        sec = next(s for s in sections if s.startswith(f"Table {t.number}:"))
        pairs = re.findall(r"\|\s*(0\.\d{4})\s*\|\s*(0\.\d{4})\s*\|", sec)
        assert pairs == [(r.mse_text, r.mad_text) for r in t.rows], t.number


def test_every_paper_row_has_a_spec_and_every_spec_a_training_config():
    for t in P.TABLES:
        for r in t.rows:
            spec = ROW_SPECS[r.key]
            if spec.available and spec.train:
                assert spec.train in TRAIN_CONFIGS
    # the ablation: losses, e-ASPP and SPS switched as the rows say
    cfgs = [TRAIN_CONFIGS[ROW_SPECS[r.key].train] for r in P.TABLE3.rows]
    for r, cfg in zip(P.TABLE3.rows, cfgs):
        opts = {**cfg.arch_options, **cfg.train_options}
        assert (opts.get("lambda_s", 1) != 0) == r.ablation["L_s"]
        assert (opts.get("lambda_d", 1) != 0) == r.ablation["L_d"]
        assert (cfg.method == "modnet-easpp") == r.ablation["e-ASPP"]
        assert ("backbone_checkpoint" in opts) == r.ablation["SPS"]


def test_formatting_by_hand():
    assert fmt_value(0.0050) == "0.0050"
    assert fmt_value(0.01234) == "0.0123"
    assert fmt_value(1.234e-5) == "1.23e-05"
    assert fmt_value(0.0) == "0.0000"
    assert fmt_value(None) == "—" and fmt_value(float("nan")) == "—"
    assert fmt_diff(0.0050, 0.0044) == "+0.0006"
    assert fmt_diff(0.0040, 0.0044) == "-0.0004"
    assert fmt_diff(0.0044, 0.0044) == "+0.0000"
    assert fmt_diff(None, 0.0044) == ""


# -- fixture runs ------------------------------------------------------------------------------------
def _fabricate(src: Path, runs: Path, dataset: str, method: str, tag, mse=None, mad=None, checkpoint_sha=None, subset=None) -> dict:
    """Copy a real run folder under another (dataset, method, tag), editing its summary."""
    name = f"{method}@{tag}" if tag else method
    dst = runs / dataset / name
    shutil.copytree(src, dst)
    s = json.loads((dst / "summary.json").read_text())
    s.update(dataset=dataset, method=method, tag=tag, run_dir=str(dst))
    if mse is not None:
        s["means"]["mse_whole"] = mse
    if mad is not None:
        s["means"]["mad_whole"] = mad
    if checkpoint_sha is not None:
        s["provenance"]["checkpoint_sha256"] = checkpoint_sha
        s["provenance"]["checkpoint"] = "/ck/final.ckpt"
    if subset is not None:
        s["subset"] = subset
    (dst / "summary.json").write_text(json.dumps(s))
    _rows_with_means(dst / "samples.csv", {"mse_whole": mse, "mad_whole": mad})
    return s


def _rows_with_means(path: Path, means: dict) -> None:
    """Give every row the fabricated mean, so that the rows support the edited record (a record its rows
    contradict is no result: mattebench.report.compare.standing)."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    for row in rows:
        row.update({k: repr(float(v)) for k, v in means.items() if v is not None})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _midpoint_by_hand(ds: TinyDataset) -> tuple[float, float]:
    mses, mads = [], []
    for i in ds.ids():
        s = ds.load(i)
        p = np.where(s.trimap == 0, 0.0, np.where(s.trimap == 255, 1.0, 0.5))
        d = p - s.alpha.astype(np.float64)
        mses.append(np.mean(d * d))
        mads.append(np.mean(np.abs(d)))
    return float(np.mean(mses)), float(np.mean(mads))


@pytest.fixture(scope="module")
def fixture_runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("base")
    ds = TinyDataset(n=3)
    _, summary = evaluate("trimap-midpoint", ds, out=base)
    src = Path(summary.run_dir)
    runs = tmp_path_factory.mktemp("runs")
    _fabricate(src, runs, "ppm100", "modnet-easpp", "sps", mse=0.0050, mad=0.0100, checkpoint_sha="ab" * 32)
    _fabricate(src, runs, "ppm100", "dim-free", "scratch", mse=0.0200, mad=0.0300)  # no checkpoint: flagged
    _fabricate(src, runs, "d646", "modnet-easpp", "sps", mse=0.0031, mad=0.0101, checkpoint_sha="cd" * 32, subset=True)
    _fabricate(src, runs, "ppm100", "closed-form", None, mse=0.0123, mad=0.0234)
    _fabricate(src, runs, "synthetic", "trimap-midpoint", None)  # real values, on synthetic
    return runs, _midpoint_by_hand(ds)


def _table_block(md: str, number: int) -> str:
    start = md.index(f"## Table {number}:")
    end = md.find("\n## ", start + 5)
    return md[start:end if end > 0 else None]


def _paper_part(block: str) -> str:
    """The table's own rows (before the extras / other runs / synthetic sections)."""
    return block.split("\n\n")[2]


def _row(part: str, label: str, nth: int = 0) -> list[str]:
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in part.splitlines() if line.startswith(f"| {label} ")]
    return rows[nth]


def test_rendering_paper_values_measured_and_differences(fixture_runs):
    runs, _ = fixture_runs
    md, missing = render_document(runs)
    t1 = _paper_part(_table_block(md, 1))
    # every paper value as printed
    for label, trimap, mse, mad in EXPECTED[1]:
        nth = 1 if (label == "DIM" and not trimap) else 0
        row = _row(t1, label, nth)
        assert row[2:4] == [mse, mad], row
    modnet = _row(t1, "MODNet †")
    assert modnet[4:8] == ["0.0050", "0.0100", "+0.0006", "+0.0014"]  # 0.0050 - 0.0044, 0.0100 - 0.0086
    assert "modnet-easpp@sps" in modnet[8] and "[^" in modnet[8]
    # a stored run without a checkpoint for a row that needs trained weights is flagged
    dim_free = _row(t1, "DIM", 1)
    assert dim_free[4].startswith("0.0200") and "untrained" in dim_free[4]
    assert dim_free[6:8] == ["-0.0021", "-0.0027"]
    # missing rows are marked and reported as missing cells
    assert _row(t1, "DIM †")[4] == NOT_RUN
    assert _row(t1, "FDMPA †")[4] == NOT_RUN
    keys = {(c.table, c.row.key) for c in missing}
    assert (1, "dim-free-sps") in keys and (1, "modnet-sps") not in keys and (3, "modnet-sps") not in keys
    # Table 3's last row is the same run as Table 1's MODNet †
    t3 = _paper_part(_table_block(md, 3))
    last = [line for line in t3.splitlines() if "e-ASPP + SPS" in line][0]
    assert "0.0050" in last and "+0.0006" in last
    # Table 5: a subset run is marked
    t5 = _paper_part(_table_block(md, 5))
    assert "subset*" in _row(t5, "MODNet")[4] and _row(t5, "MODNet")[6] == "-0.0006"
    # Table 4: CRGNN has no implementation
    assert "not in mattebench" in _row(_paper_part(_table_block(md, 4)), "CRGNN")[4]


def test_extras_synthetic_section_and_provenance(fixture_runs):
    runs, (mse, mad) = fixture_runs
    md, _ = render_document(runs)
    t1 = _table_block(md, 1)
    assert "Not in the paper, measured here" in t1 and "`closed-form`" in t1 and "0.0123" in t1
    # the synthetic run is not in the paper's columns, but in the labelled section, with its true values
    paper_part, synth = t1.split("### Measured on `synthetic`, not comparable")
    assert "trimap-midpoint" not in paper_part
    line = [ln for ln in synth.splitlines() if "`trimap-midpoint`" in ln][0]
    assert f"{mse:.4f}" in line and f"{mad:.4f}" in line
    # footnotes: one per run, with the run folder and the provenance of the stored summary
    notes = md[md.index("## Provenance"):]
    assert notes.count("[^") == 5
    s = json.loads((runs / "ppm100" / "modnet-easpp@sps" / "summary.json").read_text())
    assert s["provenance"]["dataset_fingerprint"][:12] in notes
    assert "checkpoint sha256 abababababab" in notes
    assert str(runs / "ppm100" / "modnet-easpp@sps") in notes


def test_plan_lists_exactly_the_missing_cells(fixture_runs, tmp_path):
    runs, _ = fixture_runs
    plan = build_plan(runs)
    paper_part, synth_part = plan.split("# == the embedded synthetic sets")
    lines = paper_part.splitlines()
    runs_lines = [ln.removeprefix("# ").removeprefix("step ") for ln in lines if "step mattebench run " in ln]
    # every paper row with an implementation is runnable now: nothing is commented out as NOT YET RUNNABLE
    assert "NOT YET RUNNABLE" not in paper_part
    # MODNet (trimap), Tables 1-2: its own registered method, trained once, evaluated with the dataset's trimaps
    assert paper_part.count('mattebench train --method modnet-trimap') == 1
    assert any(ln.startswith("step mattebench run --method modnet-trimap --dataset ppm100") and "--tag trimap" in ln for ln in lines)
    assert any(ln.startswith("step mattebench run --method dim --dataset ppm100") for ln in lines)
    # filled: modnet-easpp@sps on ppm100 and d646, dim-free@scratch on ppm100
    assert not any("--dataset ppm100" in ln and "--tag sps" in ln and "modnet-easpp" in ln for ln in runs_lines)
    assert not any("--dataset d646" in ln and "modnet-easpp" in ln and "--tag sps --quiet" in ln for ln in runs_lines)
    assert not any("--method dim-free" in ln and "--dataset ppm100" in ln and "--tag scratch" in ln for ln in runs_lines)
    # missing: e.g. DIM † on ppm100 with its architecture option and checkpoint, MODNet † on amd
    assert any("--method dim-free --dataset ppm100" in ln and "-m backbone=mobilenetv2" in ln and "--tag sps" in ln
               and '"$CKPT/dim-free-sps/final.ckpt"' in ln for ln in runs_lines)
    assert any("--method modnet-easpp --dataset amd" in ln and "--tag sps" in ln for ln in runs_lines)
    # 11 + 11 + 5 + 3 + 3 rows, minus CRGNN (no implementation), minus shared runs, minus the 3 filled
    n_unique = len({(ln.split("--dataset ")[1].split()[0], ln.split("--method ")[1].split()[0], ln.split("--tag ")[1].split()[0]) for ln in runs_lines})
    assert n_unique == len(runs_lines) == 31 - 3
    # training comes first, once per configuration, with the ablation switches
    assert paper_part.index("mattebench train") < paper_part.index("mattebench run")
    assert plan.count("--out \"$CKPT/modnet-ablation-la\"") == 1
    assert "-m lambda_s=0 -m lambda_d=0" in plan
    assert "step mattebench bench --method modnet-easpp --size 512" in plan  # Figure 6: no bench results yet
    assert 'mattebench adapt --method modnet-easpp --checkpoint "$CKPT/modnet-easpp-sps/final.ckpt"' in plan
    # the synthetic part: images for Tables 1, 2, 3, 5 and video for Table 4
    assert "--dataset synthetic " in synth_part and "--dataset synthetic-video " in synth_part
    # the script is valid bash
    f = tmp_path / "plan.sh"
    f.write_text(plan)
    bash = shutil.which("bash")
    if bash:
        assert subprocess.run([bash, "-n", str(f)], capture_output=True).returncode == 0


def test_extras_are_optional_in_the_plan(fixture_runs):
    runs, _ = fixture_runs
    plan = build_plan(runs)
    extra = plan[plan.index("# == optional"):]
    assert "--method closed-form --dataset ppm100" not in extra  # already run
    assert "--method closed-form --dataset amd" in extra
    assert '"$MODNET_OFFICIAL"' in extra
    assert {e.key for e in EXTRA_ROWS} >= {"modnet-official", "closed-form", "trimap-midpoint"}


def main(argv: list[str]) -> int:
    """The `tables` subcommand through its own parser (the full CLI also needs every other command)."""
    parser = argparse.ArgumentParser(prog="mattebench")
    tables_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_tables_and_plan(fixture_runs, tmp_path, capsys):
    runs, _ = fixture_runs
    out = tmp_path / "lb" / "paper-tables.md"
    assert main(["tables", "--runs", str(runs), "--out", str(out)]) == 0
    text = out.read_text()
    for n in range(1, 6):
        assert f"## Table {n}:" in text
    assert "## Figure 6" in text and "No bench results" in text
    assert "cells have no run yet" in capsys.readouterr().out
    assert main(["tables", "--runs", str(runs), "--plan"]) == 0
    assert capsys.readouterr().out.startswith("#!/usr/bin/env bash")


def test_empty_runs_folder_gives_all_paper_values_and_marks(tmp_path):
    md, missing = render_document(tmp_path / "none")
    for num, rows in EXPECTED.items():
        block = _paper_part(_table_block(md, num))
        for label, trimap, mse, mad in rows:
            assert f"| {mse} " in block and f"| {mad} " in block
    assert md.count(f"| {NOT_RUN} ") == len(missing) == sum(len(t.rows) for t in P.TABLES) - 1  # CRGNN: not available


def test_a_command_with_an_option_the_method_lacks_is_commented_out_with_the_reason():
    from mattebench.tracks.paper_plan import _step, unsupported

    gaps = unsupported("modnet-easpp", {"no_such_option": 1})
    assert gaps and "no_such_option" in gaps[0]
    lines = _step("", "mattebench run --method modnet-easpp -m no_such_option=1", gaps)
    assert lines[0].startswith("# NOT YET RUNNABLE (") and lines[1] == "# step mattebench run --method modnet-easpp -m no_such_option=1"
    assert unsupported("modnet-trimap", {"variant": "v1"}) == []


def _run(method: str, tag):
    """A record of ``method@tag`` on synthetic with nothing else known (what _stands_for reads)."""
    from mattebench.runs.record import RunRecord

    return RunRecord.from_json({"dataset": "synthetic", "method": method, "tag": tag})


def test_an_embedded_set_run_names_the_row_of_its_method_without_claiming_it():
    from mattebench.report.tables import _stands_for

    t1, t4 = P.TABLES[0], P.TABLES[3]
    # the trimap MODNet is the method of exactly one Table 1 row: named, marked as trained otherwise
    assert _stands_for(_run("modnet-trimap", None), t1) == "same method as MODNet (trimap); other training"
    # the exact (method, tag) of a row is that row
    assert _stands_for(_run("modnet-trimap", "trimap"), t1) == "MODNet"
    # v1 MODNet is not the paper's model (e-ASPP): no row, even with a SOC tag
    assert _stands_for(_run("modnet", "soc"), t4) == "(no paper row)"

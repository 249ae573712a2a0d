"""`mattebench data check` / `data show` on good and broken fake trees (exit codes, named files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _fake_trees import make_comp1k, make_pairs

from mattebench.commands.cli import main
from mattebench.data.comp1k import Composition1k
from mattebench.data.ppm100 import PPM100


@pytest.fixture(autouse=True)
def _small(monkeypatch):
    monkeypatch.setattr(PPM100, "expected_count", 3)
    monkeypatch.setattr(Composition1k, "expected_fg", 2)


def _ppm(root: Path) -> Path:
    base = root / "PPM-100"
    make_pairs(base / "image", base / "matte", ["a", "b", "c"], image_ext=".jpg", alpha_ext=".jpg")
    return base


def test_good_tree_exit_0_with_counts_and_fingerprint(tmp_path: Path, capsys):
    _ppm(tmp_path)
    assert main(["data", "check", "ppm100", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "samples 3" in out and "fingerprint:" in out and "OK" in out
    assert main(["data", "check", "ppm100", "--data-root", str(tmp_path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] and data["counts"]["samples"] == 3 and len(data["fingerprint"]) == 64


def test_truncated_file_found_by_deep_check(tmp_path: Path, capsys):
    base = _ppm(tmp_path)
    matte = base / "matte" / "b.jpg"
    data = matte.read_bytes()
    matte.write_bytes(data[: len(data) // 2])
    empty = base / "image" / "c.jpg"
    empty.write_bytes(b"")
    assert main(["data", "check", "ppm100", "--data-root", str(tmp_path), "--deep"]) == 1
    out = capsys.readouterr().out
    assert str(matte) in out and str(empty) in out and "0 bytes" in out and "NOT READY" in out


def test_missing_tree_and_usage_errors(tmp_path: Path, capsys):
    assert main(["data", "check", "comp1k", "--data-root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "Combined_Dataset" in out and "sites.google.com/view/deepimagematting" in out
    assert main(["data", "check", "no-such-set", "--data-root", str(tmp_path)]) == 2
    assert "unknown dataset" in capsys.readouterr().err
    assert main(["data", "check", "comp1k", "--data-root", str(tmp_path), "-d", "nonsense"]) == 2


def test_backgrounds_missing_named(tmp_path: Path, capsys):
    info = make_comp1k(tmp_path, fg_names=["a.png", "b.png"])
    for name in info["bg_names"][:3]:
        (info["bg_dir"] / name).unlink()
    assert main(["data", "check", "comp1k", "--data-root", str(tmp_path), "-d", f"bg_dir={info['bg_dir']}"]) == 1
    out = capsys.readouterr().out
    for name in info["bg_names"][:3]:
        assert str(info["bg_dir"] / name) in out
    assert "3 problem(s)" in out


def test_data_show_writes_a_grid(tmp_path: Path, capsys):
    _ppm(tmp_path)
    out = tmp_path / "grid.png"
    assert main(["data", "show", "ppm100", "--data-root", str(tmp_path), "--out", str(out), "-n", "2"]) == 0
    assert out.is_file() and out.stat().st_size > 0

"""First-run friction (issue 20 §4): `predict --out D` feeds `run --predictions D` as it is, and a
--predictions folder with the mattes one level down is found or named."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from mattebench.cli import main
from mattebench.data.synthetic import SyntheticDataset
from mattebench.io import write_alpha, write_image
from mattebench.run_inputs import PredictionsFound

N = 3


def _synthetic_images(folder: Path) -> list[str]:
    ds = SyntheticDataset()
    ids = ds.ids()[:N]
    for sid in ids:
        write_image(folder / f"{sid}.png", ds.load(sid).image)
    return ids


def _summary(runs: Path, name: str) -> dict:
    return json.loads((runs / "synthetic" / name / "summary.json").read_text())


def test_predict_out_is_what_run_predictions_takes(tmp_path, capsys):
    """The round trip a new user tries: predict on images, then score the --out folder itself."""
    ids = _synthetic_images(tmp_path / "images")
    out = tmp_path / "pred"
    assert main(["predict", "--method", "modnet", "--checkpoint", "mattebench:modnet-synthetic", "--input",
                 str(tmp_path / "images"), "--out", str(out), "--quiet"]) == 0
    assert sorted(p.stem for p in (out / "alpha").iterdir()) == ids and (out / "composite").is_dir()
    assert f"--predictions {out}" in capsys.readouterr().out  # predict says how to score its folder
    runs = tmp_path / "runs"
    with pytest.warns(PredictionsFound, match=r"scoring the files in .*alpha"):
        code = main(["run", "--predictions", str(out), "--name", "mine", "--dataset", "synthetic", "--limit", str(N),
                     "--out", str(runs), "--quiet", "--jobs", "1"])
    assert code == 0
    s = _summary(runs, "mine")
    assert s["counts"]["ok"] == N and s["counts"]["error"] == 0
    # the folder named by hand gives the same run (same identity: it resumes, nothing rescored)
    assert main(["run", "--predictions", str(out / "alpha"), "--name", "mine", "--dataset", "synthetic", "--limit", str(N),
                 "--out", str(runs), "--quiet", "--jobs", "1"]) == 0
    assert _summary(runs, "mine")["means"] == s["means"]


def _mattes(folder: Path, ids: list[str]) -> None:
    for k, sid in enumerate(ids):
        write_alpha(folder / f"{sid}.png", np.full((320, 256), 0.1 * (k + 1), np.float32))


def _colour(folder: Path, ids: list[str]) -> None:
    rng = np.random.default_rng(0)
    for sid in ids:
        write_image(folder / f"{sid}.png", rng.integers(0, 255, (320, 256, 3), dtype=np.uint8))


@pytest.mark.parametrize("matte_dir,other_dir", [("pha", "fgr"), ("anything", None), ("matte", "composite")])
def test_mattes_one_level_down_are_found(tmp_path, matte_dir, other_dir):
    """Any sub-folder name: the one holding files named like the samples that read as mattes is scored."""
    ids = SyntheticDataset().ids()[:N]
    root = tmp_path / "given"
    _mattes(root / matte_dir, ids)
    if other_dir:
        _colour(root / other_dir, ids)  # foregrounds / composites named like the samples, in colour
    (root / "notes").mkdir()
    (root / "notes" / "readme.png").write_bytes(b"not named like a sample")
    with pytest.warns(PredictionsFound, match=matte_dir):
        code = main(["run", "--predictions", str(root), "--name", "x", "--dataset", "synthetic", "--limit", str(N),
                     "--out", str(tmp_path / "runs"), "--quiet", "--jobs", "1"])
    assert code == 0 and _summary(tmp_path / "runs", "x")["counts"]["ok"] == N


def test_two_folders_of_mattes_are_named_not_guessed(tmp_path, capsys):
    ids = SyntheticDataset().ids()[:N]
    root = tmp_path / "given"
    _mattes(root / "model-a", ids)
    _mattes(root / "model-b", ids)
    code = main(["run", "--predictions", str(root), "--name", "x", "--dataset", "synthetic", "--limit", str(N),
                 "--out", str(tmp_path / "runs"), "--quiet", "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert str(root / "model-a") in err and str(root / "model-b") in err and "pass the one with the mattes" in err
    assert not (tmp_path / "runs" / "synthetic" / "x").exists()  # refused before a run folder is made
    # a folder that holds the mattes itself is scored as it is: its sub-folders are not looked at
    _mattes(root, ids)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PredictionsFound)
        assert main(["run", "--predictions", str(root), "--name", "x", "--dataset", "synthetic", "--limit", str(N),
                     "--out", str(tmp_path / "runs"), "--quiet", "--jobs", "1"]) == 0


# -- `make demo` never modifies a tracked file ---------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
SHELL_OPERATORS = {"||", "&&", ";", "|", "done", "then", "fi"}


def _dry_run(target: str) -> list[str]:
    """The shell lines ``make -n TARGET`` would run (continuation lines joined)."""
    import shutil
    import subprocess

    if shutil.which("make") is None or not (REPO / ".git").exists():
        pytest.skip("needs make and a git checkout")
    out = subprocess.run(["make", "-n", "-C", str(REPO), target], capture_output=True, text=True, check=True).stdout
    return out.replace("\\\n", " ").splitlines()


def _outputs(lines: list[str]) -> set[str]:
    """Every path the recipe writes: each mattebench command's --out/--figures (or its default when not given),
    the targets of touch and of shell redirections."""
    import shlex

    from mattebench.cli import build_parser

    parser = build_parser()
    found: set[str] = set()
    for line in lines:
        words = shlex.split(line.replace(";", " ; "), posix=True)
        for k, w in enumerate(words):
            if w.endswith("/mattebench") or w == "mattebench":
                argv = []
                for t in words[k + 1:]:
                    if t in SHELL_OPERATORS:
                        break
                    argv.append("x" if "$" in t else t)  # a loop variable ($m): any method name parses
                args = parser.parse_args(argv)
                for attr in ("out", "figures"):
                    if getattr(args, attr, None):
                        found.add(str(getattr(args, attr)))
            elif w == "touch":
                found.update(t for t in words[k + 1:] if t not in SHELL_OPERATORS)
            elif w in (">", ">>") and k + 1 < len(words):
                found.add(words[k + 1])
    return found


def test_make_demo_writes_no_tracked_file():
    """Every output of the demo's recipe (any mattebench command, touch, redirection) is untracked by git."""
    import subprocess

    outputs = _outputs(_dry_run("demo"))
    assert any("board" in o for o in outputs), outputs  # the parse sees the leaderboard's output
    for path in sorted(outputs):
        tracked = subprocess.run(["git", "-C", str(REPO), "ls-files", "--", path], capture_output=True, text=True,
                                 check=True).stdout.split()
        assert not tracked, f"make demo writes {path}, which holds tracked files: {tracked[:5]}"
        # as a file or as a folder (a pattern like /runs/ matches only a folder)
        ignored = [subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", "--no-index", p]).returncode == 0
                   for p in (path, path.rstrip("/") + "/")]
        assert any(ignored), f"make demo writes {path}, which .gitignore does not list"

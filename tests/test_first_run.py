"""First-run friction (issue 20 §4): `predict --out D` feeds `run --predictions D` as it is, and a
--predictions folder with the mattes one level down is found or named."""

from __future__ import annotations

import ast
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from mattebench.commands.cli import main
from mattebench.data.io import write_alpha, write_image
from mattebench.data.synthetic import SyntheticDataset
from mattebench.runs.runner import PredictionsFound

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

    from mattebench.commands.cli import build_parser

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


# -- the wheel holds every guide a message points to ---------------------------------------------------
GUIDE_IN_TEXT = re.compile(r"(?<![\w/])((?:docs|datasets)/[\w.\-/]*\.md)")


def _message_strings() -> list[tuple[str, str]]:
    """(file:line, text) of every string in the package's code that is not a docstring."""
    out = []
    for folder in ("mattebench", "baselines"):
        for p in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(p.read_text(encoding="utf-8"))
            docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                          if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                          and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
            for n in ast.walk(tree):
                if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings:
                    out.append((f"{p.relative_to(REPO)}:{n.lineno}", n.value))
    return out


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The wheel built from this tree, unpacked as site-packages would hold it."""
    import shutil
    import subprocess
    import sys
    import zipfile

    where = tmp_path_factory.mktemp("wheel")
    # from a copy of the tree's files (tracked and new, not ignored): a stale build/ folder must not fill the gaps
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True)
    if listed.returncode != 0:
        pytest.skip("needs a git checkout")
    tree = where / "tree"
    for rel in filter(None, listed.stdout.decode().split("\0")):
        if (REPO / rel).is_file():
            (tree / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, tree / rel)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                            str(where / "dist"), str(tree)], capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr[-300:]}")
    [whl] = (where / "dist").glob("*.whl")
    site = where / "site"
    zipfile.ZipFile(whl).extractall(site)
    return site


def test_every_guide_a_message_names_is_in_the_wheel(wheel_site):
    from mattebench.errors import INSTALLED_AS

    named = {m.group(1): where for where, text in _message_strings() for m in GUIDE_IN_TEXT.finditer(text)}
    # the guides messages name by a pattern (datasets/<name>/README.md): every one the project has
    named.update({p.relative_to(REPO).as_posix(): "datasets/<name>/README.md" for p in (REPO / "datasets").rglob("README.md")
                  if "data" not in p.relative_to(REPO / "datasets").parts})
    named.update({p.relative_to(REPO).as_posix(): "docs" for p in (REPO / "docs").glob("*.md")})
    assert "datasets/ppm100/README.md" in named and "docs/robustness.md" in named
    missing = []
    for rel, where in sorted(named.items()):
        top, _, rest = rel.partition("/")
        if not (wheel_site / "mattebench" / INSTALLED_AS[top] / rest).is_file():
            missing.append(f"{rel} (named at {where})")
    assert not missing, "not in the wheel: " + ", ".join(missing)


def _installed_cli(site: Path, cwd: Path, *argv: str) -> "subprocess.CompletedProcess[str]":
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(site)}  # the unpacked wheel comes before the source tree
    env.pop("MATTEBENCH_DATA", None)
    return subprocess.run([sys.executable, "-m", "mattebench", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_installed_messages_point_to_installed_files(wheel_site, tmp_path):
    """Run from the wheel, in a folder with no checkout: every file a message names exists, inside the install."""
    msg = _installed_cli(wheel_site, tmp_path, "run", "--method", "trimap-midpoint", "--dataset", "ppm100",
                         "--data-root", str(tmp_path / "nope"), "--out", str(tmp_path / "runs"))
    assert msg.returncode == 2 and "Traceback" not in msg.stderr, msg.stderr
    kind = _installed_cli(wheel_site, tmp_path, "run", "--method", "trimap-midpoint", "--dataset", "synthetic",
                          "-d", "corrupt=no-such-kind:1", "--limit", "1", "--out", str(tmp_path / "runs"))
    assert kind.returncode == 2 and "no-such-kind" in kind.stderr, kind.stderr
    for err in (msg.stderr, kind.stderr):
        pointers = re.findall(r"(/\S+\.md)\b", err)
        assert pointers, err  # the message names its guide ...
        for p in pointers:  # ... by a path that exists here, in the installed package
            assert Path(p).is_file() and Path(p).resolve().is_relative_to(wheel_site.resolve()), (p, err)


# -- third-party chatter: one line of ours per condition, the full text in <run>/run.log ----------------
CHATTY = '''
import warnings

import numpy as np
from mattebench.types import MethodCard


class Chatty:
    def predict(self, image, trimap=None):
        import scipy.sparse as sp
        import torch
        from pymatting.preconditioner.ichol import ichol

        ichol(sp.csc_matrix(np.array([[1.0, 2.0], [2.0, 1.0]])))  # not positive definite: pymatting prints and retries
        torch.tensor(torch.zeros(2))  # torch warns: copy-construct from a tensor
        print("chatty: predicting", image.shape)
        warnings.warn("chatty: deprecated knob", UserWarning)
        return np.full(image.shape[:2], 0.5, np.float32)


def create(**options):
    return Chatty()


create.card = MethodCard(name="chatty", needs_trimap=False, paper="Nobody 2026. Loud mattes.")
'''


def _chatty_site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "chattymatte").mkdir(parents=True)
    (site / "chattymatte" / "__init__.py").write_text(CHATTY)
    info = site / "chattymatte-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: chattymatte\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mattebench.methods]\nchatty = chattymatte:create\n")
    return site


def _cli(site: Path, cwd: Path, *argv: str, omp: bool = True) -> "subprocess.CompletedProcess[str]":
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(site)}
    env.pop("OMP_NUM_THREADS", None)
    if omp:
        env["OMP_NUM_THREADS"] = "1"
    return subprocess.run([sys.executable, "-m", "mattebench", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


THIRD_PARTY_TEXT = ("PERFORMANCE WARNING", "Thresholded incomplete Cholesky", "copy construct", "chatty: predicting",
                    "UserWarning", ".py:")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_third_party_chatter_is_one_line_each_and_logged_in_full(tmp_path, jobs):
    site = _chatty_site(tmp_path)
    runs = tmp_path / "runs"
    res = _cli(site, tmp_path, "run", "--method", "chatty", "--dataset", "synthetic", "--limit", "2", "--jobs", jobs,
               "--out", str(runs), "--quiet")
    assert res.returncode == 0, res.stderr
    log = runs / "synthetic" / "chatty" / "run.log"
    said = [line for line in res.stderr.splitlines() if line.strip()]
    # one line of ours per condition: pymatting's retries, torch's warning, the plug-in's print and its warning
    assert len(said) == 4, said
    for condition in ("incomplete-Cholesky", "copy construct", "chatty: predicting", "deprecated knob"):
        assert sum(condition in line for line in said) == 1, (condition, said)
    for text in THIRD_PARTY_TEXT:  # nothing of theirs as they print it, no file and line numbers
        assert text not in res.stdout, text
    for text in ("PERFORMANCE WARNING", "Thresholded incomplete Cholesky", ".py:"):
        assert text not in res.stderr, text
    assert all(str(log) in line for line in said)
    full = log.read_text()
    assert full.count("PERFORMANCE WARNING") == 12  # 6 retries x 2 samples, every one in full
    assert "copy construct" in full and "chattymatte/__init__.py:" in full and "chatty: predicting" in full
    assert "(12 times;" in next(line for line in said if "incomplete-Cholesky" in line)
    # the log is appended to, never rewritten: a second command adds its own header
    again = _cli(site, tmp_path, "run", "--method", "chatty", "--dataset", "synthetic", "--limit", "2", "--jobs", jobs,
                 "--out", str(runs), "--quiet")
    assert again.returncode == 0 and log.read_text().startswith(full) and log.read_text().count("\n== ") >= 2


def test_thread_advice_only_from_a_run_that_starts_workers(tmp_path):
    site = _chatty_site(tmp_path)
    failed = _cli(site, tmp_path, "run", "--method", "chatty", "--dataset", "ppm100", "--data-root", str(tmp_path / "nope"),
                  "--jobs", "2", "--out", str(tmp_path / "runs"), omp=False)
    assert failed.returncode == 2 and "OMP_NUM_THREADS" not in failed.stderr and failed.stderr.startswith("error:")
    ran = _cli(site, tmp_path, "run", "--method", "chatty", "--dataset", "synthetic", "--limit", "2", "--jobs", "2",
               "--out", str(tmp_path / "runs"), "--quiet", omp=False)
    assert ran.returncode == 0 and ran.stderr.count("OMP_NUM_THREADS=1") == 1
    assert "OMP_NUM_THREADS=1" in (tmp_path / "runs" / "synthetic" / "chatty" / "run.log").read_text()


def test_no_thread_advice_where_no_method_code_runs(tmp_path):
    """Saved predictions run no method code (no BLAS, no OpenMP, OpenCV on one thread per worker): a pool of them
    says nothing of OMP_NUM_THREADS, and its rows equal a serial run's."""
    import csv

    ids = SyntheticDataset().ids()[:N]
    _mattes(tmp_path / "pred", ids)
    for jobs in ("2", "1"):
        res = _cli(tmp_path, tmp_path, "run", "--predictions", str(tmp_path / "pred"), "--name", "mine", "--dataset",
                   "synthetic", "--limit", str(N), "--jobs", jobs, "--out", str(tmp_path / f"runs{jobs}"), "--quiet",
                   omp=False)
        assert res.returncode == 0, res.stderr
        assert "OMP_NUM_THREADS" not in res.stderr
    def values(jobs: str) -> dict:
        with open(tmp_path / f"runs{jobs}" / "synthetic" / "mine" / "samples.csv", newline="") as f:
            return {r["id"]: {k: v for k, v in r.items() if not k.endswith("_ms")} for r in csv.DictReader(f)}

    assert values("1") == values("2") and len(values("1")) == N

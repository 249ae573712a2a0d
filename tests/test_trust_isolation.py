"""A method cannot touch what scores it (issue "Isolation and integrity" §1), tested as an attacker would:
hostile plug-ins installed through entry points, run from the command line serially, with --jobs 2, on
video, and through evaluate().

Each hostile method is paired with an honest twin that returns the same prediction without cheating: the
hostile run must score exactly what its prediction deserves (the twin's numbers), never the planted ones.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from _trust_kit import cli, install_plugin

HOSTILE = '''
import gc, os, sys
import numpy as np
from mattebench.types import MethodCard

FREE = MethodCard(name="x", needs_trimap=False, family="trimap-free")
TRI = MethodCard(name="x", needs_trimap=True, family="trimap-based")


def _unknown_to_one(trimap):
    t = np.array(trimap, copy=True)
    t[t == 128] = 255
    return (t / 255.0).astype(np.float32)


class TrimapWriter:
    """Writes into the trimap (and the image) it is given: unknown pixels become foreground."""
    def predict(self, image, trimap=None):
        if trimap is not None:
            trimap[trimap == 128] = 255
        image[...] = 0
        return (trimap / 255.0).astype(np.float32)

    def predict_sequence(self, frames, trimaps=None):
        out = []
        for f, t in zip(frames, trimaps or [None] * len(frames)):
            out.append(self.predict(f, t) if t is not None else np.full(f.shape[:2], 0.5, np.float32))
        return out


class Honest:
    """The same prediction as TrimapWriter, computed on a copy."""
    def predict(self, image, trimap=None):
        return _unknown_to_one(trimap)

    def predict_sequence(self, frames, trimaps=None):
        out = []
        for f, t in zip(frames, trimaps or [None] * len(frames)):
            out.append(_unknown_to_one(t) if t is not None else np.full(f.shape[:2], 0.5, np.float32))
        return out


def _mark(what):
    folder = os.environ.get("ISO_MARKS")
    if folder:
        open(os.path.join(folder, what), "w").close()


class GroundTruthFinder:
    """Looks for the sample's ground truth in its own process: the caller's frames and every live object."""
    def predict(self, image, trimap=None):
        shape = image.shape[:2]
        f = sys._getframe()
        while f is not None:
            for v in list(f.f_locals.values()):
                a = getattr(v, "alpha", None)
                if isinstance(a, np.ndarray) and a.shape == shape:
                    _mark("frames")
                    return a.astype(np.float32)
            f = f.f_back
        for o in gc.get_objects():
            try:
                a = getattr(o, "alpha", None)
            except Exception:
                continue
            if isinstance(a, np.ndarray) and a.shape == shape:
                _mark("gc")
                return a.astype(np.float32)
        return np.full(shape, 0.5, np.float32)


class Half:
    def predict(self, image, trimap=None):
        return np.full(image.shape[:2], 0.5, np.float32)


class Patcher(Half):
    """Rewrites what scores it: every metric becomes 0."""
    def predict(self, image, trimap=None):
        import mattebench.metrics.fast as M
        import mattebench.scoring.scorer as S
        zero = lambda *a, **k: 0.0
        for name in ("mse_whole", "mad_whole", "sad", "mse", "grad", "conn"):
            if hasattr(M, name):
                setattr(M, name, zero)
        S._whole_scores = lambda *a, **k: {"mse_whole": 0.0, "mad_whole": 0.0}
        S._unknown_scores = lambda *a, **k: {"sad": 0.0, "mse": 0.0, "grad": 0.0, "conn": 0.0}
        return super().predict(image, trimap)


class ChdirPredict(Half):
    def predict(self, image, trimap=None):
        os.chdir("/")
        return super().predict(image, trimap)


def writer(): return TrimapWriter()
writer.card = TRI
def honest(): return Honest()
honest.card = TRI
def finder(): return GroundTruthFinder()
finder.card = FREE
def half(): return Half()
half.card = FREE
def patcher(): return Patcher()
patcher.card = FREE
def chdir_predict(): return ChdirPredict()
chdir_predict.card = FREE
def exits():
    sys.exit(0)
exits.card = FREE
def hard_exit():
    os._exit(0)
hard_exit.card = FREE
def chdir_factory():
    os.chdir("/")
    return Half()
chdir_factory.card = FREE
'''

METHODS = {"iso-writer": "writer", "iso-honest": "honest", "iso-finder": "finder", "iso-half": "half",
           "iso-patcher": "patcher", "iso-chdir": "chdir_predict", "iso-exit-factory": "exits",
           "iso-os-exit-factory": "hard_exit", "iso-chdir-factory": "chdir_factory"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return install_plugin(tmp_path_factory.mktemp("iso") / "site", "isoplug", "1.0", HOSTILE, METHODS)


def _run(site: Path, out: Path, method: str, *extra: str, cwd: Path | None = None, **env: str):
    return cli(["run", "--quiet", "--method", method, "--out", str(out), *extra], site, cwd=cwd, **env)


def _rows(out: Path, dataset: str, method: str) -> dict[str, dict[str, str]]:
    with open(out / dataset / method / "samples.csv", newline="", encoding="utf-8") as f:
        return {r["id"]: r for r in csv.DictReader(f)}


SYNTH = ["--dataset", "synthetic", "-d", "n=3", "-d", "size=64"]
VIDEO = ["--dataset", "synthetic-video", "-d", "n_clips=2", "-d", "frames=3", "-d", "size=64x64"]


@pytest.mark.parametrize("extra", [[], ["--jobs", "2"]], ids=["serial", "jobs2"])
def test_a_method_writing_into_its_trimap_scores_what_it_predicted(site, tmp_path, extra):
    hostile = _run(site, tmp_path, "iso-writer", *SYNTH, *extra)
    honest = _run(site, tmp_path, "iso-honest", *SYNTH, *extra)
    assert hostile.returncode == 0 and honest.returncode == 0, hostile.stderr + honest.stderr
    got, want = _rows(tmp_path, "synthetic", "iso-writer"), _rows(tmp_path, "synthetic", "iso-honest")
    for sid, row in want.items():
        for metric in ("sad", "mse", "grad", "conn", "mse_whole"):
            assert float(got[sid][metric]) == float(row[metric]), (sid, metric)
    assert any(float(r["sad"]) > 0 for r in got.values())  # the unknown band was scored, not emptied


def test_on_video_too(site, tmp_path):
    hostile = _run(site, tmp_path, "iso-writer", *VIDEO)
    honest = _run(site, tmp_path, "iso-honest", *VIDEO)
    assert hostile.returncode == 0 and honest.returncode == 0, hostile.stderr + honest.stderr
    got, want = _rows(tmp_path, "synthetic-video", "iso-writer"), _rows(tmp_path, "synthetic-video", "iso-honest")
    for sid, row in want.items():
        for metric in ("mse_whole", "messddt", "dtssd"):
            assert got[sid][metric] == row[metric], (sid, metric)
    assert any(float(r["messddt"]) > 0 for r in got.values())


@pytest.mark.parametrize("extra", [[], ["--jobs", "2"]], ids=["serial", "jobs2"])
def test_the_ground_truth_is_not_in_the_process_that_predicts(site, tmp_path, extra):
    marks = tmp_path / "marks"
    marks.mkdir()
    out = _run(site, tmp_path, "iso-finder", *SYNTH, *extra, ISO_MARKS=str(marks))
    assert out.returncode == 0, out.stderr
    assert list(marks.iterdir()) == []  # neither the caller's frames nor gc held a sample with its alpha
    s = json.loads((tmp_path / "synthetic" / "iso-finder" / "summary.json").read_text())
    assert s["means"]["mse_whole"] > 1e-3  # scored as the 0.5 guess it is
    assert s["provenance"]["method_isolation"].startswith("method host")


def test_a_method_cannot_rewrite_the_scorer(site, tmp_path):
    hostile = _run(site, tmp_path, "iso-patcher", *SYNTH)
    honest = _run(site, tmp_path, "iso-half", *SYNTH)
    assert hostile.returncode == 0 and honest.returncode == 0
    got, want = _rows(tmp_path, "synthetic", "iso-patcher"), _rows(tmp_path, "synthetic", "iso-half")
    assert {k: r["mse_whole"] for k, r in got.items()} == {k: r["mse_whole"] for k, r in want.items()}
    assert all(float(r["mse_whole"]) > 0 and float(r["sad"]) > 0 for r in got.values())


@pytest.mark.parametrize("method,needle", [("iso-exit-factory", "sys.exit(0)"), ("iso-os-exit-factory", "exit code 0"),
                                           ("iso-chdir-factory", "working directory")])
@pytest.mark.parametrize("extra", [[], ["--jobs", "2"]], ids=["serial", "jobs2"])
def test_a_factory_that_exits_or_moves_is_exit_4_and_nothing_is_scored(site, tmp_path, method, needle, extra):
    out = _run(site, tmp_path, method, *SYNTH, *extra)
    assert out.returncode == 4, (out.returncode, out.stderr)
    assert needle in out.stderr and "Traceback" not in out.stderr
    summary = tmp_path / "synthetic" / method / "summary.json"
    if summary.exists():
        assert json.loads(summary.read_text())["counts"]["ok"] == 0


@pytest.mark.parametrize("command", [["bench", "--method", "iso-exit-factory", "--size", "32", "--iters", "1"],
                                     ["predict", "--method", "iso-exit-factory"]])
def test_bench_and_predict_refuse_a_factory_that_exits(site, tmp_path, command):
    import numpy as np
    from PIL import Image

    img = tmp_path / "in.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(img)
    args = [*command, *(["--input", str(img), "--out", str(tmp_path / "o")] if command[0] == "predict" else [])]
    out = cli(args, site)
    assert out.returncode == 4, (out.returncode, out.stderr)
    assert "sys.exit(0)" in out.stderr and "Traceback" not in out.stderr


def test_a_method_that_changes_directory_fails_its_samples_and_moves_no_later_path(site, tmp_path):
    # The data root is relative to the working directory: a method that moved the driver would lose it.
    work = tmp_path / "work"
    work.mkdir()
    from _trust_kit import folder_dataset

    folder_dataset(work / "data", ["a", "b", "c"])
    out = _run(site, Path("runs"), "iso-chdir", "--dataset", "folder", "--data-root", "data", cwd=work)
    assert out.returncode == 3, out.stderr
    rows = _rows(work / "runs", "folder", "iso-chdir")
    assert set(rows) == {"a", "b", "c"}
    assert all("working directory" in r["error"] for r in rows.values())  # not "file not found" for b and c


def test_evaluate_raises_a_typed_error_never_systemexit(site, monkeypatch):
    import subprocess
    import sys

    code = ("import mattebench\n"
            "from mattebench.errors import MethodExited\n"
            "try:\n"
            "    mattebench.evaluate('iso-exit-factory', 'synthetic', dataset_options={'n': 2, 'size': 64})\n"
            "except MethodExited as e:\n"
            "    print('typed', e.exit_code)\n")
    from _trust_kit import env_with

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env_with(site), timeout=240)
    assert out.stdout.strip() == "typed 4", out.stderr


def test_an_in_process_method_gets_copies_of_its_inputs():
    """A method object passed to evaluate() predicts in the caller's process: still on its own copies."""
    import numpy as np
    from conftest import TinyDataset

    from mattebench import evaluate
    from mattebench.types import MethodCard

    class Writer:
        card = MethodCard(name="writer-obj", needs_trimap=True, family="trimap-based")

        def predict(self, image, trimap=None):
            trimap[trimap == 128] = 255
            image[...] = 0
            return (trimap / 255.0).astype(np.float32)

    class Twin:
        card = MethodCard(name="twin-obj", needs_trimap=True, family="trimap-based")

        def predict(self, image, trimap=None):
            t = trimap.copy()
            t[t == 128] = 255
            return (t / 255.0).astype(np.float32)

    a, _ = evaluate(Writer(), TinyDataset(n=3))
    b, _ = evaluate(Twin(), TinyDataset(n=3))
    assert [r["sad"] for r in a] == [r["sad"] for r in b]
    assert any(r["sad"] > 0 for r in a)


@pytest.mark.ray
def test_on_ray_too(site, tmp_path):
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        pytest.skip("the ray extra is not installed (pip install 'mattebench[ray]')")
    ray = ["--executor", "ray", "--workers", "1"]
    hostile = _run(site, tmp_path, "iso-writer", *SYNTH, *ray)
    honest = _run(site, tmp_path, "iso-honest", *SYNTH)
    assert hostile.returncode == 0 and honest.returncode == 0, hostile.stderr + honest.stderr
    got, want = _rows(tmp_path, "synthetic", "iso-writer"), _rows(tmp_path, "synthetic", "iso-honest")
    assert {k: r["sad"] for k, r in got.items()} == {k: r["sad"] for k, r in want.items()}
    exits = _run(site, tmp_path, "iso-exit-factory", *SYNTH, *ray)
    assert exits.returncode == 4, exits.stderr
    assert "sys.exit(0)" in exits.stderr and "Traceback" not in exits.stderr

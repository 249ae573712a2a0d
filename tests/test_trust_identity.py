"""A run's identity includes the method's code, every file an option names, the options and the data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _trust_kit import PLUGIN_SOURCE, cli, folder_dataset, trust_site
from conftest import TinyDataset

import mattebench
from mattebench.errors import RunConflict
from mattebench.methods.registry import method_entry, unregister_method
from mattebench.runs.identity import code_files, method_code
from mattebench.runs.runner import evaluate
from mattebench.runs.store import StoreWarning
from mattebench.types import MethodCard


def _run(data, out, site, *extra):
    return cli(["run", "--quiet", "--method", "flaky-matte", "--dataset", "folder", "--data-root", str(data), "--out", str(out), "--limit", "1", *extra], site)


def test_changed_plugin_code_is_refused_with_what_changed(tmp_path):
    data = folder_dataset(tmp_path / "data", ["a", "b", "c"])
    site = trust_site(tmp_path)
    out = tmp_path / "r"
    first = _run(data, out, site)
    assert first.returncode == 0, first.stderr
    stored = json.loads((out / "folder" / "flaky-matte" / "run.json").read_text())
    code = stored["method_code"]
    assert code["distribution"] == "trustplug" and code["version"] == "1.0" and "trustplug/__init__.py" in code["files"]
    summary = json.loads((out / "folder" / "flaky-matte" / "summary.json").read_text())
    assert summary["provenance"]["method_code"]["sha256"] == code["sha256"]
    # the plug-in's source changes, the version does not: refused, and the message says which file
    trust_site(tmp_path, source=PLUGIN_SOURCE + "\nCHANGED = 1\n")
    again = _run(data, out, site)
    assert again.returncode == 2
    assert "method source file trustplug/__init__.py changed" in again.stderr
    assert "--fresh" in again.stderr and "--tag" in again.stderr and "Traceback" not in again.stderr
    # a helper module added to the package is part of the code too
    trust_site(tmp_path)
    (site / "trustplug" / "helpers.py").write_text("X = 1\n")
    assert "trustplug/helpers.py added" in _run(data, out, site).stderr
    (site / "trustplug" / "helpers.py").unlink()
    assert _run(data, out, site).returncode == 0  # the same code again: resumes
    # a new version with the same code: refused too (the distribution's version is identity)
    trust_site(tmp_path, version="2.0")
    bumped = _run(data, out, site)
    assert bumped.returncode == 2 and "version" in bumped.stderr and "'1.0' -> '2.0'" in bumped.stderr
    assert _run(data, out, site, "--tag", "v2").returncode == 0
    assert _run(data, out, site, "--fresh").returncode == 0


class FileOption:
    card = MethodCard(name="file-option", needs_trimap=False)

    def __init__(self, model=None, backbone_checkpoint=None):
        self.model = model

    def predict(self, image, trimap=None):
        return np.full(image.shape[:2], 0.5, np.float32)


@pytest.fixture
def file_method():
    mattebench.register_method("trust-file-option", lambda model=None, backbone_checkpoint=None: FileOption(model, backbone_checkpoint))
    yield "trust-file-option"
    unregister_method("trust-file-option")


@pytest.mark.parametrize("key", ["model", "backbone_checkpoint"])
def test_every_option_naming_a_file_is_hashed(tmp_path, file_method, key):
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"one")
    evaluate(file_method, TinyDataset(n=2), out=tmp_path / "r", method_options={key: str(weights)}, limit=1)
    stored = json.loads((tmp_path / "r" / "tiny" / file_method / "run.json").read_text())
    assert set(stored["option_files"]) == {key}
    weights.write_bytes(b"two")  # overwritten in place: same path, other weights
    with pytest.raises(RunConflict, match=f"file named by option {key}") as exc:
        evaluate(file_method, TinyDataset(n=2), out=tmp_path / "r", method_options={key: str(weights)})
    assert "--fresh" in str(exc.value) and "--tag" in str(exc.value)


def test_changed_options_and_dataset_are_named(tmp_path, file_method):
    evaluate(file_method, TinyDataset(n=2), out=tmp_path, method_options={"model": "a"})
    with pytest.raises(RunConflict, match=r"method option model: 'a' -> 'b'"):
        evaluate(file_method, TinyDataset(n=2), out=tmp_path, method_options={"model": "b"})
    with pytest.raises(RunConflict, match="dataset_fingerprint"):
        evaluate(file_method, TinyDataset(n=3), out=tmp_path, method_options={"model": "a"})


def test_own_methods_hash_their_modules():
    _, files = code_files(method_entry("knn").factory)
    names = sorted(f.name for f in files)
    assert "classical.py" in names and "reference.py" not in names
    _, modnet = code_files(method_entry("modnet").factory)
    assert {"method.py", "model.py"} <= {f.name for f in modnet}
    assert method_code(method_entry("knn").factory)["distribution"] == "mattebench"


def test_old_run_json_without_code_identity_is_refused(tmp_path):
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    f = tmp_path / "tiny" / "trimap-midpoint" / "run.json"
    old = json.loads(f.read_text())
    for k in ("identity_version", "method_code", "option_files"):
        old.pop(k)
    f.write_text(json.dumps(old))
    with pytest.raises(RunConflict, match="older mattebench"):
        evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path, fresh=True)
    assert s.counts.ok == 2


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe garbage", b""])
def test_corrupt_run_json_is_reported_never_a_traceback(tmp_path, content):
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    run = tmp_path / "tiny" / "trimap-midpoint"
    (run / "run.json").write_bytes(content)
    with pytest.raises(RunConflict, match="run.json is unreadable"):
        evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    # with no rows depending on it, it is rewritten with a warning
    (run / "samples.csv").unlink()
    (run / "run.json").write_bytes(content)
    with pytest.warns(StoreWarning, match="run.json"):
        _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    assert s.counts.ok == 2


def test_corrupt_summary_json_is_reported_and_rewritten(tmp_path):
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path, limit=1)
    f = tmp_path / "tiny" / "trimap-midpoint" / "summary.json"
    f.write_bytes(b"\x00\x01 not json")
    with pytest.warns(StoreWarning, match="summary.json"):
        evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    assert json.loads(f.read_text())["counts"]["ok"] == 2


def test_rows_without_a_run_json_are_not_trusted(tmp_path):
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path, limit=1)
    (tmp_path / "tiny" / "trimap-midpoint" / "run.json").unlink()
    with pytest.raises(RunConflict, match="no run.json"):
        evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path, fresh=True)
    assert s.counts.ok == 2

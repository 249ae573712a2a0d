"""--tag, method names and dataset names can never place a file outside --out."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TinyDataset

import mattebench
from mattebench.commands.cli import main
from mattebench.errors import UsageError
from mattebench.methods.registry import unregister_method
from mattebench.runs.runner import evaluate
from mattebench.runs.store import run_dir
from mattebench.types import DatasetCard, MethodCard


class Half:
    def predict(self, image, trimap=None):
        return np.full(image.shape[:2], 0.5, np.float32)


def _files(root):
    return sorted(p for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("tag", ["../../x", "..", ".", "a/b", "/abs", "a\\b", "nul\0x"])
def test_tag_cannot_leave_out(tmp_path, tag):
    out = tmp_path / "deep" / "out"
    with pytest.raises(UsageError, match="--tag"):
        evaluate("trimap-midpoint", TinyDataset(n=1), out=out, tag=tag)
    with pytest.raises(UsageError, match="--tag"):
        run_dir(out, "tiny", "trimap-midpoint", tag)
    assert _files(tmp_path) == []


def test_empty_tag_means_no_tag(tmp_path):
    _, s = evaluate("trimap-midpoint", TinyDataset(n=1), out=tmp_path, tag="")
    assert s.run_dir == str(tmp_path / "tiny" / "trimap-midpoint") and s.tag is None


@pytest.mark.parametrize("name", ["a/b", "../escape", "..", "x/../../y"])
def test_method_registered_with_a_path_name_cannot_leave_out(tmp_path, name):
    mattebench.register_method(name, lambda: Half(), card=MethodCard(name))
    try:
        out = tmp_path / "out"
        with pytest.raises(UsageError, match="method name"):
            evaluate(name, TinyDataset(n=1), out=out)
        assert _files(tmp_path) == []
        _, s = evaluate(name, TinyDataset(n=1))  # without --out nothing is written: it still runs
        assert s.counts.ok == 1
    finally:
        unregister_method(name)


def test_dataset_named_with_a_path_cannot_leave_out(tmp_path):
    class Sneaky(TinyDataset):
        card = DatasetCard(name="../../sneaky", protocols=("whole",), needs_root=False)

    with pytest.raises(UsageError, match="dataset name"):
        evaluate("trimap-midpoint", Sneaky(n=1), out=tmp_path / "out")
    assert _files(tmp_path) == []


def test_cli_tag_traversal_is_exit_2(tmp_path, capsys):
    assert main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "synthetic", "--limit", "1",
                 "--out", str(tmp_path / "out"), "--tag", "../../x"]) == 2
    assert "--tag" in capsys.readouterr().err
    assert _files(tmp_path) == []

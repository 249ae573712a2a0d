"""An empty dataset is an error; index problems `data check` finds are warned about by `run`."""

from __future__ import annotations

import pytest
from _trust_kit import folder_dataset
from conftest import TinyDataset

from mattebench import errors as exitcodes
from mattebench.commands import cli
from mattebench.data.check import problem_counts
from mattebench.errors import UsageError
from mattebench.methods.registry import check_dataset, load_dataset
from mattebench.runs.runner import evaluate


def test_empty_dataset_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "data" / "image").mkdir(parents=True)
    (tmp_path / "data" / "alpha").mkdir()
    with pytest.raises(UsageError, match="no samples"):
        evaluate("trimap-midpoint", "folder", data_root=str(tmp_path / "data"), out=tmp_path / "r")
    rc = cli.main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(tmp_path / "data"),
                   "--out", str(tmp_path / "r")])
    assert rc == exitcodes.USAGE and "no samples" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("summary.json"))


@pytest.mark.parametrize("limit", [0, -1, 1.5, True])
def test_limit_below_one_is_a_usage_error(limit):
    with pytest.raises(UsageError, match="--limit"):
        evaluate("trimap-midpoint", TinyDataset(n=2), limit=limit)


def _messy_tree(tmp_path):
    root = folder_dataset(tmp_path / "data", ["a", "b", "c"])
    (root / "image" / "nomatte.png").write_bytes((root / "image" / "a.png").read_bytes())  # an image without a matte
    (root / "image" / "b.tif").write_bytes((root / "image" / "b.png").read_bytes())  # duplicate stem b
    (root / "alpha" / "orphan1.png").write_bytes((root / "alpha" / "a.png").read_bytes())
    (root / "alpha" / "orphan2.png").write_bytes((root / "alpha" / "a.png").read_bytes())
    return root


def test_problem_kinds_match_the_loader_texts(tmp_path):
    root = _messy_tree(tmp_path)
    ds = load_dataset("folder", root=str(root))
    counts = problem_counts(ds.problems)
    assert counts.get("duplicate stems") == 1
    assert counts.get("orphan mattes (no image)") == 2
    assert counts.get("images without a matte") == 1
    assert "other" not in counts
    assert not check_dataset("folder", root=str(root)).ok  # the same problems `data check` lists


def test_run_warns_with_counts_and_records_them(tmp_path, capsys):
    root = _messy_tree(tmp_path)
    with pytest.warns(UserWarning) as w:
        rc = cli.main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(root), "--out", str(tmp_path / "r")])
    err = "\n".join(str(x.message) for x in w)
    assert "1 duplicate stems" in err and "2 orphan mattes" in err and "data check folder" in err
    assert rc == exitcodes.INCOMPLETE  # the image without a matte is an error row
    with pytest.warns(UserWarning, match="duplicate stems"):
        _, s = evaluate("trimap-midpoint", "folder", data_root=str(root), out=tmp_path / "r2")
    assert s.provenance.dataset_problems["orphan mattes (no image)"] == 2

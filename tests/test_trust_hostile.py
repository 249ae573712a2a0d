"""Hostile cases beyond the issue's list: odd ids from plug-in datasets, damaged run folders."""

from __future__ import annotations

import os

import pytest
from conftest import TinyDataset

from mattebench import errors as exitcodes
from mattebench.commands import cli
from mattebench.errors import MattebenchError, UsageError
from mattebench.runs.runner import evaluate
from mattebench.runs.store import read_rows


class Ids(TinyDataset):
    def __init__(self, ids):
        super().__init__(n=len(ids))
        self._given = list(ids)

    def ids(self):
        return list(self._given)

    def load(self, id):
        s = super().load(f"s{self._given.index(id):02d}")
        s.id = id
        return s


@pytest.mark.parametrize("ids,needle", [([1, 2], "must return strings"), (["a", "a"], "more than once"),
                                        (["a", ""], "empty"), (["a", "b\0c"], "NUL")])
def test_ids_that_cannot_round_trip_are_refused_before_any_sample(tmp_path, ids, needle):
    with pytest.raises(UsageError, match=needle):
        evaluate("trimap-midpoint", Ids(ids), out=tmp_path)
    assert not list(tmp_path.rglob("samples.csv"))


def test_samples_csv_saved_by_a_spreadsheet_with_a_bom(tmp_path):
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    f = tmp_path / "tiny" / "trimap-midpoint" / "samples.csv"
    f.write_bytes(b"\xef\xbb\xbf" + f.read_bytes())
    assert [r["id"] for r in read_rows(f)] == ["s00", "s01"]
    _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    assert s.counts.ok == 2


def test_samples_csv_without_an_id_column_is_recomputed_not_a_traceback(tmp_path):
    evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    f = tmp_path / "tiny" / "trimap-midpoint" / "samples.csv"
    f.write_text("name,status\nx,ok\n")
    with pytest.warns(UserWarning, match="no id column"):
        _, s = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    assert s.counts.ok == 2 and len(read_rows(f)) == 2


@pytest.mark.parametrize("what", ["samples.csv", "run.json", ".lock"])
def test_a_folder_where_a_run_file_goes_is_an_error_line(tmp_path, what, capsys):
    evaluate("trimap-midpoint", TinyDataset(n=1), out=tmp_path)
    target = tmp_path / "tiny" / "trimap-midpoint" / what
    if target.exists():
        target.unlink()
    target.mkdir()
    with pytest.raises(MattebenchError):
        evaluate("trimap-midpoint", TinyDataset(n=1), out=tmp_path)


def test_tag_too_long_for_the_file_system_is_exit_2(tmp_path, capsys):
    rc = cli.main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "synthetic", "--limit", "1",
                   "--out", str(tmp_path), "--tag", "t" * 300])
    assert rc == exitcodes.USAGE and "too long" in capsys.readouterr().err


def test_out_is_dev_null(capsys):
    rc = cli.main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "synthetic", "--limit", "1", "--out", os.devnull])
    assert rc == exitcodes.USAGE and "not a folder" in capsys.readouterr().err

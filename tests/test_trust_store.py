"""The store under a full disk, a read-only folder, and a samples.csv that cannot be trusted."""

from __future__ import annotations

import errno
import os
import subprocess
import uuid

import numpy as np
import pytest
from _privileges import file_modes_enforced
from conftest import TinyDataset

from mattebench import errors as exitcodes
from mattebench.commands import cli
from mattebench.errors import StoreError
from mattebench.runs.runner import evaluate
from mattebench.runs.store import StoreWarning, read_rows
from mattebench.types import MethodCard


class Counting:
    card = MethodCard(name="counting", needs_trimap=False)

    def __init__(self):
        self.calls = 0

    def predict(self, image, trimap=None):
        self.calls += 1
        return np.full(image.shape[:2], 0.5, np.float32)


def _rows(out, method="counting"):
    return read_rows(out / "tiny" / method / "samples.csv")


# -- a write that raises ENOSPC: runs everywhere ---------------------------------------------------
def _failing_fsync(monkeypatch, after: int, err: int = errno.ENOSPC):
    real = os.fsync
    calls = {"n": 0}

    def fsync(fd):
        calls["n"] += 1
        if calls["n"] > after:
            raise OSError(err, os.strerror(err))
        return real(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_enospc_mid_run_is_one_clear_error_and_resume_recovers(tmp_path, monkeypatch):
    _failing_fsync(monkeypatch, after=4)  # run.json, header, two rows; the third row's write fails
    with pytest.raises(StoreError, match="no space left on the device while appending a row to .*samples.csv") as exc:
        evaluate(Counting(), TinyDataset(n=6), out=tmp_path, method_name="counting")
    assert "df -h" in str(exc.value) and "rerun" in str(exc.value) and exc.value.exit_code == exitcodes.IO_ERROR
    kept = _rows(tmp_path)
    assert len(kept) >= 2 and all(r["status"] == "ok" for r in kept)
    monkeypatch.undo()
    m = Counting()
    _, s = evaluate(m, TinyDataset(n=6), out=tmp_path, method_name="counting")
    assert s.counts.ok == 6 and m.calls == 6 - len(kept)
    assert sorted(r["id"] for r in _rows(tmp_path)) == [f"s{i:02d}" for i in range(6)]
    assert not (tmp_path / "tiny" / "counting" / ".lock").exists()


def test_cli_disk_full_is_exit_74_one_line(tmp_path, monkeypatch, capsys):
    _failing_fsync(monkeypatch, after=4)
    rc = cli.main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "synthetic", "--limit", "4", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == exitcodes.IO_ERROR, err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "samples.csv" in errors[0] and "Traceback" not in err


def test_permission_error_names_the_path(tmp_path, monkeypatch):
    _failing_fsync(monkeypatch, after=3, err=errno.EACCES)
    with pytest.raises(StoreError, match="permission denied while .*samples.csv"):
        evaluate(Counting(), TinyDataset(n=4), out=tmp_path, method_name="counting")


# -- a real 1 MB tmpfs, and a read-only one --------------------------------------------------------
@pytest.fixture
def tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root/CAP_SYS_ADMIN): {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True, timeout=30)


def _fill(folder, leave_pages: int) -> list:
    """Fill the tmpfs with 4 KiB files, then free ``leave_pages`` of them."""
    fillers = []
    while True:
        f = folder / f"fill-{uuid.uuid4().hex}"
        try:
            with open(f, "wb") as fh:
                fh.write(b"\0" * 4096)
            fillers.append(f)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
            f.unlink(missing_ok=True)
            break
    for f in fillers[:leave_pages]:
        f.unlink()
    return fillers[leave_pages:]


def test_full_tmpfs_keeps_rows_and_resume_recovers(tmpfs):
    out = tmpfs / "runs"
    out.mkdir()
    fillers = _fill(tmpfs, leave_pages=4)
    with pytest.raises(StoreError, match="no space left") as exc:
        evaluate(Counting(), TinyDataset(n=120), out=out, method_name="counting")
    assert str(out) in str(exc.value)
    kept = _rows(out)
    assert 0 < len(kept) < 120 and len({r["id"] for r in kept}) == len(kept)
    for f in fillers[:40]:
        f.unlink()
    m = Counting()
    _, s = evaluate(m, TinyDataset(n=120), out=out, method_name="counting")
    assert s.counts.to_json() == {"total": 120, "ok": 120, "error": 0, "pending": 0}, s.errors[:3]
    assert m.calls == 120 - len(kept)
    assert len(_rows(out)) == 120


def test_read_only_folder_refuses_before_any_sample_and_keeps_rows(tmpfs, capsys):
    out = tmpfs / "runs"
    evaluate(Counting(), TinyDataset(n=4), out=out, method_name="counting", limit=2)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True, timeout=30)
    try:
        m = Counting()
        with pytest.raises(StoreError, match="read-only file system") as exc:
            evaluate(m, TinyDataset(n=4), out=out, method_name="counting")
        assert exc.value.exit_code == exitcodes.USAGE and m.calls == 0
        assert len(_rows(out)) == 2
        rc = cli.main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "synthetic", "--limit", "1", "--out", str(tmpfs / "new")])
        assert rc == exitcodes.USAGE and "read-only" in capsys.readouterr().err
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tmpfs)], check=True, timeout=30)
    _, s = evaluate(Counting(), TinyDataset(n=4), out=out, method_name="counting")
    assert s.counts.ok == 4


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_unwritable_folder_by_permissions(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    try:
        with file_modes_enforced(), pytest.raises(StoreError, match="permission denied"):  # root too: CI runs as root
            evaluate(Counting(), TinyDataset(n=2), out=out, method_name="counting")
    finally:
        out.chmod(0o755)


# -- what a resume does not trust ------------------------------------------------------------------
def test_untrusted_rows_are_reported_and_recomputed(tmp_path):
    evaluate(Counting(), TinyDataset(n=6), out=tmp_path, method_name="counting")
    f = tmp_path / "tiny" / "counting" / "samples.csv"
    lines = f.read_bytes().split(b"\r\n")
    header = lines[0].split(b",")
    col = header.index(b"mse_whole")

    def with_value(line: bytes, value: bytes) -> bytes:
        parts = line.split(b",")
        parts[col] = value
        return b",".join(parts)

    rows = {ln.split(b",")[0]: ln for ln in lines[1:] if ln}
    body = [
        rows[b"s00"],
        with_value(rows[b"s01"], b"abc"),  # not a number
        with_value(rows[b"s02"], b"inf"),  # not finite
        rows[b"s03"], rows[b"s03"],  # identical duplicate: one kept
        rows[b"s04"], with_value(rows[b"s04"], b"0.125"),  # disagreeing duplicates: recomputed
        rows[b"s05"].replace(b",ok,", b",ok,\xff\xfe,", 1).replace(b",,", b",", 1),  # non-UTF-8 bytes in a field
        b"ghost\xff," + b",".join(rows[b"s00"].split(b",")[1:]),  # non-UTF-8 id that matches no sample
    ]
    f.write_bytes(b"\r\n".join([lines[0], *body]) + b"\r\n")
    m = Counting()
    with pytest.warns(StoreWarning) as w:
        _, s = evaluate(m, TinyDataset(n=6), out=tmp_path, method_name="counting")
    text = "\n".join(str(x.message) for x in w)
    assert str(f) in text
    for needle in ["'s01'", "not a number", "'s02'", "not finite", "'s03' has 2 identical rows", "'s04' has 2 rows that disagree",
                   "'s05'", "not UTF-8"]:
        assert needle in text, needle
    assert m.calls == 4  # s01, s02, s04, s05
    ids = [r["id"] for r in read_rows(f)]
    assert sorted(ids) == [f"s{i:02d}" for i in range(6)]
    assert s.counts.to_json() == {"total": 6, "ok": 6, "error": 0, "pending": 0}
    assert s.means["mse_whole"] is not None


def test_nan_metrics_written_by_the_scorer_are_kept(tmp_path):
    class AllKnown(TinyDataset):
        def load(self, id):
            s = super().load(id)
            s.trimap = np.where(s.alpha > 0.5, 255, 0).astype(np.uint8)  # no unknown pixels: SAD etc. undefined
            return s

    evaluate("trimap-midpoint", AllKnown(n=2), out=tmp_path)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", StoreWarning)
        _, s = evaluate("trimap-midpoint", AllKnown(n=2), out=tmp_path)
    assert s.excluded["mse"] == 2 and s.counts.ok == 2

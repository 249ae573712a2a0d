"""Inputs that hang, crash or vanish (issue 21, section 4, and the input items of section 6), tried as an
attacker would: FIFOs, devices and dangling links planted in every folder the tool reads, headers that
claim billions of pixels, bad $MATTEBENCH_MAX_PIXELS values, file names that are not UTF-8, the C locale,
5 MB error texts, label maps and multi-page TIFFs as mattes, NaN in saved predictions.

Hostile runs go through a fresh interpreter (``_trust_kit.cli``) where a hang or a segfault would take
pytest down with it; the subprocess timeout is a guard, never an assertion.
"""

from __future__ import annotations

import ast
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from _trust_kit import REPO, cli, folder_dataset
from conftest import TinyDataset, disc_sample
from PIL import Image

from mattebench.commands.cli import main
from mattebench.data.io import (
    ENV_MAX_PIXELS,
    image_info,
    read_alpha_u8,
    read_image,
    read_matte,
    read_prediction,
)
from mattebench.errors import NotRegularFile, PredictionError, SampleError, UsageError
from mattebench.files import sha256_file
from mattebench.methods.registry import check_dataset, load_dataset
from mattebench.runs.runner import evaluate
from mattebench.runs.store import MAX_TEXT, read_rows
from mattebench.types import MethodCard

posix_only = pytest.mark.skipif(os.name != "posix" or not hasattr(os, "mkfifo"), reason="FIFOs and devices are POSIX")
GUARD = 180  # seconds: a hang fails the test through TimeoutExpired instead of blocking the suite


def _samples(run: Path) -> list[dict]:
    return read_rows(run / "samples.csv")


# -- non-regular files never hang a run ---------------------------------------------------------------
@posix_only
def test_fifo_and_device_in_a_predictions_folder_are_error_rows_not_a_hang(tmp_path: Path):
    data = folder_dataset(tmp_path / "data", ["a", "b", "c"])
    preds = tmp_path / "preds"
    preds.mkdir()
    Image.open(data / "alpha" / "a.png").save(preds / "a.png")
    os.mkfifo(preds / "b.png")  # a FIFO that matches a sample
    (preds / "c.tif").symlink_to("/dev/zero")  # a device behind a link, matching a sample
    os.mkfifo(preds / "stray.npy")  # a FIFO that matches nothing: hashed with the folder, never opened blocking
    out = tmp_path / "runs"
    args = ["run", "--quiet", "--jobs", "1", "--predictions", str(preds), "--name", "mine", "--dataset", "folder",
            "--data-root", str(data), "--out", str(out)]
    r = cli(args, timeout=GUARD)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    rows = {row["id"]: row for row in _samples(out / "folder" / "mine")}
    assert rows["a"]["status"] == "ok"
    assert rows["b"]["status"] == "error" and str(preds / "b.png") in rows["b"]["error"] and "FIFO" in rows["b"]["error"]
    assert rows["c"]["status"] == "error" and str(preds / "c.tif") in rows["c"]["error"] and "device" in rows["c"]["error"]
    assert "stray.npy" in r.stderr  # named among the files that match no sample


@posix_only
def test_the_one_opener_refuses_fifos_and_devices(tmp_path: Path):
    from mattebench.data.base import read_list
    from mattebench.errors import DatasetNotFound

    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "zero").symlink_to("/dev/zero")
    for name, kind in (("pipe", "FIFO"), ("zero", "character device")):
        with pytest.raises(NotRegularFile, match=kind) as e:
            sha256_file(tmp_path / name)  # the one file hash: method files, checkpoints, prediction folders
        assert str(tmp_path / name) in str(e.value)
        with pytest.raises(DatasetNotFound, match=kind):
            read_list(tmp_path / name)  # a dataset's list file
    os.mkfifo(tmp_path / "pred.npy")
    from mattebench.scoring.toolkits import (
        read_prediction as read_convention_prediction,
    )

    for read in (read_prediction, read_convention_prediction):  # `run --predictions` and `conventions --pred`
        with pytest.raises(PredictionError, match="FIFO") as e:
            read(str(tmp_path / "pred.npy"))
        assert str(tmp_path / "pred.npy") in str(e.value)


@posix_only
def test_fifo_and_dangling_links_in_a_dataset_tree_are_error_rows_and_data_check_problems(tmp_path: Path):
    data = folder_dataset(tmp_path / "data", ["a", "b", "c", "d", "e"])
    (data / "image" / "b.png").unlink()
    (data / "image" / "b.png").symlink_to(tmp_path / "moved" / "b.png")  # a photo whose target went away
    (data / "alpha" / "c.png").unlink()
    (data / "alpha" / "c.png").symlink_to("../nowhere/c.png")  # a dangling matte, relative target
    (data / "image" / "d.png").unlink()
    os.mkfifo(data / "image" / "d.png")  # a FIFO photo
    (data / "image" / "e.png").unlink()
    (data / "image" / "e.png").symlink_to("/dev/zero")
    rows, record = evaluate("trimap-midpoint", "folder", data_root=str(data), out=tmp_path / "runs")
    by = {r["id"]: r for r in rows}
    assert record.counts.total == 5 and record.counts.ok == 1 and record.counts.error == 4, record.counts
    assert "broken symbolic link" in by["b"]["error"] and str(tmp_path / "moved" / "b.png") in by["b"]["error"]
    assert "broken symbolic link" in by["c"]["error"] and "../nowhere/c.png" in by["c"]["error"]
    assert str(data / "image" / "d.png") in by["d"]["error"] and "not a regular file" in by["d"]["error"]
    assert str(data / "image" / "e.png") in by["e"]["error"] and "not a regular file" in by["e"]["error"]
    report = check_dataset("folder", root=str(data))
    text = "\n".join(report.problems)
    for name in ("image/b.png", "alpha/c.png", "image/d.png", "image/e.png"):
        assert name in text, report.render()


# -- headers are read before any pixel is decoded -------------------------------------------------------
def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _bomb_png(path: Path, width: int, height: int) -> Path:
    """A 1-bit grey PNG of ``width``x``height`` zeros, compressed row by row (tens of kB on disk)."""
    row = b"\x00" * (1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))
    return path


def _bomb_jpeg(path: Path, width: int, height: int) -> Path:
    """A JPEG whose frame header (SOF0) claims ``width``x``height``; the scan data is a few bytes."""
    good = Image.fromarray(np.zeros((8, 8), np.uint8))
    from io import BytesIO

    buf = BytesIO()
    good.save(buf, format="JPEG")
    data = bytearray(buf.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5:at + 9] = struct.pack(">HH", height, width)
    path.write_bytes(bytes(data))
    return path


def _bomb_tiff(path: Path, width: int, height: int) -> Path:
    """A little-endian TIFF whose first IFD claims ``width``x``height`` 8-bit grey, with no real strips."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, 1)]
    ifd = struct.pack("<H", len(entries)) + b"".join(
        struct.pack("<HHII", tag, kind, n, value) if kind == 4 else struct.pack("<HHIHH", tag, kind, n, value, 0)
        for tag, kind, n, value in entries) + struct.pack("<I", 0)
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + ifd)
    return path


def _bomb_npy(path: Path, width: int, height: int) -> Path:
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (height, width)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + b"\x00" * 64)
    return path


@pytest.mark.parametrize("make,ext", [(_bomb_png, ".png"), (_bomb_jpeg, ".jpg"), (_bomb_tiff, ".tif"), (_bomb_npy, ".npy")])
def test_a_30000x30000_header_is_refused_by_the_pixel_limit_before_decoding(tmp_path: Path, make, ext):
    f = make(tmp_path / f"bomb{ext}", 30000, 30000)
    assert f.stat().st_size < 200_000
    with pytest.raises(PredictionError) as e:
        read_prediction(f)
    msg = str(e.value)
    assert str(f) in msg and "30000x30000 = 900,000,000 pixels" in msg and "limit 178,956,970 pixels" in msg, msg
    if ext != ".npy":
        for read in (read_image, read_alpha_u8, image_info):
            with pytest.raises(SampleError) as e:
                read(f)
            assert "30000x30000 = 900,000,000 pixels" in str(e.value) and str(f) in str(e.value), str(e.value)


def test_a_prediction_over_a_lowered_limit_is_an_error_row_naming_size_and_limit(tmp_path: Path, monkeypatch):
    data = folder_dataset(tmp_path / "data", ["a", "b"])
    preds = tmp_path / "preds"
    preds.mkdir()
    Image.open(data / "alpha" / "a.png").save(preds / "a.png")
    _bomb_png(preds / "b.png", 3000, 2000)
    monkeypatch.setenv(ENV_MAX_PIXELS, "1_000_000")
    rows, record = evaluate("predictions", "folder", data_root=str(data), method_options={"dir": str(preds), "name": "p"})
    (err,) = [r for r in rows if r["status"] == "error"]
    assert err["id"] == "b" and str(preds / "b.png") in err["error"]
    assert "3000x2000 = 6,000,000 pixels" in err["error"] and "limit 1,000,000 pixels" in err["error"], err["error"]


# -- $MATTEBENCH_MAX_PIXELS is checked once ---------------------------------------------------------------
@pytest.mark.parametrize("value", ["abc", "0", "-5", "1e99", "nan", "inf", "2.5"])
def test_a_bad_pixel_limit_is_one_usage_error_before_any_sample(tmp_path: Path, monkeypatch, capsys, value):
    data = folder_dataset(tmp_path / "data", ["a", "b"])
    monkeypatch.setenv(ENV_MAX_PIXELS, value)
    out = tmp_path / "runs"
    code = main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data),
                 "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count(ENV_MAX_PIXELS) >= 1 and "Traceback" not in err and "internal error" not in err
    assert not (out / "folder").exists()  # refused before a run folder or a row exists
    with pytest.raises(UsageError, match=ENV_MAX_PIXELS):
        evaluate("trimap-midpoint", "folder", data_root=str(data))
    assert main(["data", "check", "folder", "--data-root", str(data)]) == 2


# -- names that are not UTF-8 ------------------------------------------------------------------------------
def _bad_name() -> str:
    return os.fsdecode(b"caf\xe9-\xff")


def test_unmatched_non_utf8_prediction_file_is_a_warning_not_exit_70(tmp_path: Path):
    data = folder_dataset(tmp_path / "data", ["a"])
    preds = tmp_path / "preds"
    preds.mkdir()
    Image.open(data / "alpha" / "a.png").save(preds / "a.png")
    with open(os.path.join(os.fsencode(preds), os.fsencode(_bad_name()) + b".png"), "wb") as f:
        f.write((preds / "a.png").read_bytes())
    r = cli(["run", "--quiet", "--jobs", "1", "--predictions", str(preds), "--name", "mine", "--dataset", "folder",
             "--data-root", str(data), "--out", str(tmp_path / "runs")], timeout=GUARD)
    assert r.returncode == 0, r.stderr
    assert "match no sample" in r.stderr and "Traceback" not in r.stderr


def test_save_alphas_and_predict_bits16_write_non_utf8_names_and_rerun(tmp_path: Path):
    name = _bad_name()
    data = folder_dataset(tmp_path / "data", ["a", name])
    out = tmp_path / "runs"
    args = ["run", "--quiet", "--jobs", "1", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data),
            "--out", str(out), "--save-alphas", "all"]
    for _ in range(2):  # the first run writes, the rerun resumes: neither crashes
        r = cli(args, timeout=GUARD)
        assert r.returncode == 0, (r.returncode, r.stderr)
    stored = os.path.join(os.fsencode(out / "folder" / "trimap-midpoint" / "alphas"), os.fsencode(name) + b".png")
    assert read_prediction(os.fsdecode(stored)).shape == (12, 12)
    pred_out = tmp_path / "pred"
    r = cli(["predict", "--method", "trimap-midpoint", "--input", str(data / "image"), "--trimap", str(data / "alpha"),
             "--out", str(pred_out), "--bits", "16"], timeout=GUARD)
    assert r.returncode == 0, (r.returncode, r.stderr)
    written = os.path.join(os.fsencode(pred_out / "alpha"), os.fsencode(name) + b".png")
    with Image.open(os.fsdecode(written)) as im:
        assert im.size == (12, 12) and im.mode.startswith("I")  # 16-bit grey


# -- the C locale -----------------------------------------------------------------------------------------
LOCALES = [{"LC_ALL": "C", "PYTHONUTF8": "0"}, {"LC_ALL": "C"}]  # ASCII file-system encoding; then UTF-8 mode


def test_non_ascii_names_round_trip_under_the_c_locale(tmp_path: Path):
    """One folder of names run under each C locale, then resumed in a UTF-8 locale: the rows are the same samples."""
    names = ["caf\u00e9", "\u65e5\u672c", "plain", _bad_name()]
    for k, locale_env in enumerate(LOCALES):
        data = folder_dataset(tmp_path / f"data{k}", names)
        out = tmp_path / f"runs{k}"
        args = ["run", "--quiet", "--jobs", "1", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data),
                "--out", str(out)]
        first = cli(args, timeout=GUARD, **locale_env)
        assert first.returncode == 0, (locale_env, first.stdout + first.stderr)
        csv_path = out / "folder" / "trimap-midpoint" / "samples.csv"
        before = csv_path.read_bytes()
        again = cli(args, timeout=GUARD, **locale_env)  # a rerun in the same locale: nothing pending, nothing appended
        assert again.returncode == 0 and csv_path.read_bytes() == before, (locale_env, again.stdout + again.stderr)
        utf8 = cli(args, timeout=GUARD, LC_ALL="C.UTF-8")  # and in a UTF-8 locale: the same rows are the same samples
        assert utf8.returncode == 0 and csv_path.read_bytes() == before, (locale_env, utf8.stdout + utf8.stderr)
        assert sorted(os.fsencode(r["id"]) for r in read_rows(csv_path)) == sorted(os.fsencode(n) for n in names)
        board = cli(["leaderboard", "--runs", str(out), "--out", str(tmp_path / f"boards{k}"), "--html", "--print"],
                    timeout=GUARD, **locale_env)
        assert board.returncode == 0, (locale_env, board.stdout + board.stderr)
        assert (tmp_path / f"boards{k}" / "site" / "index.html").is_file()


def _text_calls_without_encoding(tree: ast.AST) -> list[int]:
    """Lines of text-mode open()/read_text()/write_text() calls that leave the encoding to the locale."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else (f.id if isinstance(f, ast.Name) else None)
        kws = {k.arg for k in node.keywords}
        if "encoding" in kws or None in kws:
            continue
        if name in ("read_text", "write_text"):
            lines.append(node.lineno)
        elif name == "open" and isinstance(f, ast.Name):
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
            text = mode.value if isinstance(mode, ast.Constant) else "r"
            if "b" not in str(text):
                lines.append(node.lineno)
    return lines


def test_every_text_file_the_project_reads_or_writes_names_its_encoding():
    """Under LC_ALL=C PYTHONUTF8=0 the locale's encoding is ASCII: a text file opened without ``encoding=`` fails
    on the first non-ASCII character (the leaderboard exited 70). Every text open says UTF-8 itself."""
    offenders = []
    for root in ("mattebench", "baselines"):
        for path in sorted((REPO / root).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(REPO)}:{n}" for n in _text_calls_without_encoding(tree)]
    assert not offenders, offenders


# -- error texts of any length ---------------------------------------------------------------------------
HUGE = 5 * 1024 * 1024


class _HugeErrors(TinyDataset):
    def load(self, id: str):
        if id == "s01":
            raise SampleError("x" * HUGE, path="/fake/" + "long-name-" * 50 + ".png")
        return super().load(id)


class _RaisesHuge:
    card = MethodCard(name="raises-huge", needs_trimap=False)

    def __init__(self):
        self.calls = 0
        self.fail_on = disc_sample(3).image.tobytes()

    def predict(self, image, trimap=None):
        self.calls += 1
        if image.tobytes() == self.fail_on:
            raise RuntimeError("y" * HUGE)
        return np.full(image.shape[:2], 0.5, np.float32)


def test_a_5mb_error_message_makes_a_capped_row_that_reads_back(tmp_path: Path):
    out = tmp_path / "runs"
    ds = _HugeErrors(n=8)
    first = _RaisesHuge()
    _, record = evaluate(first, ds, out=out, method_name="raises-huge")
    assert record.counts.ok == 6 and record.counts.error == 2
    csv_path = out / "tiny" / "raises-huge" / "samples.csv"
    assert csv_path.stat().st_size < 50_000
    rows = {r["id"]: r for r in read_rows(csv_path)}
    assert len(rows) == 8
    for sid in ("s01", "s03"):
        text = rows[sid]["error"]
        assert len(text) < MAX_TEXT + 100 and text.endswith("characters cut)"), text[-80:]
    again = _RaisesHuge()
    _, record2 = evaluate(again, ds, out=out, method_name="raises-huge")
    assert again.calls == 1  # only the failed s03 is retried: every ok row read back as done
    assert record2.counts.ok == 6 and record2.counts.pending == 0
    assert len(read_rows(csv_path)) == 8


def test_rows_with_a_huge_field_written_by_an_older_version_still_read(tmp_path: Path):
    f = tmp_path / "samples.csv"
    f.write_text("id,status,error,mse_whole\r\ns00,error," + "z" * 300_000 + ",\r\ns01,ok,,0.5\r\n", encoding="utf-8")
    problems: list[str] = []
    rows = read_rows(f, problems)
    assert [r["id"] for r in rows] == ["s00", "s01"] and not problems


# -- section 6: mattes and photos that would score without a word ----------------------------------------------
@pytest.mark.parametrize("top", [2, 3, 7, 20])
def test_a_small_integer_label_map_as_matte_fails_naming_the_file(tmp_path: Path, top):
    data = folder_dataset(tmp_path / "data", ["a", "b"])
    labels = np.zeros((12, 12), np.uint8)
    labels[2:10, 2:10] = 1
    labels[4:8, 4:8] = top
    Image.fromarray(labels).save(data / "alpha" / "b.png")
    rows, record = evaluate("trimap-midpoint", "folder", data_root=str(data))
    (err,) = [r for r in rows if r["status"] == "error"]
    assert err["id"] == "b" and str(data / "alpha" / "b.png") in err["error"] and "label map" in err["error"]
    report = check_dataset("folder", root=str(data), deep=True)
    assert any("label map" in p and "b.png" in p for p in report.problems), report.render()
    Image.fromarray(np.zeros((12, 12), np.uint8)).save(data / "alpha" / "b.png")  # no foreground: not a label map
    assert load_dataset("folder", root=str(data)).load("b").alpha.max() == 0


def _two_page_tiff(path: Path, first: np.ndarray, second: np.ndarray) -> Path:
    Image.fromarray(first).save(path, save_all=True, append_images=[Image.fromarray(second)])
    return path


def test_a_multi_page_tiff_matte_or_prediction_is_refused(tmp_path: Path):
    data = folder_dataset(tmp_path / "data", ["a", "b"])
    a = np.asarray(Image.open(data / "alpha" / "b.png"))
    (data / "alpha" / "b.png").unlink()
    tif = _two_page_tiff(data / "alpha" / "b.tif", a, 255 - a)
    rows, _ = evaluate("trimap-midpoint", "folder", data_root=str(data))
    (err,) = [r for r in rows if r["status"] == "error"]
    assert err["id"] == "b" and str(tif) in err["error"] and "2 pages" in err["error"], err["error"]
    with pytest.raises(SampleError, match="multi-page"):
        read_matte(tif)
    pred = _two_page_tiff(tmp_path / "pred.tif", a, a)
    with pytest.raises(PredictionError, match="2 pages") as e:
        read_prediction(pred)
    assert str(pred) in str(e.value)


def test_a_float_rgb_tiff_photo_is_called_what_it_is(tmp_path: Path):
    import cv2

    data = folder_dataset(tmp_path / "data", ["a", "b"])
    (data / "image" / "b.png").unlink()
    photo = data / "image" / "b.tif"
    assert cv2.imwrite(str(photo), np.random.default_rng(0).random((12, 12, 3)).astype(np.float32))
    with pytest.raises(SampleError) as e:
        read_image(photo)
    msg = str(e.value)
    assert str(photo) in msg and "TIFF" in msg and "32-bit floating-point" in msg and "HTML" not in msg, msg
    rows, _ = evaluate("trimap-midpoint", "folder", data_root=str(data))
    (err,) = [r for r in rows if r["status"] == "error"]
    assert "floating-point" in err["error"] and "HTML" not in err["error"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, 3.5])
def test_bad_values_in_a_saved_prediction_name_the_prediction_file(tmp_path: Path, bad):
    data = folder_dataset(tmp_path / "data", ["a"])
    preds = tmp_path / "preds"
    preds.mkdir()
    p = np.full((12, 12), 0.5, np.float32)
    p[3, 4] = bad
    np.save(preds / "a.npy", p)
    rows, _ = evaluate("predictions", "folder", data_root=str(data), method_options={"dir": str(preds), "name": "p"})
    (err,) = rows
    assert err["status"] == "error" and str(preds / "a.npy") in err["error"], err["error"]
    assert str(data / "image" / "a.png") not in err["error"]

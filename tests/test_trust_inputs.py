"""Inputs that would score silently wrong: stray trimap values, EXIF orientation, RGBA cut-out mattes,
and the messages of every read path (permission, folder, link, bomb, not an image, truncated)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from _fake_trees import make_comp1k, make_crgnn, make_pairs, save
from _privileges import file_modes_enforced
from PIL import Image

from mattebench.commands.cli import main
from mattebench.data.io import (
    ENV_MAX_PIXELS,
    image_info,
    read_alpha_u8,
    read_image,
    read_matte,
)
from mattebench.errors import MattebenchError, SampleError
from mattebench.methods.registry import check_dataset, load_dataset
from mattebench.runs.runner import evaluate


def _jpeggy(t: np.ndarray) -> np.ndarray:
    """A trimap as JPEG or resizing leaves it: 127 and 129 around the unknown band, a few 3s."""
    t = t.copy()
    t[t.shape[0] // 2, :4] = 127
    t[t.shape[0] // 2, 4:6] = 129
    t[0, 0] = 3
    return t


def _folder_tree(root: Path, stems=("a", "b")) -> Path:
    make_pairs(root / "image", root / "alpha", list(stems), image_ext=".png", trimap_dir=root / "trimap")
    p = root / "trimap" / "b.png"
    save(p, _jpeggy(np.asarray(Image.open(p))))
    return p


# -- trimaps ----------------------------------------------------------------------------------------
def test_stray_trimap_values_fail_the_sample_naming_file_values_and_counts(tmp_path: Path):
    bad = _folder_tree(tmp_path)
    ds = load_dataset("folder", root=str(tmp_path))
    ds.load("a")
    with pytest.raises(SampleError) as e:
        ds.load("b")
    msg = str(e.value)
    assert str(bad) in msg and "127 (x4)" in msg and "129 (x2)" in msg and "3 (x1)" in msg and "trimap_snap=true" in msg
    rows, summary = evaluate("trimap-midpoint", "folder", data_root=str(tmp_path))
    (err,) = [r for r in rows if r["status"] == "error"]
    assert err["id"] == "b" and "127 (x4)" in err["error"] and summary.counts.ok == 1


def test_trimap_snap_maps_to_nearest_class_and_is_recorded(tmp_path: Path):
    _folder_tree(tmp_path)
    s = load_dataset("folder", root=str(tmp_path), trimap_snap=True).load("b")
    assert set(np.unique(s.trimap)) <= {0, 128, 255}
    row_mid = s.trimap[s.trimap.shape[0] // 2]
    assert list(row_mid[:6]) == [128] * 6 and s.trimap[0, 0] == 0
    (note,) = s.metadata["notes"]
    assert note.startswith("trimap_snapped:") and "127 (x4)" in note and "7 of" in note
    rows, summary = evaluate("trimap-midpoint", "folder", data_root=str(tmp_path), dataset_options={"trimap_snap": True},
                             out=tmp_path / "runs")
    assert summary.counts.ok == 2
    by = {r["id"]: r for r in rows}
    assert "trimap_snapped" in by["b"]["notes"] and by["a"]["notes"] in ("", None)
    assert summary.provenance.sample_notes == {"trimap_snapped": 1}
    assert any("1 sample(s) had trimap values" in n for n in summary.provenance.notes)
    # the notes column survives a resume (the rows are not recomputed, the count is the same)
    rows2, summary2 = evaluate("trimap-midpoint", "folder", data_root=str(tmp_path), dataset_options={"trimap_snap": True},
                               out=tmp_path / "runs")
    assert summary2.provenance.sample_notes == {"trimap_snapped": 1}
    # a snapped run is another run: its identity (fingerprint) differs from the strict one
    assert load_dataset("folder", root=str(tmp_path), trimap_snap=True).fingerprint() != load_dataset("folder", root=str(tmp_path)).fingerprint()


def test_ties_go_to_unknown():
    from mattebench.data.trimap_values import snap

    got = snap(np.array([[0, 63, 64, 127, 128, 191, 192, 255]], np.uint8))
    assert got.tolist() == [[0, 0, 128, 128, 128, 128, 255, 255]]


def _p3m(root: Path) -> Path:
    base = root / "P3M-10k" / "validation" / "P3M-500-P"
    make_pairs(base / "blurred_image", base / "mask", ["p1", "p2"], trimap_dir=base / "trimap")
    return base / "trimap" / "p2.png"


def _aim(root: Path) -> Path:
    base = root / "AIM-500"
    make_pairs(base / "original", base / "mask", ["o_1", "o_2"], trimap_dir=base / "trimap")
    return base / "trimap" / "o_2.png"


def _alphamatting(root: Path) -> Path:
    make_pairs(root / "input_training_lowres", root / "gt_training_lowres", ["GT01", "GT02"], image_ext=".png",
               trimap_dir=root / "trimap_training_lowres" / "Trimap1")
    return root / "trimap_training_lowres" / "Trimap1" / "GT02.png"


def _comp1k(root: Path) -> Path:
    info = make_comp1k(root, fg_names=["a.png"], per_fg=2)
    return info["adobe"] / "trimaps" / "a_1.png"


def _crgnn(root: Path) -> Path:
    make_crgnn(root, videos=("v01",), n_frames=11)
    return root / "trimap" / "v01" / "frame00011.png"


@pytest.mark.parametrize("name,build,bad_id", [
    ("p3m500-p", _p3m, "p2"), ("aim500", _aim, "o_2"), ("alphamatting", _alphamatting, "GT02"),
    ("comp1k", _comp1k, "a_1"), ("crgnn-r", _crgnn, "v01"),
])
def test_every_dataset_with_trimap_files_holds_them_to_three_values(tmp_path: Path, name, build, bad_id):
    bad = build(tmp_path)
    save(bad, _jpeggy(np.asarray(Image.open(bad))))
    rows, summary = evaluate("trimap-midpoint", name, data_root=str(tmp_path))
    (err,) = [r for r in rows if r["id"] == bad_id]
    assert err["status"] == "error" and str(bad) in err["error"] and "127 (x4)" in err["error"]
    rows, summary = evaluate("trimap-midpoint", name, data_root=str(tmp_path), dataset_options={"trimap_snap": True})
    (ok,) = [r for r in rows if r["id"] == bad_id]
    assert ok["status"] == "ok" and "trimap_snapped" in ok["notes"], ok
    assert summary.provenance.sample_notes["trimap_snapped"] == 1
    report = check_dataset(name, root=str(tmp_path), deep=True)
    assert not report.ok and any(str(bad) in p and "127 (x4)" in p for p in report.problems), report.render()
    snapped = check_dataset(name, root=str(tmp_path), deep=True, trimap_snap=True)
    assert not any("0/128/255" in p for p in snapped.problems), snapped.render()  # (fake trees miss the counts)
    assert any(str(bad) in n and "nearest of 0/128/255" in n for n in snapped.notes), snapped.render()


@pytest.mark.parametrize("name", ["ppm100", "synthetic"])
def test_trimap_snap_is_refused_where_no_trimap_file_is_read(tmp_path: Path, name):
    from mattebench.errors import RegistryError

    with pytest.raises(RegistryError, match="trimap_snap"):
        load_dataset(name, root=str(tmp_path), trimap_snap=True)


def test_trimap_snap_value_must_be_a_boolean(tmp_path: Path):
    _folder_tree(tmp_path)
    with pytest.raises(MattebenchError, match="true or false"):
        load_dataset("folder", root=str(tmp_path), trimap_snap="maybe")


def test_data_check_cli_deep_reports_stray_trimap_values(tmp_path: Path, capsys):
    bad = _folder_tree(tmp_path)
    assert main(["data", "check", "folder", "--data-root", str(tmp_path)]) == 0  # headers only: cannot see values
    assert main(["data", "check", "folder", "--data-root", str(tmp_path), "--deep"]) == 1
    out = capsys.readouterr().out
    assert str(bad) in out and "127 (x4), 129 (x2), 3 (x1)" in out
    assert main(["data", "check", "folder", "--data-root", str(tmp_path), "--deep", "-d", "trimap_snap=true"]) == 0


# -- EXIF orientation --------------------------------------------------------------------------------
def _exif_jpeg(path: Path, arr: np.ndarray, orientation: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, exif=exif, quality=95)
    return path


def test_square_photo_with_exif_orientation_is_reported_and_counted(tmp_path: Path):
    rng = np.random.default_rng(0)
    make_pairs(tmp_path / "image", tmp_path / "alpha", ["plain"], h=16, w=16)
    photo = _exif_jpeg(tmp_path / "image" / "turned.jpg", rng.integers(0, 255, (16, 16, 3), dtype=np.uint8), 6)
    save(tmp_path / "alpha" / "turned.png", np.full((16, 16), 200, np.uint8))
    s = load_dataset("folder", root=str(tmp_path)).load("turned")
    assert s.metadata["exif_orientation"] == 6
    (note,) = s.metadata["notes"]
    assert str(photo) in note and "either orientation" in note and "applied" in note
    rows, summary = evaluate("trimap-midpoint", "folder", data_root=str(tmp_path))
    assert summary.provenance.sample_notes == {"exif_orientation": 1}
    assert any("EXIF orientation" in n for n in summary.provenance.notes)
    report = check_dataset("folder", root=str(tmp_path))
    assert report.ok and any(str(photo) in n and "either orientation" in n for n in report.notes), report.render()


def test_exif_photo_whose_matte_follows_stored_pixels(tmp_path: Path):
    rng = np.random.default_rng(1)
    photo = _exif_jpeg(tmp_path / "image" / "p.jpg", rng.integers(0, 255, (8, 12, 3), dtype=np.uint8), 8)
    save(tmp_path / "alpha" / "p.png", np.full((8, 12), 255, np.uint8))
    s = load_dataset("folder", root=str(tmp_path)).load("p")
    assert s.image.shape == (8, 12, 3) and s.metadata["exif_orientation_ignored"] is True
    assert "ignored" in s.metadata["notes"][0]
    notes = check_dataset("folder", root=str(tmp_path)).notes
    assert any(str(photo) in n and "ignores it" in n for n in notes), notes


# -- RGBA cut-out mattes -------------------------------------------------------------------------------
def test_rgba_cutout_matte_is_read_from_its_alpha_channel(tmp_path: Path):
    rng = np.random.default_rng(2)
    make_pairs(tmp_path / "image", tmp_path / "alpha", ["a"], image_ext=".png")
    photo = np.asarray(Image.open(tmp_path / "image" / "a.png"))
    alpha = np.zeros((16, 20), np.uint8)
    alpha[4:12, 5:15] = 255
    alpha[4, 5:15] = 90
    cut = tmp_path / "alpha" / "a.png"
    Image.fromarray(np.dstack([photo, alpha]), mode="RGBA").save(cut)
    got, notes = read_matte(cut)
    np.testing.assert_array_equal(got, alpha)
    np.testing.assert_array_equal(read_alpha_u8(cut), alpha)
    assert notes and "alpha channel" in notes[0] and str(cut) in notes[0]
    s = load_dataset("folder", root=str(tmp_path)).load("a")
    np.testing.assert_array_equal(s.alpha, alpha.astype(np.float32) / np.float32(255))
    assert any(n.startswith("matte_alpha_channel:") for n in s.metadata["notes"])
    report = check_dataset("folder", root=str(tmp_path), deep=True)
    assert any("alpha channel" in n for n in report.notes) and not any("convert('L')" in n for n in report.notes)
    # an RGBA file whose alpha is constant (an opaque grey matte saved as RGBA) is still read from its colour
    grey = rng.integers(0, 256, (16, 20), dtype=np.uint8)
    Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)]), mode="RGBA").save(tmp_path / "opaque.png")
    np.testing.assert_array_equal(read_alpha_u8(tmp_path / "opaque.png"), grey)


# -- messages of every read path ------------------------------------------------------------------------
def _png(path: Path, h: int = 20, w: int = 20) -> Path:
    Image.fromarray(np.zeros((h, w), np.uint8)).save(path)
    return path


def test_bomb_names_file_limit_and_how_to_raise_it(tmp_path: Path, monkeypatch):
    huge = tmp_path / "huge.png"
    Image.new("1", (20000, 20000)).save(huge)  # 400 million pixels, 50 kB on disk
    for read in (read_image, read_alpha_u8, image_info):
        with pytest.raises(SampleError) as e:
            read(huge)
        msg = str(e.value)
        assert str(huge) in msg and "400,000,000 pixels" in msg and ENV_MAX_PIXELS in msg and "limit" in msg, msg
    small = _png(tmp_path / "small.png")
    monkeypatch.setenv(ENV_MAX_PIXELS, "100")
    with pytest.raises(SampleError) as e:
        read_image(small)
    assert "20x20 = 400 pixels" in str(e.value) and "limit 100 pixels" in str(e.value) and f"{ENV_MAX_PIXELS}=400" in str(e.value)
    monkeypatch.setenv(ENV_MAX_PIXELS, "400")
    assert read_image(small).shape == (20, 20, 3)
    monkeypatch.setenv(ENV_MAX_PIXELS, "lots")
    from mattebench.errors import (
        UsageError,  # issue 21 section 4: a bad value is one usage error, not a sample's
    )

    with pytest.raises(UsageError, match="not a number of pixels"):
        read_image(small)


def test_bomb_in_a_run_is_an_error_row_not_a_method_error(tmp_path: Path):
    make_pairs(tmp_path / "image", tmp_path / "alpha", ["a", "b"], image_ext=".png")
    Image.new("1", (20000, 20000)).save(tmp_path / "image" / "b.png")
    rows, _ = evaluate("trimap-midpoint", "folder", data_root=str(tmp_path))
    (err,) = [r for r in rows if r["status"] == "error"]
    assert ENV_MAX_PIXELS in err["error"] and "raised" not in err["error"]


def test_permission_error_says_permission(tmp_path: Path, monkeypatch):
    p = _png(tmp_path / "locked.png")

    def deny(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", deny)
    for read in (read_image, read_alpha_u8, image_info):
        with pytest.raises(SampleError) as e:
            read(p)
        assert "permission" in str(e.value).lower() and str(p) in str(e.value) and "re-download" not in str(e.value)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_permission_error_on_a_real_file(tmp_path: Path):
    p = _png(tmp_path / "locked.png")
    p.chmod(0)
    with file_modes_enforced(), pytest.raises(SampleError) as e:  # root too: CI runs as root
        read_image(p)
    assert "permission" in str(e.value).lower() and "re-download" not in str(e.value)


def test_folder_link_and_non_image_messages(tmp_path: Path):
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(SampleError, match="is a folder, not an image file"):
        read_image(tmp_path / "dir.png")
    (tmp_path / "link.png").symlink_to(tmp_path / "gone.png")
    with pytest.raises(SampleError, match="broken symbolic link"):
        read_alpha_u8(tmp_path / "link.png")
    (tmp_path / "page.png").write_text("<html>403 Forbidden</html>")
    with pytest.raises(SampleError) as e:
        read_image(tmp_path / "page.png")
    assert "not an image file" in str(e.value) and "truncated" not in str(e.value)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(SampleError, match="0 bytes"):
        read_image(tmp_path / "empty.png")
    good = _png(tmp_path / "cut.png", 64, 64)
    data = good.read_bytes()
    good.write_bytes(data[: len(data) // 2])
    with pytest.raises(SampleError, match="corrupt or truncated"):
        read_image(good)


def test_data_check_json_carries_orientation_and_trimap_findings(tmp_path: Path, capsys):
    _folder_tree(tmp_path)
    assert main(["data", "check", "folder", "--data-root", str(tmp_path), "--deep", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert any("127 (x4)" in p for p in report["problems"])


def test_class_index_trimap_is_never_snapped_to_background(tmp_path: Path):
    make_pairs(tmp_path / "image", tmp_path / "alpha", ["a"], image_ext=".png", trimap_dir=tmp_path / "trimap")
    t = np.zeros((16, 20), np.uint8)
    t[4:12] = 1
    t[6:9, 5:15] = 2
    save(tmp_path / "trimap" / "a.png", t)
    for snap in (False, True):
        with pytest.raises(SampleError, match="class indices"):
            load_dataset("folder", root=str(tmp_path), trimap_snap=snap).load("a")


def test_zero_one_mask_as_matte_fails_instead_of_scoring_an_empty_matte(tmp_path: Path):
    make_pairs(tmp_path / "image", tmp_path / "alpha", ["a", "b"], image_ext=".png")
    m = np.zeros((16, 20), np.uint8)
    m[4:12, 5:15] = 1
    save(tmp_path / "alpha" / "b.png", m)
    ds = load_dataset("folder", root=str(tmp_path))
    ds.load("a")
    with pytest.raises(SampleError, match="only the values 0 and 1") as e:
        ds.load("b")
    assert str(tmp_path / "alpha" / "b.png") in str(e.value)
    report = check_dataset("folder", root=str(tmp_path), deep=True)
    assert any(str(tmp_path / "alpha" / "b.png") in p and "0 and 1" in p for p in report.problems), report.render()


def test_runs_read_under_other_loading_rules_are_not_resumed(tmp_path: Path, monkeypatch):
    """Rows scored when a stray trimap still scored as is must not be mixed into a run that reads it strictly."""
    import mattebench.data.base as base
    from mattebench.errors import RunConflict

    make_pairs(tmp_path / "image", tmp_path / "alpha", ["a"], image_ext=".png")
    monkeypatch.setattr(base, "READ_RULES", "older rules")
    evaluate("trimap-midpoint", "folder", data_root=str(tmp_path), out=tmp_path / "runs")
    monkeypatch.undo()
    with pytest.raises(RunConflict, match="dataset_fingerprint"):
        evaluate("trimap-midpoint", "folder", data_root=str(tmp_path), out=tmp_path / "runs")


def test_exif_option_makes_the_choice_for_ambiguous_photos(tmp_path: Path):
    rng = np.random.default_rng(4)
    arr = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
    _exif_jpeg(tmp_path / "image" / "sq.jpg", arr, 6)
    save(tmp_path / "alpha" / "sq.png", np.full((16, 16), 200, np.uint8))
    auto = load_dataset("folder", root=str(tmp_path)).load("sq")
    ignored = load_dataset("folder", root=str(tmp_path), exif="ignore").load("sq")
    applied = load_dataset("folder", root=str(tmp_path), exif="apply").load("sq")
    np.testing.assert_array_equal(auto.image, applied.image)
    raw = read_image(tmp_path / "image" / "sq.jpg", apply_exif=False)
    np.testing.assert_array_equal(ignored.image, raw)
    assert not np.array_equal(auto.image, raw)
    assert "-d exif=ignore" in ignored.metadata["notes"][0] and "-d exif=ignore" in auto.metadata["notes"][0]
    assert load_dataset("folder", root=str(tmp_path), exif="ignore").fingerprint() != load_dataset("folder", root=str(tmp_path)).fingerprint()
    notes = check_dataset("folder", root=str(tmp_path), exif="ignore").notes
    assert any("ignores it (-d exif=ignore)" in n for n in notes), notes
    with pytest.raises(MattebenchError, match="exif must be one of"):
        load_dataset("folder", root=str(tmp_path), exif="sideways")
    # a photo whose matte fits only the rotated pixels fails under exif=ignore, naming the orientation
    _exif_jpeg(tmp_path / "image" / "tall.jpg", rng.integers(0, 255, (8, 12, 3), dtype=np.uint8), 6)
    save(tmp_path / "alpha" / "tall.png", np.full((12, 8), 200, np.uint8))
    with pytest.raises(SampleError, match="EXIF orientation 6, -d exif=ignore"):
        load_dataset("folder", root=str(tmp_path), exif="ignore").load("tall")


def test_device_or_fifo_named_like_an_image_is_refused_without_blocking(tmp_path: Path):
    (tmp_path / "zero.png").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.png")
    for name in ("zero.png", "pipe.png"):
        with pytest.raises(SampleError, match="not a regular file"):
            read_image(tmp_path / name)

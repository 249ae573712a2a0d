"""`data check` verifies whatever dataset its caller opens: an opener, not a name looked up in the registry."""

from __future__ import annotations

from conftest import TinyDataset

from mattebench.data.check import check_opened
from mattebench.errors import DatasetNotFound
from mattebench.methods.registry import check_dataset, list_datasets


def test_an_unregistered_dataset_is_checked_through_its_opener():
    assert "tiny" not in list_datasets()  # the check never looks the name up
    report = check_opened("tiny", lambda: TinyDataset(n=4))
    assert report.ok and report.counts == {"samples": 4}
    assert report.fingerprint == TinyDataset(n=4).fingerprint()


def test_a_broken_sample_found_by_loading_is_a_named_problem():
    report = check_opened("tiny", lambda: TinyDataset(n=3, bad={"s01": "corrupt"}), deep=True)
    assert not report.ok and report.fingerprint is None
    assert report.problems == ["s01: /fake/image/s01.png: cannot decode image (truncated file)"]


def test_an_opener_that_finds_no_layout_is_one_problem_with_its_text():
    def missing() -> TinyDataset:
        raise DatasetNotFound("no PPM-100 under /nowhere: download it first")

    report = check_opened("ppm100", missing, root="/nowhere")
    assert report.problems == ["no PPM-100 under /nowhere: download it first"]
    assert report.root == "/nowhere" and not report.ok


def test_the_registry_opens_by_name_with_options(tmp_path):
    report = check_dataset("synthetic", n=3)
    assert report.ok and report.counts == {"samples": 3}
    missing = check_dataset("ppm100", root=str(tmp_path / "absent"))
    assert not missing.ok and len(missing.problems) == 1
    assert "mattebench data check ppm100" in missing.problems[0]  # the download instructions, as one problem

"""The run record is the only thing that passes from the runner to the reports.

``evaluate`` returns a :class:`~mattebench.runs.record.RunRecord` and writes ``record.to_json()``; the loaders
return records (older files upgraded, newer ones refused with a warning); facts the reports need
(pretrained backbone, MESSDdt flow source, hashes of every file option) are recorded at run time.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from _fake_trees import rgb, save, soft_alpha
from conftest import TinyDataset
from mattebench_baselines.saved_predictions import SavedPredictions

from mattebench import environment as provenance
from mattebench.data.io import write_alpha16
from mattebench.data.sample_notes import FLOW_ESTIMATED_SOURCE
from mattebench.methods.registry import create_method
from mattebench.report.published import load_published
from mattebench.report.tables import render_document
from mattebench.runs.executors.process import ProcessExecutor
from mattebench.runs.record import SCHEMA_VERSION, V1_UPGRADED_TO, RecordError, RunRecord
from mattebench.runs.runner import evaluate
from mattebench.runs.store import SUMMARY, load_summaries


def _stored(run_dir: str) -> dict:
    return json.loads((Path(run_dir) / SUMMARY).read_text())


def _round_trips(record: RunRecord) -> None:
    assert isinstance(record, RunRecord)
    assert RunRecord.from_json(record.to_json()) == record
    # what evaluate wrote is the record, and reads back as it
    if record.run_dir is not None:
        stored = _stored(record.run_dir)
        assert stored == json.loads(json.dumps(record.to_json(), default=str))
        assert stored["schema_version"] == SCHEMA_VERSION
        assert RunRecord.from_json(stored) == record


# -- round trip of records made by real runs ------------------------------------------------------------
def test_round_trip_synthetic(tmp_path):
    _, r = evaluate("trimap-midpoint", "synthetic", limit=3, out=tmp_path)
    _round_trips(r)
    assert r.counts.ok == 3 and r.subset and r.provenance.pretrained_backbone is False


def test_round_trip_video_dataset(tmp_path):
    _, r = evaluate("trimap-midpoint", "synthetic-video", limit=1, out=tmp_path,
                    dataset_options={"frames": 3, "size": 64})
    _round_trips(r)
    assert r.dataset_card.kind == "video" and r.ci_method["unit"] == "clip"
    assert r.provenance.flow_source is None  # synthetic clips carry their ground-truth flow


def test_round_trip_variant_run(tmp_path):
    _, r = evaluate("trimap-midpoint", "synthetic", limit=2, out=tmp_path, dataset_options={"corrupt": "jpeg:2"})
    _round_trips(r)
    assert r.is_variant and r.tag == "corrupt-jpeg-2" and r.dataset_variant["corrupt"]["severity"] == 2


def test_round_trip_saved_predictions(tmp_path):
    d = tmp_path / "pred"
    d.mkdir()
    for i in range(4):
        write_alpha16(d / f"s{i:02d}.png", np.full((24, 32), 0.25 * (i % 3), np.float32))
    _, r = evaluate(SavedPredictions(d, name="mine"), TinyDataset(n=4), out=tmp_path / "runs")
    _round_trips(r)
    assert r.method == "mine" and r.provenance.input["source"] == "scored from saved predictions"


# -- older files ----------------------------------------------------------------------------------------
def _v1(record: RunRecord, **options) -> dict:
    """The record as a version-1 summary.json was written: no schema_version, ci, ci_method, conventions,
    pretrained_backbone or flow_source."""
    d = json.loads(json.dumps(record.to_json(), default=str))
    for k in ("schema_version", "ci", "ci_method", "subset_reason"):
        d.pop(k)
    d["settings"].pop("conventions")
    d["settings"]["method_options"].update(options)
    for k in ("pretrained_backbone", "flow_source"):
        d["provenance"].pop(k)
    return d


def test_v1_summary_loads_and_the_upgrade_fills_what_it_lacked(tmp_path):
    _, r = evaluate("trimap-midpoint", TinyDataset(n=3), out=tmp_path / "runs")
    v1 = _v1(r)
    v1["provenance"]["notes"] = ["MESSDdt used a dense flow estimated on the ground truth (OpenCV DIS)"]
    old = RunRecord.from_json(v1)
    assert old.schema_version == V1_UPGRADED_TO and old.ci == {} and old.ci_method is None  # the v2 layout, read as it is
    assert old.settings.conventions == () and old.provenance.pretrained_backbone is False
    assert old.provenance.flow_source == FLOW_ESTIMATED_SOURCE
    assert old.means == r.means and old.counts == r.counts
    # the v1 rule for the † mark, applied once at upgrade
    assert RunRecord.from_json(_v1(r, backbone_checkpoint="/w/sps.ckpt")).provenance.pretrained_backbone is True
    assert RunRecord.from_json({**_v1(r), "tag": "sps"}).provenance.pretrained_backbone is True


def test_upgraded_v1_record_gives_the_same_report_cells_as_the_v1_file(tmp_path):
    runs = tmp_path / "runs"
    evaluate("trimap-midpoint", "synthetic", limit=3, out=runs)
    evaluate("gt-echo", "synthetic", limit=3, out=runs)
    f = runs / "synthetic" / "trimap-midpoint" / SUMMARY
    new_md, _ = render_document(runs)
    record = RunRecord.from_json(json.loads(f.read_text()))
    f.write_text(json.dumps(_v1(record)))  # the same run, as mattebench wrote it before schema_version
    old_md, _ = render_document(runs)
    assert "trimap-midpoint" in new_md and old_md == new_md


# -- newer and malformed files --------------------------------------------------------------------------
def test_newer_schema_is_refused_with_an_actionable_message(tmp_path):
    _, r = evaluate("trimap-midpoint", TinyDataset(n=2))
    newer = {**r.to_json(), "schema_version": SCHEMA_VERSION + 1}
    with pytest.raises(RecordError, match=rf"newer mattebench.*schema {SCHEMA_VERSION + 1}.*upgrade mattebench"):
        RunRecord.from_json(newer)


def test_report_skips_a_newer_record_with_a_warning_and_goes_on(tmp_path):
    runs = tmp_path / "runs"
    evaluate("trimap-midpoint", "synthetic", limit=2, out=runs)
    f = runs / "synthetic" / "trimap-midpoint@future" / SUMMARY
    f.parent.mkdir(parents=True)
    f.write_text(json.dumps({**_stored(str(runs / "synthetic" / "trimap-midpoint")), "schema_version": SCHEMA_VERSION + 1, "tag": "future"}))
    seen: list[str] = []
    records = load_published(runs, warn=seen.append)
    assert [x.name for x in records] == ["trimap-midpoint"]
    assert len(seen) == 1 and str(f) in seen[0] and "upgrade mattebench" in seen[0]
    with pytest.warns(UserWarning, match="upgrade mattebench"):
        assert [x.name for x in load_summaries(runs)] == ["trimap-midpoint"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        md, _ = render_document(runs)  # the tables render from the readable record
    assert "trimap-midpoint@future" not in md


@pytest.mark.parametrize("edit,field", [
    (lambda d: d["counts"].update(ok="3"), "counts.ok"),
    (lambda d: d["means"].update(sad="x"), "means.sad"),
    (lambda d: d["provenance"].update(notes="one"), "provenance.notes"),
    (lambda d: d["settings"].update(limit=1.5), "settings.limit"),
    (lambda d: d["ci"].update(sad=[1.0]), "ci.sad"),
    (lambda d: d.update(method=""), "method"),
])
def test_malformed_record_is_refused_naming_the_field(edit, field):
    _, r = evaluate("trimap-midpoint", TinyDataset(n=2))
    d = json.loads(json.dumps(r.to_json()))
    edit(d)
    with pytest.raises(RecordError, match=field.replace(".", r"\.")):
        RunRecord.from_json(d)


# -- facts recorded at run time -----------------------------------------------------------------------
def _consecutive_crgnn(root: Path) -> None:
    """A CRGNN-R tree whose clips are annotated on three consecutive frames (MESSDdt is defined) and
    bring no optical flow."""
    rng = np.random.default_rng(0)
    for v in ("v01", "v02"):
        for f in range(1, 6):
            name = f"frame{f:05d}.png"
            save(root / "image_allframe" / v / name, rgb(rng, 9, 16))
            if f <= 3:
                a = soft_alpha(rng, 9, 16)
                save(root / "alpha" / v / name, a)
                save(root / "trimap" / v / name, np.where(a == 0, 0, np.where(a == 255, 255, 128)).astype(np.uint8))
                save(root / "image" / v / name, rgb(rng, 9, 16))


def test_flow_source_is_kept_by_worker_processes(tmp_path):
    """crgnn-r clips bring no flow: MESSDdt estimates one, and says so, also when workers scored the clips."""
    _consecutive_crgnn(tmp_path / "data")
    _, local = evaluate("trimap-midpoint", "crgnn-r", data_root=str(tmp_path / "data"))
    _, pooled = evaluate("trimap-midpoint", "crgnn-r", data_root=str(tmp_path / "data"), out=tmp_path / "runs",
                         executor=ProcessExecutor(jobs=2))
    assert pooled.provenance.executor == "process" and pooled.provenance.workers == 2
    for r in (local, pooled):
        assert r.means["messddt"] is not None
        assert r.provenance.flow_source == FLOW_ESTIMATED_SOURCE
        assert r.provenance.notes[0] == FLOW_ESTIMATED_SOURCE  # where the reports have always shown it
    assert RunRecord.from_json(_stored(pooled.run_dir)).provenance.flow_source == FLOW_ESTIMATED_SOURCE


def test_backbone_checkpoint_is_hashed_and_part_of_the_run_identity(tmp_path):
    from mattebench.errors import RunConflict

    ck = tmp_path / "backbone.bin"
    ck.write_bytes(b"sps weights v1")
    opts = {"backbone_checkpoint": str(ck), "teacher": str(tmp_path / "absent.bin")}
    # any method object: the runner hashes the options it is given, whatever the method does with them
    method = create_method("trimap-midpoint")
    _, r = evaluate(method, TinyDataset(n=2), out=tmp_path / "runs", method_name="sps-net", method_options=dict(opts))
    assert r.provenance.option_files == {"backbone_checkpoint": provenance.sha256_file(str(ck))}
    identity = json.loads((Path(r.run_dir) / "run.json").read_text())
    assert identity["option_files"] == r.provenance.option_files
    assert r.provenance.pretrained_backbone is True  # a backbone checkpoint was given: the † fact
    ck.write_bytes(b"sps weights v2")  # same path, other file: another run
    with pytest.raises(RunConflict, match="backbone_checkpoint"):
        evaluate(method, TinyDataset(n=2), out=tmp_path / "runs", method_name="sps-net", method_options=dict(opts))


def test_pretrained_backbone_from_the_tag_rule_and_from_nothing(tmp_path):
    _, plain = evaluate("trimap-midpoint", TinyDataset(n=2))
    _, tagged = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path, tag="sps")
    assert plain.provenance.pretrained_backbone is False and tagged.provenance.pretrained_backbone is True


def test_pretrained_backbone_from_the_methods_own_provenance():
    class FromSps:
        """A method whose weights start from a pretrained backbone, as it reports in its provenance."""

        def __init__(self):
            self.inner = create_method("trimap-midpoint")
            self.card = self.inner.card

        def predict(self, image, trimap=None):
            return self.inner.predict(image, trimap)

        def provenance(self):
            return {"pretrained_backbone": True, "backbone": "SPS MobileNetV2"}

    _, r = evaluate(FromSps(), TinyDataset(n=2), method_name="from-sps")
    assert r.provenance.pretrained_backbone is True and r.provenance.extra["backbone"] == "SPS MobileNetV2"
    assert RunRecord.from_json(r.to_json()) == r

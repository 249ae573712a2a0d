"""Nothing that is not a result is ranked (issue 20 §2, issue 21 §5).

- A method built without the trained weights its card names is refused before anything is built or written,
  unless --allow-untrained; such a run records ``untrained: true`` and is never ranked, compared or tabled.
- A run that never scored a sample is listed as "not run" with its reason, never as a ranked row with marks.
- A record its rows do not support (impossible counts or means, means the samples.csv contradicts) is unranked.
- A run of a checkpoint shipped with mattebench is named for it and never sits beside the paper's values.
- A missing checkpoint file is reported before a run folder's settings conflict.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest
from conftest import TinyDataset

import mattebench
from mattebench.commands.cli import main
from mattebench.errors import CheckpointError, RunConflict, UntrainedWeights
from mattebench.methods.options import declared_options
from mattebench.methods.registry import (
    list_methods,
    method_card,
    method_entry,
    unregister_method,
)
from mattebench.report.board import build_board
from mattebench.report.compare import NotComparable, compare_runs, resolve_run, standing
from mattebench.report.leaderboard import render_dataset
from mattebench.report.site import write_site
from mattebench.report.tables import render_document
from mattebench.runs.record import RunRecord
from mattebench.runs.runner import evaluate
from mattebench.runs.store import SUMMARY, run_dir
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP, MethodCard

NET = "nar-net"  # a cheap plug-in whose card says its weights come through checkpoint=
BUILT: list[dict[str, Any]] = []


class _Constant:
    def __init__(self, card: MethodCard, value: float):
        self.card = card
        self.value = value

    def predict(self, image: np.ndarray, trimap: Optional[np.ndarray] = None) -> np.ndarray:
        return np.full(image.shape[:2], self.value, dtype=np.float32)


@pytest.fixture
def net():
    """A registered method whose card names ``checkpoint`` as its weights option; it records every build."""
    card = MethodCard(NET, family=FAMILY_FREE, weights_option="checkpoint", paper="Net paper", url="https://example.org/net")

    def make(checkpoint: Optional[str] = None, value: float = 0.25) -> _Constant:
        BUILT.append({"checkpoint": checkpoint, "value": value})
        return _Constant(card, value)

    BUILT.clear()
    mattebench.register_method(NET, make, card=card)
    yield card
    unregister_method(NET)


# -- the cards say it ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list_methods())
def test_every_registered_method_declares_whether_it_needs_trained_weights(name):
    card = method_card(name)
    assert card.weights_option is not None, f"{name}: its card must say which option carries trained weights ('' for none)"
    if card.weights_option:
        accepted = declared_options(method_entry(name).factory)
        assert accepted is None or card.weights_option in accepted, (name, card.weights_option)
    if card.trainable:  # a network trained here or elsewhere: untrained without its weights
        assert card.weights_option, name


def test_a_card_that_does_not_say_is_trained_and_an_empty_option_is_untrained():
    assert not MethodCard("third-party").untrained_with({})
    card = MethodCard("x", weights_option="checkpoint")
    assert card.untrained_with({}) and card.untrained_with({"checkpoint": ""}) and card.untrained_with({"checkpoint": None})
    assert not card.untrained_with({"checkpoint": "w.ckpt"})


# -- untrained weights: refused before anything is built or written --------------------------------------
@pytest.mark.parametrize("name", [n for n in list_methods() if method_card(n).weights_option])
def test_every_deep_method_without_weights_is_refused_before_a_folder_or_a_model(name, tmp_path, monkeypatch):
    def no_build(*a: Any, **k: Any) -> Any:
        raise AssertionError("the method was built")

    monkeypatch.setattr("mattebench.runs.runner.create_method", no_build)
    out = tmp_path / "runs"
    with pytest.raises(UntrainedWeights) as e:
        evaluate(name, TinyDataset(n=2), out=out, method_options={"device": "cpu"})
    assert "--allow-untrained" in str(e.value) and "--checkpoint" in str(e.value)
    assert e.value.exit_code == 2
    assert not out.exists()


def test_the_cli_refuses_untrained_modnet_with_exit_2_and_says_where_weights_come_from(tmp_path, capsys):
    rc = main(["run", "--method", "modnet", "--dataset", "synthetic", "--limit", "1", "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "mattebench:modnet-synthetic" in err and "--checkpoint PATH" in err and "--allow-untrained" in err
    assert "CARD.md" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_allowed_untrained_run_is_recorded_listed_apart_and_never_compared_or_tabled(net, tmp_path):
    runs = tmp_path / "runs"
    ds = TinyDataset(n=3)
    with pytest.raises(UntrainedWeights):
        evaluate(NET, ds, out=runs)
    with pytest.raises(mattebench.errors.RegistryError, match="checkpont"):  # a misspelt option is named as such
        evaluate(NET, ds, out=runs, method_options={"checkpont": "w.ckpt"})
    assert not BUILT and not runs.exists()
    _, rec = evaluate(NET, ds, out=runs, allow_untrained=True)
    assert rec.untrained is True and BUILT  # built only when allowed
    stored = json.loads((Path(rec.run_dir) / SUMMARY).read_text())
    assert stored["untrained"] is True
    evaluate("trimap-midpoint", ds, out=runs)
    ck = tmp_path / "w.ckpt"
    ck.write_bytes(b"weights")
    evaluate(NET, ds, out=runs, tag="trained", method_options={"checkpoint": str(ck), "value": 0.9})

    records = mattebench.runs.store.load_summaries(runs)
    board = build_board("tiny", records)
    assert sorted(r.name for r in board.records) == [f"{NET}@trained", "trimap-midpoint"]
    assert [(a.record.name, a.kind) for a in board.apart] == [(NET, "untrained")]
    md = render_dataset("tiny", records)
    ranked, apart = md.split("## Not ranked")
    assert not re.search(rf"\| {NET}\s+\|", ranked) and re.search(rf"\| {NET}\s+\| untrained", apart)
    assert "0.0625" not in apart  # its mean (0.25 - 0)^2 ... shown nowhere as a number
    with pytest.raises(NotComparable, match="untrained"):
        compare_runs(resolve_run(str(run_dir(runs, "tiny", NET))), resolve_run(str(run_dir(runs, "tiny", NET, "trained"))))
    assert main(["compare", str(run_dir(runs, "tiny", NET)), str(run_dir(runs, "tiny", "trimap-midpoint"))]) == 2
    index = write_site(runs, tmp_path / "out")
    html = index.read_text()
    assert f'data-run="{NET}" data-status="untrained"' in html
    assert f'<tr data-method="{NET}" data-run="{NET}"' not in html
    doc, _ = render_document(runs, summaries=[{**r.to_json(), "dataset": "ppm100"} for r in records])
    tabled, left = doc.split("## Runs left out of these tables")
    assert f"ppm100/{NET}`" in left and "untrained" in left and f"`{NET}`" not in tabled


def test_a_record_without_the_key_reads_as_trained_and_round_trips_unchanged(tmp_path):
    _, rec = evaluate("trimap-midpoint", TinyDataset(n=2), out=tmp_path)
    d = rec.to_json()
    assert d["untrained"] is False
    old = {k: v for k, v in d.items() if k != "untrained"}
    back = RunRecord.from_json(old)
    assert back.untrained is None and not back.is_untrained and back.to_json() == old
    with pytest.raises(mattebench.runs.record.RecordError):
        RunRecord.from_json({**d, "untrained": "yes"})


# -- runs that never ran -------------------------------------------------------------------------------
class _Stops:
    """An executor whose workers cannot build the method: the run stops before a single row."""

    name = "stops"
    workers = 1

    def run(self, scorer: Any, spec: Any, ids: list[str]):
        raise RuntimeError("factory raised: weights file vanished")
        yield  # pragma: no cover


def test_a_run_that_stopped_before_a_sample_is_listed_not_run_with_its_reason(tmp_path):
    runs = tmp_path / "runs"
    ds = TinyDataset(n=3)
    evaluate("trimap-midpoint", ds, out=runs)
    with pytest.raises(RuntimeError):
        evaluate("trimap-midpoint", ds, out=runs, tag="official", executor=_Stops())
    records = mattebench.runs.store.load_summaries(runs)
    stopped = next(r for r in records if r.tag == "official")
    assert stopped.counts.pending == 3 and stopped.provenance.pretrained_backbone  # the † mark, by its tag
    st = standing(stopped)
    assert st.kind == "not run" and "weights file vanished" in st.reason
    md = render_dataset("tiny", records)
    ranked, apart = md.split("## Not ranked")
    assert "@official" not in ranked and "trimap-midpoint @official" in apart and "not run" in apart
    assert "†" not in apart and "0/3" in apart


def test_an_old_record_with_every_sample_pending_is_not_a_row(tmp_path):
    _, rec = evaluate("trimap-midpoint", TinyDataset(n=4), out=tmp_path)
    old = rec.to_json()
    old.pop("untrained")
    old.update(tag="official", means={k: None for k in old["means"]}, counts={"total": 41, "ok": 0, "error": 0, "pending": 41},
               n_dataset=41, complete=False, run_dir=None)
    board = build_board("tiny", [old, rec])
    assert [r.name for r in board.records] == ["trimap-midpoint"]
    assert [a.kind for a in board.apart] == ["not run"]
    doc, _ = render_document(tmp_path, summaries=[{**old, "dataset": "ppm100", "method": "modnet"}])
    assert "modnet@official" in doc.split("## Runs left out")[1]


def test_a_run_whose_every_sample_failed_is_not_ranked(tmp_path):
    _, rec = evaluate("trimap-midpoint", TinyDataset(n=2, bad={"s00": "corrupt", "s01": "corrupt"}), out=tmp_path)
    st = standing(rec)
    assert st.kind == "not run" and "cannot decode image" in st.reason
    assert not build_board("tiny", [rec]).records


# -- records their rows do not support ------------------------------------------------------------------
def _forge(src: RunRecord, runs: Path, name: str, edit) -> Path:
    d = copy.deepcopy(src.to_json())
    folder = run_dir(runs, "tiny", "trimap-midpoint", name)
    folder.mkdir(parents=True)
    (folder / "samples.csv").write_bytes((Path(src.run_dir) / "samples.csv").read_bytes())
    d.update(tag=name, run_dir=str(folder))
    edit(d)
    (folder / SUMMARY).write_text(json.dumps(d))
    return folder


FORGERIES = {
    "negative": lambda d: d["means"].update(mse_whole=-1.0),
    "huge": lambda d: d["means"].update(mse_whole=1e308),
    "infinite": lambda d: d["means"].update(sad=float("inf")),
    "plausible": lambda d: d["means"].update(mse_whole=1e-7),  # in range: only the rows say it is false
    "counts": lambda d: d.update(counts={"total": 6, "ok": 100, "error": 0, "pending": 0}),
    "sum": lambda d: d.update(counts={**d["counts"], "error": 2}),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_record_its_rows_contradict_is_unranked_everywhere(forgery, tmp_path):
    runs = tmp_path / "runs"
    _, real = evaluate("trimap-midpoint", TinyDataset(n=3), out=runs)
    forged = _forge(real, runs, forgery, FORGERIES[forgery])
    records = mattebench.runs.store.load_summaries(runs)
    rec = next(r for r in records if r.tag == forgery)
    st = standing(rec)
    assert st.kind == "unsupported" and st.reason
    board = build_board("tiny", records)
    assert [r.name for r in board.records] == ["trimap-midpoint"]
    md = render_dataset("tiny", records)
    ranked, apart = md.split("## Not ranked")
    assert f"@{forgery}" not in ranked and f"trimap-midpoint @{forgery}" in apart
    with pytest.raises(NotComparable, match="not supported|unsupported"):
        compare_runs(resolve_run(str(forged)), resolve_run(real.run_dir))
    html = write_site(runs, tmp_path / "out").read_text()
    assert f'data-run="trimap-midpoint@{forgery}" data-status="unsupported"' in html
    assert f'data-run="trimap-midpoint@{forgery}" data-family' not in html


def test_a_record_in_memory_is_checked_on_its_own():
    rec = evaluate("trimap-midpoint", TinyDataset(n=2))[1]
    assert standing(rec).ranked
    bad = rec.to_json()
    bad["means"]["mad_whole"] = 2.0
    assert standing(bad).kind == "unsupported"


# -- our weights are ours --------------------------------------------------------------------------------
def _shipped(rec: RunRecord, method: str, tag: Optional[str], family: str, dataset: str) -> dict[str, Any]:
    d = rec.to_json()
    d.update(method=method, tag=tag, dataset=dataset, run_dir=None)
    d["method_card"] = {**d["method_card"], "name": method, "family": family, "needs_trimap": family == FAMILY_TRIMAP,
                        "paper": "Ke et al., MODNet, AAAI 2022", "url": "https://github.com/ZHKKKe/MODNet"}
    d["settings"] = {**d["settings"], "method_options": {"checkpoint": f"mattebench:{method}-synthetic"}}
    d["provenance"] = {**d["provenance"], "checkpoint": f"mattebench:{method}-synthetic",
                       "checkpoint_shipped": {"name": f"mattebench:{method}-synthetic"}}
    return d


def test_a_shipped_checkpoint_is_named_links_to_its_card_and_never_sits_beside_the_paper(tmp_path):
    rec = evaluate("trimap-midpoint", TinyDataset(n=2))[1]
    free = _shipped(rec, "modnet", None, FAMILY_FREE, "tiny")
    md = render_dataset("tiny", [free])
    row = next(line for line in md.splitlines() if line.startswith("| 1 "))
    assert "modnet (mattebench:modnet-synthetic)" in row and "CARD.md" in row and "github.com/ZHKKKe" not in row
    # the site: named for its weights, and the paper's values are not shown beside it
    paper = {"tiny": {"modnet": {"mse_whole": "0.0044"}}}
    html = write_site(tmp_path, tmp_path / "site-out", summaries=[free], paper_values=paper).read_text()
    assert "(mattebench:modnet-synthetic)" in html and "paper 0.0044" not in html
    # the paper tables: a shipped MODNet (trimap) run never fills the paper's "MODNet (trimap)" row
    trimap = _shipped(rec, "modnet-trimap", "trimap", FAMILY_TRIMAP, "ppm100")
    doc, missing = render_document(tmp_path, summaries=[trimap])
    t1 = doc.split("## Table 1:")[1].split("## Table 2:")[0]
    paper_row = next(line for line in t1.splitlines() if line.startswith("| MODNet ") and "| yes " in line)
    assert "not run" in paper_row
    assert "modnet-trimap@trimap` (mattebench:modnet-trimap-synthetic)" in t1


# -- the real reason first ---------------------------------------------------------------------------------
def test_a_missing_checkpoint_is_reported_before_a_settings_conflict(net, tmp_path):
    ck = tmp_path / "w.ckpt"
    ck.write_bytes(b"weights")
    runs = tmp_path / "runs"
    evaluate(NET, TinyDataset(n=2), out=runs, method_options={"checkpoint": str(ck), "value": 0.5})
    gone = tmp_path / "moved" / "w.ckpt"
    with pytest.raises(CheckpointError) as e:
        evaluate(NET, TinyDataset(n=2), out=runs, method_options={"checkpoint": str(gone), "value": 0.7})
    assert str(gone) in str(e.value) and not isinstance(e.value, RunConflict)
    # and the settings conflict still speaks once the file is there
    with pytest.raises(RunConflict):
        evaluate(NET, TinyDataset(n=2), out=runs, method_options={"checkpoint": str(ck), "value": 0.7})


def test_evaluate_documents_allow_untrained():
    assert inspect.signature(evaluate).parameters["allow_untrained"].default is False


def test_the_comparison_figure_never_shows_an_untrained_networks_mattes(net, tmp_path):
    from mattebench.report.figures import collect_comparison

    runs = tmp_path / "runs"
    ds = TinyDataset(n=3)
    evaluate(NET, ds, out=runs, allow_untrained=True, save_alphas="all")
    evaluate("trimap-midpoint", ds, out=runs, save_alphas="all")
    comp = collect_comparison("tiny", mattebench.runs.store.load_summaries(runs), sample_ids=["s01"], dataset_obj=ds)
    assert [row[0].run for row in comp.panels] == ["trimap-midpoint"]


def test_the_cli_names_a_missing_checkpoint_not_the_settings_of_the_folder(tmp_path, capsys):
    out = str(tmp_path / "runs")
    base = ["run", "--method", "modnet", "--dataset", "synthetic", "--limit", "1", "--out", out, "--quiet", "-m", "ref_size=64"]
    assert main([*base, "--checkpoint", "mattebench:modnet-synthetic"]) == 0
    capsys.readouterr()
    missing = tmp_path / "elsewhere" / "modnet_photographic_portrait_matting.ckpt"
    rc = main([*base, "--checkpoint", str(missing), "--jobs", "2"])  # workers would build it: the folder speaks first today
    err = capsys.readouterr().err
    assert rc == 2 and str(missing) in err and "no such file" in err

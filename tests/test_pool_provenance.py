"""A run scored by local worker processes (`run --jobs N`) records the method's own provenance (for MODNet:
which input rule applied and where it came from), exactly as a serial run does: the driver builds no method
then, so the workers relay it."""

from __future__ import annotations

import json

from mattebench.commands.cli import main
from mattebench.methods import shipped

NAME = "mattebench:modnet-synthetic"


def _rule(tmp_path, tag, *extra):
    rc = main(["run", "--method", "modnet", "--dataset", "synthetic", "--checkpoint", NAME, "--limit", "2", "--jobs", "2",
               "--out", str(tmp_path), "--tag", tag, "--quiet", *extra])
    assert rc == 0
    summary = json.loads((tmp_path / "synthetic" / f"modnet@{tag}" / "summary.json").read_text())
    assert summary["provenance"]["executor"] == "process" and summary["provenance"]["workers"] == 2
    return summary["provenance"].get("input_rule")


def test_worker_processes_relay_the_input_rule_and_its_source(tmp_path):
    stored = shipped.lookup(NAME).input_rule
    assert _rule(tmp_path, "pool") == {**stored, "source": "checkpoint"}
    assert _rule(tmp_path, "pool96", "-m", "ref_size=96") == {"ref_size": 96, "multiple": stored["multiple"], "source": "option"}

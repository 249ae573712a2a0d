"""Issue 21 §5: a board shows every run it was given, and tells apart names that look alike."""

from __future__ import annotations

import copy
import json
import warnings

import pytest
from conftest import TinyDataset

from mattebench.report.board import build_board
from mattebench.report.leaderboard import render_dataset
from mattebench.report.site import write_site
from mattebench.runs.runner import evaluate
from mattebench.runs.store import SUMMARY
from mattebench.types import FAMILY_TRIMAP


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict:
    runs = tmp_path_factory.mktemp("runs")
    _, r = evaluate("trimap-midpoint", TinyDataset(n=3), out=runs)
    return json.loads(json.dumps(r.to_json()))


def _run(base: dict, method: str, family: str = FAMILY_TRIMAP, mse: float = 0.01) -> dict:
    s = copy.deepcopy(base)
    s["method"] = method
    s["method_card"] = {**s["method_card"], "name": method, "family": family}
    s["means"] = {**s["means"], "mse_whole": mse}
    s["run_dir"] = None  # a record made here, not the run folder's own (whose rows would contradict the new mean)
    return s


@pytest.mark.parametrize("family", ["experimental", "Trimap-based", "trimap-free ", "<b>x</b>"])
def test_a_run_of_an_unknown_family_is_shown_in_a_group_of_its_own(base, family, tmp_path):
    runs = [_run(base, "known"), _run(base, "stranger", family, mse=0.001)]
    board = build_board("tiny", runs)
    assert sorted(r.record.method for r in board.summary.rows) == ["known", "stranger"]
    md = render_dataset("tiny", runs)
    head = next(ln for ln in md.splitlines() if ln.startswith("## Other methods"))
    assert "<b>" not in md and (family.strip("<>/b") in head)
    # the leader of its own group, not of the trimap-based group it is not known to belong to
    trimap = md.split("## Trimap-based methods")[1].split("## ")[0]
    assert "stranger" not in trimap
    root = tmp_path / "runs"
    for s in runs:
        (root / "tiny" / s["method"]).mkdir(parents=True)
        (root / "tiny" / s["method"] / SUMMARY).write_text(json.dumps(s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_site(root, tmp_path / "site")
    index = (tmp_path / "site" / "site" / "index.html")
    index = index if index.exists() else tmp_path / "site" / "index.html"
    assert 'data-run="stranger"' in index.read_text()


# -- tables --plan: a user's path is one shell word -----------------------------------------------------
HOSTILE_RUNS_PATHS = ["runs; touch {m}", "$(touch {m})", "`touch {m}`", "it's \"q\" $HOME", "-rf x", "a b\\c*?[x]",
                      "é ü ${{IFS}}touch${{IFS}}{m}", "' ; touch {m} ; '"]


@pytest.mark.parametrize("template", HOSTILE_RUNS_PATHS)
def test_plan_names_a_hostile_runs_path_as_one_word(template, tmp_path):
    import shutil
    import subprocess

    from mattebench.tracks.paper_plan import build_plan

    marker = tmp_path / "INJECTED"
    runs = tmp_path / template.format(m=marker)
    plan = build_plan(runs, summaries=[])
    f = tmp_path / "plan.sh"
    f.write_text(plan)
    bash = shutil.which("bash")
    assert bash
    assert subprocess.run([bash, "-n", str(f)], capture_output=True).returncode == 0
    # every line naming the path is the one assignment; running the script's head runs no command of the path's
    lines = [ln for ln in plan.splitlines() if "touch" in ln or "HOME" in ln or "rf x" in ln]
    assert all(ln.startswith("MATTEBENCH_PLAN_RUNS=") for ln in lines), lines
    head = "\n".join(ln for ln in plan.splitlines() if ln.startswith(("MATTEBENCH_PLAN_RUNS=", "RUNS=")))
    out = subprocess.run([bash, "-c", head + '\nprintf %s "$RUNS"'], capture_output=True, cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    assert out.returncode == 0 and out.stdout.decode() == str(runs) and not marker.exists()


@pytest.mark.parametrize("bad", ["runs\ntouch /tmp/x", "runs\rx", "a\x1bb", "runs\u2028x", "x\x00"[:1] + "\x7f"])
def test_plan_refuses_a_runs_path_with_a_control_character(bad, tmp_path, capsys):
    from mattebench.commands.cli import main
    from mattebench.errors import UsageError
    from mattebench.tracks.paper_plan import build_plan

    with pytest.raises(UsageError, match="control character"):
        build_plan(tmp_path / bad, summaries=[])
    assert main(["tables", "--runs", str(tmp_path / bad), "--plan"]) == 2
    out = capsys.readouterr()
    assert "control character" in out.err and "Traceback" not in out.err and "touch" not in out.out


# -- look-alike names ---------------------------------------------------------------------------------
# Each spells a built-in so that a reader cannot tell the two rows apart.
LOOK_ALIKE_METHODS = [
    ("modnet", "MODNet"), ("modnet", "modnet\u200b"), ("modnet", "modn\u0435t"), ("modnet", "mod\u00adnet"),
    ("modnet", "\uff4d\uff4f\uff44\uff4e\uff45\uff54"), ("dim-free", "dim\u2010free"), ("dim-free", "dim\u2212free"),
    ("dim-free", "DIM\u2013Free"), ("knn", "\u212anN"), ("closed-form", "closed-f\u043erm"), ("lfm", "lf\u217f"),
    ("modnet", "\u2060modnet"), ("shm", "\u0455hm"), ("hatt", "h\u03b1tt"),
]


@pytest.mark.parametrize("builtin, twin", LOOK_ALIKE_METHODS)
def test_a_look_alike_of_a_built_in_method_is_refused_naming_both(builtin, twin):
    import mattebench
    from mattebench.errors import RegistryError
    from mattebench.methods.registry import (
        list_methods,
        method_entry,
        unregister_method,
    )
    from mattebench.names import escaped

    class Half:
        def predict(self, image, trimap=None):
            return image[..., 0] * 0

    try:
        with pytest.raises(RegistryError) as err:
            mattebench.register_method(twin, lambda: Half())
    finally:
        unregister_method(twin)
    text = str(err.value)
    assert escaped(twin) in text and (repr(builtin) in text or "invisible" in text or "mixes Latin" in text)
    assert twin not in list_methods() and method_entry(builtin).origin.startswith("entry point")


@pytest.mark.parametrize("first, second", [("my-net", "My-Net"), ("my-net", "my\u2011net"), ("my-net", "my-net\ufeff"),
                                           ("net\u00e9", "NET\u00c9"), ("\u0441\u043e\u0440\u0443", "copy")])
def test_a_look_alike_of_a_name_registered_in_code_is_refused(first, second):
    import mattebench
    from mattebench.errors import RegistryError
    from mattebench.methods.registry import (
        list_datasets,
        unregister_dataset,
        unregister_method,
    )

    mattebench.register_method(first, lambda: None)
    try:
        with pytest.raises(RegistryError, match="refused"):
            mattebench.register_method(second, lambda: None)
        with pytest.raises(RegistryError, match="refused"):  # datasets: the same rule
            mattebench.register_dataset(second.upper() if second.isascii() else second, lambda root=None: None)
            mattebench.register_dataset(first.upper() if first.isascii() else first + "\u200b", lambda root=None: None)
    finally:
        unregister_method(first)
        unregister_method(second)
        for n in list(list_datasets()):
            if n not in ("synthetic",) and n.casefold() in (first.casefold(), second.casefold(), first + "\u200b"):
                unregister_dataset(n)


def test_a_look_alike_dataset_of_a_built_in_is_refused():
    import mattebench
    from mattebench.errors import RegistryError

    for twin in ("PPM100", "ppm\uff11\uff10\uff10", "\u0440pm100", "synthetic\u200d", "D646", "Synthetic-Video"):
        with pytest.raises(RegistryError, match="refused"):
            mattebench.register_dataset(twin, lambda root=None: None)


def test_installed_look_alike_plug_ins_are_refused_and_the_built_in_kept(tmp_path):
    from _trust_kit import cli, install_plugin

    site = tmp_path / "site"
    src = "def make():\n    raise SystemExit('never built')\n"
    install_plugin(site, "lookalike", "1.0", src, {"MODNet": "make", "dim\u2010free": "make", "knn\u200b": "make",
                                                    "twin-a": "make", "Twin-A": "make"})
    out = cli(["list", "methods"], site)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    assert "looks like 'modnet'" in text and "looks like 'dim-free'" in text and "knn\\u200b" in text
    assert "invisible character U+200B" in text
    assert "'twin-a'" in text and "'Twin-A'" in text  # two plug-ins alike: neither wins
    listed = [ln.split()[0] for ln in out.stdout.splitlines() if ln.strip()]
    assert "modnet" in listed and "dim-free" in listed and "MODNet" not in listed and "twin-a" not in listed


@pytest.mark.parametrize("argv, needle", [
    (["--tag", "v\u200b1"], "invisible"), (["--tag", "\u0455ps"], "mixes Latin"), (["--tag", "a\u00adb"], "invisible"),
])
def test_a_tag_that_cannot_be_read_is_a_usage_error(argv, needle, tmp_path, capsys):
    from _trust_kit import folder_dataset

    from mattebench import errors as exitcodes
    from mattebench.commands import cli

    data = folder_dataset(tmp_path / "data", ["p0"])
    assert cli.main(["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data),
                     "--out", str(tmp_path / "r"), *argv]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert needle in err and "\\u" in err and "Traceback" not in err and not (tmp_path / "r" / "folder").exists()


@pytest.mark.parametrize("name", ["MODNet", "modnet\u200b", "modn\u0435t", "dim\u2013free", "Trimap-Midpoint"])
def test_a_saved_predictions_name_that_looks_like_a_method_is_refused(name, tmp_path, capsys):
    from _trust_kit import folder_dataset

    from mattebench import errors as exitcodes
    from mattebench.commands import cli

    data = folder_dataset(tmp_path / "data", ["p0"])
    assert cli.main(["run", "--quiet", "--predictions", str(data / "alpha"), "--name", name, "--dataset", "folder",
                     "--data-root", str(data), "--out", str(tmp_path / "r")]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert "--name" in err and "Traceback" not in err and not list((tmp_path / "r").rglob("samples.csv"))


def test_boards_tell_look_alike_names_apart(base, tmp_path):
    """Stored runs from elsewhere (an older version, an edited summary.json) may hold look-alike names: both rows
    are shown, with the invisible and non-ASCII characters written out."""
    runs = [_run(base, "modnet", mse=0.01), _run(base, "modnet\u200b", mse=0.001), _run(base, "modn\u0435t", mse=0.02),
            _run(base, "other", mse=0.03)]
    md = render_dataset("tiny", runs)
    ranked, _, breakdowns = md.partition("Where it fails")  # the ranked table; the unranked section names them too
    rows = [ln for ln in ranked.splitlines() if ln.startswith("| ") and "modn" in ln]
    assert len(rows) == 3
    assert not any("\u200b" in ln or "\u0435" in ln for ln in breakdowns.splitlines())
    assert any("modnet\\\\u200b" in r for r in rows) and any("modn\\\\u0435t" in r for r in rows)
    assert any("| modnet " in r.replace("  ", " ") or "| modnet (" in r for r in rows)
    assert not any("\u200b" in r or "\u0435" in r for r in rows)
    assert "| other" in md  # a name that looks like no other is shown as it is
    root = tmp_path / "runs"
    for i, s in enumerate(runs):
        (root / "tiny" / f"m{i}").mkdir(parents=True)
        (root / "tiny" / f"m{i}" / SUMMARY).write_text(json.dumps(s))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_site(root, tmp_path / "site")
    index = next((tmp_path / "site").rglob("index.html")).read_text()
    assert "modnet\\u200b</a>" in index and "modn\\u0435t</a>" in index


def test_notes_name_look_alike_runs_as_their_rows_do(base):
    runs = [_run(base, "modnet", mse=0.01), _run(base, "modnet\u200b", mse=0.001)]
    runs[1]["provenance"] = {**runs[1]["provenance"], "quantisation": "other"}  # not comparable: a note names both
    md = render_dataset("tiny", runs)
    notes = [ln for ln in md.splitlines() if ln.startswith("Note: ")]
    assert notes and any("modnet\\\\u200b" in n for n in notes) and not any("\u200b" in n for n in notes)

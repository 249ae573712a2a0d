"""Exit codes of `run` (0 / 3 / 1 / 2 / 130 / 70) and the CLI-wide rule: no traceback without --debug."""

from __future__ import annotations

import argparse
import signal

import pytest
from _trust_kit import cli as run_cli
from _trust_kit import folder_dataset, start_cli, trust_site, wait_for
from conftest import TinyDataset

import mattebench
from mattebench import errors as exitcodes
from mattebench.commands import cli
from mattebench.commands.run import exit_code
from mattebench.methods.registry import unregister_method
from mattebench.runs.runner import evaluate
from mattebench.types import MethodCard


# -- every subcommand: a forced internal error is one line and exit 70 ---------------------------
def _required_argv(sub: argparse.ArgumentParser) -> list[str]:
    """The shortest argv the subparser accepts (dummy values for required options/positionals)."""
    argv: list[str] = []

    def value(action):
        if action.choices:
            return str(sorted(action.choices)[0])
        return "1" if action.type in (int, float) else "x"

    for group in sub._mutually_exclusive_groups:
        if group.required:
            argv += [group._group_actions[0].option_strings[0], value(group._group_actions[0])]
    for action in sub._actions:
        if isinstance(action, argparse._SubParsersAction):
            name = sorted(action.choices)[0]
            return argv + [name] + _required_argv(action.choices[name])
        if action.option_strings and action.required:
            argv += [action.option_strings[0], value(action)]
        elif not action.option_strings and action.nargs not in ("?", "*") and action.dest != "help":
            argv += [value(action)]
    return argv


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("name", cli.COMMANDS)
def test_internal_error_is_one_line_exit_70_for_every_command(name, monkeypatch, capsys):
    subs = _subcommands()
    argv = [name] + _required_argv(subs[name])

    def boom(args):
        raise ZeroDivisionError("forced internal error")

    real = cli.build_parser

    def patched(*commands):  # main() builds only the command it runs
        parser = real(*commands)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for p in sub.choices.values():
            p.set_defaults(func=boom)
            for a in p._actions:  # nested subcommands (data check ...)
                if isinstance(a, argparse._SubParsersAction):
                    for q in a.choices.values():
                        q.set_defaults(func=boom)
        return parser

    monkeypatch.setattr(cli, "build_parser", patched)
    assert cli.main(argv) == exitcodes.INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "internal error" in lines[0] and "--debug" in lines[0] and "ZeroDivisionError" in lines[0]
    with pytest.raises(ZeroDivisionError):
        cli.main(["--debug", *argv])


def test_oserror_is_one_line_not_a_traceback(monkeypatch, capsys):
    real = cli.build_parser

    def patched(*commands):
        p = real(*commands)
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices["list"].set_defaults(func=lambda a: (_ for _ in ()).throw(PermissionError(13, "Permission denied", "/x/y")))
        return p

    monkeypatch.setattr(cli, "build_parser", patched)
    assert cli.main(["list"]) == exitcodes.IO_ERROR
    err = capsys.readouterr().err
    assert "Traceback" not in err and "/x/y" in err and len(err.strip().splitlines()) == 1


# -- run: each code ---------------------------------------------------------------------------------
@pytest.fixture
def data(tmp_path):
    return folder_dataset(tmp_path / "data", [f"p{i}" for i in range(4)])


def _run(*args: str) -> int:
    return cli.main(["run", "--quiet", *args])


def test_exit_0_only_when_every_sample_is_ok(tmp_path, data):
    assert _run("--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data), "--out", str(tmp_path / "r")) == 0


def test_exit_3_with_counts_when_samples_fail(tmp_path, data, capsys):
    site = trust_site(tmp_path)
    out = run_cli(["run", "--quiet", "--jobs", "1", "--method", "flaky-matte", "--dataset", "folder", "--data-root", str(data), "--out", str(tmp_path / "r")], site)
    assert out.returncode == 3, out.stderr
    assert "2 failed, 0 pending of 4" in out.stderr and "Traceback" not in out.stderr


def test_exit_3_when_samples_are_still_pending():
    class DropsOne:
        name, workers = "drops", 1

        def run(self, scorer, spec, ids):
            for i in ids[:-1]:
                yield scorer.score(i)

    _, summary = evaluate("trimap-midpoint", TinyDataset(n=3), executor=DropsOne())
    assert summary.counts.pending == 1 and summary.counts.error == 0
    assert exit_code(summary) == exitcodes.INCOMPLETE


def test_exit_1_when_fail_fast_stops(tmp_path, data):
    site = trust_site(tmp_path)
    out = run_cli(["run", "--quiet", "--fail-fast", "--method", "flaky-matte", "--dataset", "folder", "--data-root", str(data),
                   "--out", str(tmp_path / "r")], site)
    assert out.returncode == 1, out.stderr
    assert "--fail-fast" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--method", "no-such-method"], "unknown method"),
        (["--dataset", "no-such-set"], "unknown dataset"),
        (["-m", "bogus=1"], "does not take option"),
        (["--method", "knn", "-m", "bogus=1"], "laplacian_kwargs"),
        (["--method", "knn", "-m", "cg_kwargs=3"], "expected a JSON object"),
        (["--method", "modnet", "-m", "ref_size=abc"], "ref_size"),
        (["-d", "bogus=2"], "does not take option"),
        (["--limit", "0"], "--limit"),
        (["--limit", "-3"], "--limit"),
        (["--tag", "../../x"], "--tag"),
        (["--tag", "a/b"], "--tag"),
    ],
)
def test_exit_2_for_usage_errors_before_any_sample(tmp_path, data, capsys, extra, needle):
    args = {"--method": "trimap-midpoint", "--dataset": "folder"}
    rest = []
    it = iter(extra)
    for a in it:
        if a in args:
            args[a] = next(it)
        else:
            rest.append(a)
    argv = [x for kv in args.items() for x in kv] + ["--data-root", str(data), "--out", str(tmp_path / "r"), *rest]
    assert _run(*argv) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not list((tmp_path / "r").rglob("samples.csv")) or all(
        len(f.read_text().splitlines()) <= 1 for f in (tmp_path / "r").rglob("samples.csv"))


def test_exit_2_for_an_out_that_is_a_file_or_unwritable(tmp_path, data, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert _run("--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data), "--out", str(f)) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "r" / "folder").mkdir(parents=True)
    (tmp_path / "r" / "folder" / "trimap-midpoint").write_text("a file where the run folder goes")
    assert _run("--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data), "--out", str(tmp_path / "r")) == 2
    assert "not a folder" in capsys.readouterr().err


def test_exit_70_for_a_plugin_bug_without_traceback(tmp_path, data):
    site = trust_site(tmp_path)
    out = run_cli(["run", "--quiet", "--method", "buggy-matte", "--dataset", "folder", "--data-root", str(data), "--out", str(tmp_path / "r")], site)
    assert out.returncode == 70, out.stderr
    assert "Traceback" not in out.stderr and "--debug" in out.stderr and "plug-in bug" in out.stderr
    dbg = run_cli(["--debug", "run", "--quiet", "--method", "buggy-matte", "--dataset", "folder", "--data-root", str(data),
                   "--out", str(tmp_path / "r")], site)
    assert "Traceback" in dbg.stderr


def test_exit_130_on_sigint_keeps_rows(tmp_path):
    data = folder_dataset(tmp_path / "data", [f"p{i}" for i in range(30)])
    site = trust_site(tmp_path)
    out = tmp_path / "r"
    proc = start_cli(["run", "--quiet", "--method", "slow-matte", "-m", "delay=0.2", "--dataset", "folder", "--data-root", str(data),
                      "--out", str(out)], site)
    csv_path = out / "folder" / "slow-matte" / "samples.csv"
    wait_for(lambda: csv_path.exists() and len(csv_path.read_text().splitlines()) >= 3, what="two rows")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "resume" in err
    assert not (out / "folder" / "slow-matte" / ".lock").exists()


def test_in_process_registered_method_usage_error_is_exit_2(tmp_path, data, capsys):
    mattebench.register_method("trust-two-args", lambda *, scale=1.0: None, card=MethodCard("trust-two-args"))
    try:
        assert _run("--method", "trust-two-args", "-m", "scale=\"big\"", "--dataset", "folder", "--data-root", str(data),
                    "--out", str(tmp_path / "r")) == 2
        assert "scale" in capsys.readouterr().err
    finally:
        unregister_method("trust-two-args")

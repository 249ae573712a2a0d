"""Issue 21 §6: the low ones. An empty path, a number outside an option's range, a repeated option key are
usage errors (exit 2) before any sample; --jobs never starts more workers than CPUs; a --fail-fast stop never
says the run went on."""

from __future__ import annotations

import warnings
from typing import Annotated, Any

import pytest
from _trust_kit import folder_dataset

from mattebench import errors as exitcodes
from mattebench.commands import cli
from mattebench.commands._options import OptionError, parse_options
from mattebench.contract import method
from mattebench.methods.registry import (
    register_method,
    unregister_method,
    validate_method_options,
)
from mattebench.types import FAMILY_FREE, AtLeast, MethodCard


@pytest.fixture
def data(tmp_path):
    return folder_dataset(tmp_path / "data", [f"p{i}" for i in range(3)])


def _nothing_written(folder) -> bool:
    return not any(p.name in ("samples.csv", "summary.json") or p.suffix in (".md", ".html") for p in folder.rglob("*"))


# -- an empty path ----------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ["run", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", "{data}", "--out", ""],
    ["run", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", "{data}", "--out", "   "],
    ["run", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", "", "--out", "{tmp}/r"],
    ["leaderboard", "--runs", "{tmp}/r", "--out", ""],
    ["leaderboard", "--runs", "", "--out", "{tmp}/lb"],
    ["tables", "--runs", "{tmp}/r", "--out", ""],
    ["robustness", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", "{data}", "--out", ""],
])
def test_an_empty_path_is_a_usage_error_not_the_current_folder(argv, tmp_path, data, monkeypatch, capsys):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    argv = [a.format(data=data, tmp=tmp_path) for a in argv]
    assert cli.main(argv) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert "is empty" in err and "Traceback" not in err
    assert list(cwd.iterdir()) == [] and _nothing_written(tmp_path)


# -- a number outside an option's declared range ------------------------------------------------------
@pytest.mark.parametrize("method_name, option", [
    ("modnet", "ref_size=-1"), ("modnet", "ref_size=0"), ("modnet-easpp", "threads=0"), ("modnet-trimap", "lambda_s=-0.1"),
    ("dim", "ref_size=0"), ("dim-free", "ref_size=-512"), ("lfm", "ref_size=0"), ("shm", "ref_size=-3"),
    ("bshm", "ref_size=0"), ("hatt", "ref_size=0"), ("indexnet", "ref_size=0"), ("fdmpa", "size=0"),
    ("onnx", "threads=0"), ("onnx", "ref_size=-2"),
])
def test_an_option_below_its_declared_range_is_refused_before_any_sample(method_name, option, tmp_path, data, capsys):
    argv = ["run", "--quiet", "--method", method_name, "--dataset", "folder", "--data-root", str(data),
            "--out", str(tmp_path / "r"), "-m", option]
    assert cli.main(argv) == exitcodes.USAGE
    err = capsys.readouterr().err
    key = option.split("=")[0]
    assert "out of range" in err and f"{key} must be >=" in err and "Traceback" not in err
    assert _nothing_written(tmp_path / "r") if (tmp_path / "r").exists() else True


def test_a_plugin_declares_a_range_in_its_options_mapping():
    card = MethodCard("ranged-plugin", needs_trimap=False, family=FAMILY_FREE)

    @method(card, options={"radius": Annotated[int, AtLeast(1)], "sigma": Annotated[float, AtLeast(0, strict=True)]})
    def make(**options: Any):
        raise AssertionError("never built")

    register_method("ranged-plugin", make)
    # values in range, and null where null is the default, pass
    validate_method_options("modnet", {"ref_size": 1, "threads": 2, "lambda_s": 0, "lambda_d": 0.0})
    validate_method_options("modnet", {"ref_size": None})
    try:
        validate_method_options("ranged-plugin", {"radius": 1, "sigma": 0.5})
        for bad in ({"radius": 0}, {"radius": -7}, {"sigma": 0.0}, {"sigma": -1e-9}):
            with pytest.raises(Exception, match="out of range"):
                validate_method_options("ranged-plugin", bad)
    finally:
        unregister_method("ranged-plugin")


# -- a repeated -m / -d key ---------------------------------------------------------------------------
@pytest.mark.parametrize("pairs", [["corrupt=blur:1", "corrupt=noise:5"], ["a=1", "a=1"], ["ref-size=1", "ref_size=2"],
                                   ["x=1", "y=2", " x =3"]])
def test_a_repeated_option_key_is_refused_naming_it(pairs):
    with pytest.raises(OptionError) as err:
        parse_options(pairs)
    key = pairs[-1].split("=")[0].strip().replace("-", "_")
    assert repr(key) in str(err.value) and "twice" in str(err.value)


def test_a_repeated_dataset_option_on_the_command_line_is_exit_2(tmp_path, data, capsys):
    argv = ["run", "--quiet", "--method", "trimap-midpoint", "--dataset", "folder", "--data-root", str(data),
            "--out", str(tmp_path / "r"), "-d", "corrupt=gaussian-noise:1", "-d", "corrupt=gaussian-noise:5"]
    assert cli.main(argv) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert "'corrupt'" in err and "twice" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists() or _nothing_written(tmp_path / "r")


# -- --jobs beyond the CPUs ---------------------------------------------------------------------------
@pytest.mark.parametrize("jobs", [3, 100000])
def test_jobs_beyond_the_cpus_is_capped_with_a_warning(jobs, monkeypatch):
    import process_plugins  # noqa: F401 - registers pool-misbehaving (importable by workers)

    from mattebench.methods.registry import method_card
    from mattebench.runs.executors import process

    monkeypatch.setattr(process, "cpu_count", lambda: 2)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    with pytest.warns(UserWarning, match=f"--jobs {jobs} is more than the 2 CPUs"):
        ex = process.pool_for("pool-misbehaving", method_card("pool-misbehaving"), "cpu", jobs, None)
    assert ex is not None and ex.jobs == 2
    monkeypatch.setattr(process, "cpu_count", lambda: jobs)  # as many CPUs as jobs: kept, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ex = process.pool_for("pool-misbehaving", method_card("pool-misbehaving"), "cpu", min(jobs, 3), None)
    assert ex is not None and ex.jobs == min(jobs, 3)




# -- --fail-fast never says the run went on -----------------------------------------------------------
def test_fail_fast_on_a_dead_worker_does_not_say_the_run_went_on(tmp_path):
    import process_plugins  # noqa: F401

    from mattebench.runs.executors.process import ProcessExecutor
    from mattebench.runs.runner import SampleFailed, evaluate

    with pytest.raises(SampleFailed) as err:
        evaluate("pool-misbehaving", "pool-tiny", method_options={"exit_on": ["s00"]}, dataset_options={"n": 2},
                 out=tmp_path / "runs", executor=ProcessExecutor(jobs=1), fail_fast=True)
    text = str(err.value)
    assert "worker died" in text and "went on" not in text and "goes on" not in text

"""Output goes only where it should, tested as an attacker would: links planted where mattebench writes
(the site, the leaderboards, the run folder, its lock), a forged site manifest, a second run that deletes
the lock of a live one, a `kill -9` in the middle of `leaderboard --html`, a full disk, a user's own page.

Each attack checks the files it aimed at (outside ``--out``) byte for byte after the command, and the
command's message (names the path, no traceback)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _trust_kit import (
    REPO,
    cli,
    env_with,
    folder_dataset,
    start_cli,
    trust_site,
    wait_for,
)
from conftest import TinyDataset

from mattebench.commands.cli import main
from mattebench.errors import RunLocked
from mattebench.files import LinkRefused, atomic_write_text, safe_folder
from mattebench.report.site import write_site
from mattebench.report.site_build import (
    BUILD_PREFIX,
    FORMAT,
    MANIFEST,
    OLD_PREFIX,
    previous_names,
    valid_entry,
)
from mattebench.runs.lock import LOCK_NAME
from mattebench.runs.runner import evaluate
from mattebench.runs.store import read_rows


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    evaluate("trimap-midpoint", TinyDataset(n=3), out=root)
    evaluate("trimap-midpoint", TinyDataset(n=3), out=root, tag="second")
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (links not followed) with its bytes: what an attack must leave unchanged."""
    out = {}
    for top, dirs, files in os.walk(root):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(top, d))]:
            p = Path(top) / name
            out[str(p.relative_to(root))] = os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
    return out


def _victims(tmp_path: Path) -> Path:
    """A folder outside --out, with a file and a manifest that names it (as a hostile site folder would)."""
    outside = tmp_path / "outside"
    (outside / "runs").mkdir(parents=True)
    (outside / "index.html").write_text("the victim's page")
    (outside / "victim.txt").write_text("keep me")
    (outside / "runs" / "deep.txt").write_text("keep me too")
    (outside / MANIFEST).write_text(json.dumps({"format": FORMAT, "files": ["victim.txt", "runs/deep.txt", "index.html"]}))
    return outside


def _leaderboard(runs: Path, out: Path, *extra: str) -> int:
    return main(["leaderboard", "--runs", str(runs), "--out", str(out), "--html", *extra])


# -- links planted where the site goes ---------------------------------------------------------------------------
@pytest.mark.parametrize("planted", ["site", "site/runs", "site/methods", "site/figures", "site/index.html"])
def test_a_link_where_the_site_writes_is_refused_and_nothing_outside_changes(runs, tmp_path, capsys, planted):
    outside = _victims(tmp_path)
    out = tmp_path / "out"
    (out / "site").mkdir(parents=True)
    figs = tmp_path / "figs"  # so that the build writes site/figures too
    figs.mkdir()
    (figs / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    if planted != "site":  # a real site, one of its folders (or its page) a link to the victim's
        assert _leaderboard(runs, out, "--figures", str(figs)) == 0
        target = outside / "index.html" if planted.endswith(".html") else outside
        (out / planted).unlink() if (out / planted).is_file() else shutil.rmtree(out / planted)
        (out / planted).symlink_to(target)
    else:
        (out / "site").rmdir()
        (out / "site").symlink_to(outside, target_is_directory=True)
    before = _snapshot(outside)
    code = _leaderboard(runs, out, "--figures", str(figs))
    err = capsys.readouterr().err
    assert _snapshot(outside) == before  # nothing written, truncated or deleted through the link
    assert code == 2 and str(out / planted) in err and "Traceback" not in err
    assert os.path.islink(out / planted)  # refused, left as the user will find it
    assert not [p for p in out.iterdir() if p.name.startswith((BUILD_PREFIX, OLD_PREFIX))]


def test_forged_manifest_never_names_anything_outside_its_folder(runs, tmp_path):
    outside = _victims(tmp_path)
    out = tmp_path / "out"
    assert _leaderboard(runs, out) == 0
    site = out / "site"
    (site / "linked").symlink_to(outside, target_is_directory=True)
    (site / "evil.html").symlink_to(outside / "victim.txt")
    os.mkfifo(site / "fifo.html")
    forged = ["../../outside/victim.txt", str(outside / "victim.txt"), "/etc/hostname", "..", ".", "",
              "runs/../../../outside/victim.txt", "linked/victim.txt", "linked/runs/deep.txt", "evil.html",
              "fifo.html", "runs\\..\\..\\x", "runs//x", "./index.html", 7, None, {"a": 1}]
    ours = json.loads((site / MANIFEST).read_text())["files"]
    (site / MANIFEST).write_text(json.dumps({"format": FORMAT, "files": forged + ours}))
    assert previous_names(site) == set(ours)  # only entries that name a regular file inside, no link on the way
    before = _snapshot(outside)
    assert _leaderboard(runs, out) == 0
    assert _snapshot(outside) == before
    assert os.path.islink(site / "evil.html") and os.path.islink(site / "linked")  # the user's links are kept, as links
    assert valid_entry(site, "runs/../index.html") is None and valid_entry(site, "index.html") == "index.html"


# -- the site replaces the old one only when complete ---------------------------------------------------------------
_SLOW_BUILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    import mattebench.report.site as site

    real = site.render_run_page
    calls = []

    def slow(*a, **k):  # the second page: the build is half done when the parent kills it
        calls.append(1)
        if len(calls) == 2:
            Path(sys.argv[1]).write_text("building")
            time.sleep(120)
        return real(*a, **k)

    site.render_run_page = slow
    from mattebench.commands.cli import main
    sys.exit(main(["leaderboard", "--runs", sys.argv[2], "--out", sys.argv[3], "--html"]))
""")


def _local_targets(site: Path) -> list[tuple[Path, Path]]:
    """(page, file it links to) for every relative href/src of every page of the site."""
    found = []
    for page in site.rglob("*.html"):
        for ref in re.findall(r'(?:href|src)="([^"#?]+)', page.read_text(encoding="utf-8")):
            if not re.match(r"^[a-z][a-z0-9+.-]*:|^//", ref):
                found.append((page, (page.parent / ref)))
    return found


def test_kill_9_in_the_middle_of_a_build_leaves_the_old_site_whole(runs, tmp_path):
    out = tmp_path / "out"
    assert _leaderboard(runs, out) == 0
    site = out / "site"
    (site / "CNAME").write_text("bench.example.org")  # the user's own file
    old = _snapshot(site)
    links = _local_targets(site)
    assert links and all(t.exists() for _, t in links)
    more = tmp_path / "more"
    shutil.copytree(runs, more)
    evaluate("trimap-midpoint", TinyDataset(n=3), out=more, tag="third")
    flag = tmp_path / "flag"
    child = subprocess.Popen([sys.executable, "-c", _SLOW_BUILD, str(flag), str(more), str(out)], env=env_with(None),
                             cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(flag.exists, what="the build to be half done")
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
    assert _snapshot(site) == old  # not one file of the old site removed or changed
    assert all(t.exists() for _, t in links)
    assert [p.name for p in out.iterdir() if p.name.startswith(BUILD_PREFIX)]  # what the killed build left
    assert _leaderboard(more, out) == 0  # the next build cleans it and replaces the site
    assert not [p for p in out.iterdir() if p.name.startswith((BUILD_PREFIX, OLD_PREFIX))]
    assert "trimap-midpoint@third" in (site / "index.html").read_text() and (site / "CNAME").read_text() == "bench.example.org"
    assert all(t.exists() for _, t in _local_targets(site))


def test_a_site_left_aside_by_a_killed_swap_is_moved_back(runs, tmp_path):
    out = tmp_path / "out"
    assert _leaderboard(runs, out) == 0
    (out / "site" / "CNAME").write_text("bench.example.org")
    aside = out / (OLD_PREFIX + "x")
    aside.mkdir()
    (out / "site").rename(aside / "site")  # where a swap by two renames leaves it when killed between them
    write_site(runs, out)  # the next build moves it back first: the user's file survives
    assert (out / "site" / "index.html").is_file() and (out / "site" / "CNAME").read_text() == "bench.example.org"
    assert not aside.exists()


def test_without_an_atomic_exchange_the_swap_by_two_renames_leaves_nothing_behind(runs, tmp_path, monkeypatch):
    import mattebench.report.site_build as site_build

    monkeypatch.setattr(site_build, "_exchange", lambda a, b: False)  # a kernel or system without renameat2
    out = tmp_path / "out"
    write_site(runs, out)
    (out / "site" / "CNAME").write_text("bench.example.org")
    write_site(runs, out, summaries=[])
    assert (out / "site" / "index.html").is_file() and (out / "site" / "CNAME").read_text() == "bench.example.org"
    assert not list((out / "site").glob("runs/*/*.html"))  # the new site, not the old one
    assert sorted(p.name for p in out.iterdir()) == ["site"]


# -- the user's own files ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mine", ["index.html", "methods/trimap-midpoint.html", "figures"])
def test_a_users_own_file_with_a_name_the_build_writes_is_refused_not_overwritten(runs, tmp_path, capsys, mine):
    out = tmp_path / "out"
    site = out / "site"
    (site / mine).parent.mkdir(parents=True, exist_ok=True)
    (site / mine).write_text("<p>my own page</p>")
    figs = tmp_path / "figs"
    figs.mkdir()
    (figs / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    code = _leaderboard(runs, out, "--figures", str(figs)) if mine == "figures" else _leaderboard(runs, out)
    err = capsys.readouterr().err
    assert (site / mine).read_text() == "<p>my own page</p>"
    assert code == 2 and str(site / mine) in err and MANIFEST in err and "Traceback" not in err
    assert not [p for p in out.iterdir() if p.name.startswith((BUILD_PREFIX, OLD_PREFIX))]


# -- a full disk ---------------------------------------------------------------------------------------------------
_FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    from mattebench.commands.cli import main
    sys.exit(main(["leaderboard", "--runs", sys.argv[1], "--out", sys.argv[2], "--html"]))
""")


def test_a_full_disk_during_html_names_the_path_and_leaves_no_temporary(runs, tmp_path):
    out = tmp_path / "out"
    assert _leaderboard(runs, out) == 0
    site = out / "site"
    old = _snapshot(site)
    md_size = max(p.stat().st_size for p in out.glob("*.md"))
    limit = md_size + 1024  # the markdown fits, the site's page (styles and scripts inlined) does not
    assert (site / "index.html").stat().st_size > limit
    proc = subprocess.run([sys.executable, "-c", _FULL_DISK, str(runs), str(out), str(limit)], env=env_with(None),
                          cwd=REPO, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 74, proc.stderr
    assert "Traceback" not in proc.stderr and str(out) in proc.stderr and ("space" in proc.stderr or "large" in proc.stderr)
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp") or p.name.startswith((BUILD_PREFIX, OLD_PREFIX))]
    assert not leftovers
    assert _snapshot(site) == old


# -- leaderboards: a refused link is said, never "no runs" ----------------------------------------------------------
def test_a_refused_link_is_named_not_called_no_runs(runs, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.md"
    victim.write_text("keep")
    (out / "tiny.md").symlink_to(victim)
    code = main(["leaderboard", "--runs", str(runs), "--out", str(out)])
    cap = capsys.readouterr()
    assert code == 1 and victim.read_text() == "keep"
    assert "no runs found" not in cap.out and "refused" in cap.out and str(out / "tiny.md") in cap.err


# -- the run folder and its lock ------------------------------------------------------------------------------------
@pytest.mark.parametrize("planted", [LOCK_NAME, "samples.csv", "summary.json", "run.json", "<dataset>", "<run>"])
def test_a_link_planted_in_a_run_folder_is_never_written_through(tmp_path, planted):
    out, victim_dir = tmp_path / "out", tmp_path / "victims"
    victim_dir.mkdir()
    victim = victim_dir / "victim.txt"
    # empty where the store would read it as rows (it would stop at the rows); else the file a lock would truncate
    victim.write_text("" if planted == "samples.csv" else "id,status\nnot,yours\n")
    run = out / "tiny" / "trimap-midpoint"
    if planted.startswith("<"):
        link = out / "tiny" if planted == "<dataset>" else run
        link.parent.mkdir(parents=True)
        link.symlink_to(victim_dir, target_is_directory=True)
    else:
        run.mkdir(parents=True)
        link = run / planted
        link.symlink_to(victim)
    before = _snapshot(victim_dir)
    with pytest.raises(LinkRefused, match=re.escape(str(link))):
        evaluate("trimap-midpoint", TinyDataset(n=2), out=out)
    assert _snapshot(victim_dir) == before and link.is_symlink()


def test_safe_folder_refuses_every_link_below_the_root_and_accepts_the_roots_own(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "given").symlink_to(real, target_is_directory=True)  # --out itself: the user named it
    assert safe_folder(tmp_path / "given", "a/b") == tmp_path / "given" / "a" / "b" and (real / "a" / "b").is_dir()
    (real / "a" / "c").symlink_to(tmp_path, target_is_directory=True)
    with pytest.raises(LinkRefused, match="a/c"):
        safe_folder(tmp_path / "given", "a/c/d")
    with pytest.raises(LinkRefused, match="a/c"):
        atomic_write_text(tmp_path / "given" / "a" / "c" / "x.txt", "x", root=tmp_path / "given")
    assert not (tmp_path / "d").exists() and not (tmp_path / "x.txt").exists()


def _args(data: Path, out: Path) -> list[str]:
    return ["run", "--quiet", "--method", "slow-matte", "--dataset", "folder", "--data-root", str(data), "--out", str(out)]


@pytest.mark.parametrize("replace_with", ["nothing", "a dead holder"])
def test_deleting_the_lock_of_a_live_run_lets_no_second_writer_in(tmp_path, replace_with):
    data = folder_dataset(tmp_path / "data", [f"p{i:02d}" for i in range(30)])
    plugins = trust_site(tmp_path)
    out = tmp_path / "r"
    run = out / "folder" / "slow-matte"
    first = start_cli(_args(data, out), plugins, TRUST_DELAY="1")
    try:
        wait_for(lambda: len(read_rows(run / "samples.csv")) >= 1, what="first rows")
        (run / LOCK_NAME).unlink()  # another process removes the lock while the first run holds the folder
        if replace_with == "a dead holder":
            (run / LOCK_NAME).write_text(json.dumps({"pid": 2 ** 22 + 7, "host": os.uname().nodename, "started": "x",
                                                      "command": "dead"}))
        second = cli(_args(data, out), plugins, TRUST_DELAY="0")
        assert first.poll() is None
        assert second.returncode == 2, second.stderr
        assert "in use" in second.stderr and "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    rows = read_rows(run / "samples.csv")
    assert len(rows) == len({r["id"] for r in rows})  # one writer: every id once


def test_the_lock_is_on_the_folder_so_an_in_process_second_holder_is_refused_after_deletion(tmp_path):
    from mattebench.runs.lock import RunLock

    with RunLock(tmp_path, "first"):
        (tmp_path / LOCK_NAME).unlink()
        with pytest.raises(RunLocked, match="in use"):
            RunLock(tmp_path, "second").acquire()

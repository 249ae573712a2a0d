"""Compare two renderings of the same runs: markdown byte for byte, HTML up to whitespace.

Used to check that a restructuring of the report (one board model, HTML from templates) changes no
content: render the same runs folders with the code before and after, then

    python tests/report_equivalence.py render OUT RUNS [RUNS ...]   # with the code under test on the path
    python tests/report_equivalence.py compare BEFORE AFTER

``render`` writes ``OUT/<i>/`` for the i-th runs folder as ``mattebench leaderboard --html`` does
(markdown, site, with the paper values of the tables module). ``compare`` exits 1 and names every file
that differs. :func:`normalise_html` is also used by tests that compare HTML pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

_BETWEEN_TAGS = re.compile(r">\s+<")
_SPACE = re.compile(r"\s+")


def normalise_html(text: str) -> str:
    """HTML with whitespace between tags removed and every other run of whitespace made one space."""
    return _SPACE.sub(" ", _BETWEEN_TAGS.sub("><", text)).strip()


def differences(before: Path, after: Path) -> list[str]:
    """The files that differ between two rendered trees (``.md``/``.json`` exactly, ``.html`` up to whitespace)."""
    out = []
    names = {p.relative_to(before) for p in before.rglob("*") if p.is_file()}
    names |= {p.relative_to(after) for p in after.rglob("*") if p.is_file()}
    for rel in sorted(names):
        a, b = before / rel, after / rel
        if not a.is_file() or not b.is_file():
            out.append(f"{rel}: only in {'after' if b.is_file() else 'before'}")
            continue
        if rel.suffix == ".html":
            same = normalise_html(a.read_text(encoding="utf-8")) == normalise_html(b.read_text(encoding="utf-8"))
        else:
            same = a.read_bytes() == b.read_bytes()
        if not same:
            out.append(f"{rel}: differs")
    return out


def render(out: Path, runs_folders: list[Path]) -> None:
    from mattebench.report.leaderboard import write_leaderboards
    from mattebench.report.published import load_published
    from mattebench.report.site import paper_values_from_tables, write_site

    for i, runs in enumerate(runs_folders):
        target = out / str(i)
        summaries = load_published(runs)
        write_leaderboards(runs, target, summaries=summaries)
        write_site(runs, target, paper_values=paper_values_from_tables(), summaries=summaries)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "render":
        render(Path(argv[1]), [Path(a) for a in argv[2:]])
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        diff = differences(Path(argv[1]), Path(argv[2]))
        print("\n".join(diff) if diff else "same")
        return 1 if diff else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

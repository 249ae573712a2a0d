"""The parts of mattebench and what each may import: the one table behind ``docs/architecture.md``.

Data flows one way, dataset -> method -> scorer -> run -> report; each step is one folder of the package
and one part here (one glob), and a part may import the parts *upstream* of it and the shared vocabulary
(the modules directly under ``mattebench/``), never one downstream. The table is data
only (this module imports nothing): ``tests/test_import_rules.py`` parses every module of ``mattebench/``
and ``baselines/`` with :mod:`ast` (lazy imports inside functions count too) and checks each import
against it, and checks that ``docs/architecture.md`` carries :func:`markdown_table` unchanged.

Each module belongs to the part whose pattern matches it most specifically (``mattebench.report.*``
before ``mattebench.*``); a module that matches no pattern fails the test, so a new module is placed
on purpose. ``KNOWN_EXCEPTIONS`` lists imports that break a rule today and who removes them; an entry
that no longer occurs fails the test too, so the list only shrinks.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Optional


@dataclass(frozen=True)
class Part:
    name: str
    what: str
    modules: tuple[str, ...]  # fnmatch patterns over dotted module names
    may_import: tuple[str, ...]  # other parts (a part may always import itself)
    never_external: tuple[str, ...] = ()  # third-party top-level packages it must not import


PARTS: tuple[Part, ...] = (
    # The shared vocabulary: the modules directly under mattebench/ (no folder).
    Part("vocabulary", "what every step shares: Sample/Clip and cards, the method contract a plug-in implements, "
         "every error with its exit code, names, file hashing and safe writes, the code's environment, these rules",
         ("mattebench.types", "mattebench.contract", "mattebench.errors", "mattebench.names", "mattebench.files",
          "mattebench.environment", "mattebench.architecture_rules"), ()),
    # One part per folder, in the order the data flows.
    Part("metrics", "the metrics: readable definitions, the fast versions, toolkit conventions, statistics",
         ("mattebench.metrics*",), ("vocabulary",), ("torch",)),
    Part("data", "step 1: datasets, image and matte I/O, trimaps, variants (corruptions), frames",
         ("mattebench.data*",), ("vocabulary",), ("torch",)),
    Part("methods", "step 2: the registry, the method host, options, shipped checkpoints, OFD, training; the baselines",
         ("mattebench.methods*", "mattebench.weights*", "baselines*", "mattebench_baselines*"),
         ("vocabulary", "metrics", "data")),
    Part("scoring", "step 3: one prediction against one ground truth (gating, metrics); toolkit conventions per file",
         ("mattebench.scoring*",), ("vocabulary", "metrics", "data", "methods")),
    Part("record", "the typed run record (RunRecord, Provenance): what passes from a run to the report",
         ("mattebench.runs.record",), ("vocabulary", "data")),
    Part("runs", "step 4: the run folder (rows, identity, lock, stored alphas) and the runner with its executors",
         ("mattebench.runs*",), ("vocabulary", "metrics", "data", "methods", "scoring", "record")),
    Part("report", "step 5: leaderboards, site, paper tables, figures, comparisons: reads stored runs only",
         ("mattebench.report*",), ("vocabulary", "metrics", "data", "record", "runs"), ("torch",)),
    Part("tracks", "jobs that combine the steps end to end: bench, export, robustness, predict, the paper plan",
         ("mattebench.tracks*",), ("vocabulary", "metrics", "data", "methods", "scoring", "record", "runs", "report")),
    Part("commands", "the command line: each command parses, calls one function of a step or track, prints",
         ("mattebench.commands*", "mattebench.__main__"),
         ("vocabulary", "metrics", "data", "methods", "scoring", "record", "runs", "report", "tracks", "api")),
    Part("api", "the package root: the public names, loaded on first use, for ``from mattebench import ...``",
         ("mattebench",), ("vocabulary", "metrics", "methods", "runs")),
    Part("benchmarks", "the speed and scale benchmarks (scripts beside the package)",
         ("benchmarks*",), ("vocabulary", "metrics", "data", "methods", "scoring", "record", "runs", "report",
                            "tracks")),
)

# Rules stated module by module on top of the part table (the issue names them): (importer pattern,
# imported pattern, why). Checked on the imported module's dotted name.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("mattebench.report*", "mattebench.methods*", "the report never looks up or builds a method"),
    ("mattebench.report*", "mattebench.scoring*", "the report never scores: it reads stored rows"),
    ("mattebench.report*", "mattebench.runs.runner", "the report never runs a method"),
    ("mattebench.report*", "mattebench.runs.executors*", "the report never runs a method"),
    ("mattebench.report*", "baselines*", "the report never builds a method"),
    ("mattebench.report*", "mattebench_baselines*", "the report never builds a method"),
    ("mattebench.report*", "mattebench.commands*", "the report never calls the command line"),
    ("mattebench.data*", "mattebench.methods.registry", "a dataset does not know the registry of methods"),
    ("mattebench.runs.store", "mattebench.runs.runner", "the store keeps rows; it never runs anything"),
    ("mattebench.runs.record", "mattebench.runs.runner", "the record is data; it never runs anything"),
    ("baselines*", "mattebench.report*", "a method does not know the report"),
    ("baselines*", "mattebench.runs*", "a method does not know the run it is part of"),
)
# Only the command line imports the command line.
COMMANDS_ONLY_FROM: tuple[str, ...] = ("mattebench.commands*", "mattebench.__main__")

# Imports that break a rule today: (importer, imported, who removes it). Removed by the integrator when
# the branch named here is merged; an entry that no longer occurs fails the test.
KNOWN_EXCEPTIONS: tuple[tuple[str, str, str], ...] = ()  # none today: every import follows the rules


def part_of(module: str) -> Optional[Part]:
    """The part of a dotted module name: the most specific matching pattern wins (None: unplaced)."""
    best: Optional[tuple[int, Part]] = None
    for part in PARTS:
        for pattern in part.modules:
            if fnmatchcase(module, pattern):
                score = len(pattern.rstrip("*"))
                if best is None or score > best[0]:
                    best = (score, part)
    return best[1] if best else None


def markdown_table() -> str:
    """The table of ``docs/architecture.md`` (the import test compares it with the file)."""
    lines = ["| Part | What it holds | Modules | May import (besides itself) |", "|---|---|---|---|"]
    for p in PARTS:
        mods = ", ".join(f"`{m}`" for m in p.modules)
        allowed = ", ".join(p.may_import) if p.may_import else "nothing of the project"
        if p.never_external:
            allowed += "; never " + ", ".join(f"`{x}`" for x in p.never_external)
        lines.append(f"| {p.name} | {p.what} | {mods} | {allowed} |")
    lines += ["", "Rules on top of the table:", ""]
    for importer, imported, why in FORBIDDEN:
        lines.append(f"- `{importer}` never imports `{imported}`: {why}.")
    lines.append("- only " + ", ".join(f"`{m}`" for m in COMMANDS_ONLY_FROM) + " import `mattebench.commands`.")
    return "\n".join(lines)

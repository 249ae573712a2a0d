"""The parts of mattebench and what each may import: the one table behind ``docs/architecture.md``.

Data flows one way, dataset -> method -> scorer -> store -> report; a part may import the parts
*upstream* of it and the shared vocabulary (types and errors), never one downstream. The table is data
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
    Part("types", "shared vocabulary: cards, Sample/Clip, protocols, typed errors, exit codes",
         ("mattebench.types", "mattebench.contract", "mattebench.hashing", "mattebench.input_files", "mattebench.errors", "mattebench.exitcodes", "mattebench.architecture_rules", "mattebench.guides",
          "mattebench.names",
          "mattebench.safe_write",
          "mattebench.__version__"), ()),
    Part("metrics", "pure metric functions and the toolkit conventions they are compared with; statistics",
         ("mattebench.metrics", "mattebench.conventions", "mattebench.conventions.*", "mattebench.stats"), ("types",)),
    Part("data", "datasets, image and matte I/O, trimaps, variants (corruptions), video frames",
         ("mattebench.data", "mattebench.data.*", "mattebench.io", "mattebench.image_header", "mattebench.prediction_io", "mattebench.sample_notes", "mattebench.sample_inputs",
          "mattebench.compositing",
          "mattebench.video", "mattebench.video.*"), ("types",), ("torch",)),
    Part("methods", "the method contract and registry, baselines, training, checkpoints, bench engine",
         ("mattebench.registry", "mattebench.method_host", "mattebench.options_check", "mattebench.ground_truth", "mattebench.run_inputs",
          "mattebench.method_provenance", "mattebench.shipped", "mattebench.weights", "mattebench.train",
          "mattebench.train.*", "mattebench.timing", "mattebench.bench", "mattebench.exporting", "baselines", "baselines.*",
          "mattebench_baselines", "mattebench_baselines.*"),
         ("types", "data", "metrics", "environment")),
    Part("scorer", "one prediction against one ground truth: gating, metrics, stored alphas",
         ("mattebench.scorer", "mattebench.saved_alphas"), ("types", "data", "metrics", "methods")),
    Part("environment", "facts about the code and the machine a run records: versions, commit, device, threads; "
         "what the libraries say while a command runs (captured, in the run log)",
         ("mattebench.provenance", "mattebench.chatter"), ("types",)),
    Part("store", "run folders: append-and-fsync rows, run identity, locks",
         ("mattebench.store", "mattebench.stored_rows", "mattebench.identity", "mattebench.lock",
          "mattebench.sample_ids"), ("types", "environment", "record")),
    Part("analysis", "paired comparison of two stored runs (bootstrap, Wilcoxon, Holm, equivalence against the "
         "metrics' resolution): statistics over stored rows",
         ("mattebench.compare", "mattebench.resolution"), ("types", "metrics", "store", "record")),
    Part("runner", "evaluate(): dataset -> method -> scorer -> store; executors; the robustness grid",
         ("mattebench.runner", "mattebench.executors", "mattebench.executors.*", "mattebench.robustness"),
         ("types", "data", "metrics", "methods", "scorer", "store", "environment", "record", "analysis")),
    Part("record", "the typed run record (RunRecord, Provenance): the only thing that passes from runner to report",
         ("mattebench.record",), ("types", "data")),
    Part("report", "leaderboards, site, paper tables, figures: reads stored runs (records, rows, stored alphas)",
         ("mattebench.report", "mattebench.report.*"), ("types", "metrics", "data", "store", "record", "analysis"),
         ("torch",)),
    Part("engines", "jobs a command hands over whole that join several parts: predict on files and video streams, "
         "the robustness track, scoring prediction files under toolkit conventions, the paper-tables plan",
         ("mattebench.predict_inputs", "mattebench.output_names", "mattebench.robustness_track", "mattebench.video.stream",
          "mattebench.conventions.pair", "mattebench.paper_plan"),
         ("types", "metrics", "data", "methods", "scorer", "store", "environment", "runner", "record", "report",
          "analysis")),
    Part("commands", "the command line: each command parses, calls one engine function, prints",
         ("mattebench.commands", "mattebench.commands.*", "mattebench.cli", "mattebench.__main__"),
         ("types", "metrics", "data", "methods", "scorer", "store", "environment", "runner", "record", "report",
          "analysis", "engines", "api")),
    Part("api", "the package root: the public names re-exported for ``from mattebench import ...``",
         ("mattebench",), ("types", "metrics", "methods", "runner")),
)

# Rules stated module by module on top of the part table (the issue names them): (importer pattern,
# imported pattern, why). Checked on the imported module's dotted name.
FORBIDDEN: tuple[tuple[str, str, str], ...] = (
    ("mattebench.report*", "mattebench.registry", "the report never looks up a method"),
    ("mattebench.report*", "mattebench.scorer", "the report never scores: it reads stored rows"),
    ("mattebench.report*", "mattebench.runner", "the report never runs a method"),
    ("mattebench.report*", "baselines*", "the report never builds a method"),
    ("mattebench.report*", "mattebench_baselines*", "the report never builds a method"),
    ("mattebench.report*", "mattebench.commands*", "engines never call the command line"),
    ("mattebench.data*", "mattebench.registry", "a dataset does not know the registry of methods"),
    ("baselines*", "mattebench.report*", "a method does not know the report"),
    ("baselines*", "mattebench.runner", "a method does not know the runner"),
)
# Only the command line imports the command line.
COMMANDS_ONLY_FROM: tuple[str, ...] = ("mattebench.commands*", "mattebench.cli", "mattebench.__main__")

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

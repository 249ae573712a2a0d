"""Output names for `mattebench predict` (and any writer of one file per input): one distinct, deterministic name per input file.

Rule (also in ``predict --help``):

1. an input is named by its stem (``a.jpg`` -> ``a``);
2. inputs whose stems collide (``a.png`` and ``a.jpg``; compared case-insensitively, since macOS and
   Windows file systems do not tell ``A.png`` from ``a.png``) use their full file name instead
   (``a.png`` -> ``a.png``, ``a.jpg`` -> ``a.jpg``; the written files are ``a.png.png`` and ``a.jpg.png``);
3. a name that is still taken after that gets ``-2``, ``-3``, ... in sorted input order.

The same folder always gives the same names, and no two inputs ever write the same file.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Sequence

NAMING_HELP = ("Outputs are named by the input's stem; when two inputs share a stem (a.png and a.jpg, compared "
               "case-insensitively) each is named by its full file name (a.png.png, a.jpg.png), and a name still taken "
               "gets -2, -3, ... in name order.")


def output_names(files: Sequence[Path]) -> list[str]:
    """One output name (without the ``.png``) per file, in the order given; see the module docstring."""
    stems = Counter(f.stem.casefold() for f in files)
    wanted = [f.stem if stems[f.stem.casefold()] == 1 else f.name for f in files]
    taken: set[str] = set()
    out: list[str] = []
    for name in wanted:
        candidate, k = name, 1
        while candidate.casefold() in taken:
            k += 1
            candidate = f"{name}-{k}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out

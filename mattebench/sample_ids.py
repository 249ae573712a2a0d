"""The ids a run may store: strings samples.csv can hold and give back unchanged, each once.

Any file name is a valid id (see :mod:`mattebench.store`). What cannot round-trip through
samples.csv is refused before any sample runs (a usage error naming the dataset), because it would
make a sample pending forever and append a row on every rerun:

- an id that is not a ``str`` (an ``int`` 7 is read back as the text "7"),
- an empty id, or one holding NUL (the csv reader refuses NUL),
- an id listed twice by ``ids()`` (two rows for one sample).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Sequence

from .errors import UsageError


def check_ids(ids: Sequence[Any], dataset: str) -> list[str]:
    bad_type = [i for i in ids if not isinstance(i, str)]
    if bad_type:
        raise UsageError(
            f"dataset {dataset!r}: ids() must return strings, got {type(bad_type[0]).__name__} {bad_type[0]!r} "
            f"({len(bad_type)} of {len(ids)}); return str ids (e.g. f'{{i:04d}}') so samples.csv gives them back unchanged"
        )
    unusable = [i for i in ids if not i or "\0" in i]
    if unusable:
        raise UsageError(f"dataset {dataset!r}: {len(unusable)} ids are empty or hold a NUL character (first: {unusable[0]!r})")
    twice = [i for i, n in Counter(ids).items() if n > 1]
    if twice:
        raise UsageError(
            f"dataset {dataset!r} lists {len(twice)} ids more than once (first: {twice[0]!r}); each sample needs one id"
        )
    return list(ids)

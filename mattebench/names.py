"""Names that look alike: one folded form for every method, dataset, tag and saved-predictions name.

A name is shown in a table row, names a run folder and is typed on a command line; two names a reader cannot
tell apart must not be two rows. :func:`fold` maps a name to the form a reader sees: Unicode NFKC (``ﬁ`` →
``fi``, full-width letters), case folded, invisible format characters dropped (category Cf: U+200B zero-width
space, U+00AD soft hyphen, U+200D, U+2060, U+FEFF, bidi controls), every hyphen and dash look-alike (U+2010 to
U+2015, U+2212 minus, ...) made ``-``, and the Cyrillic and Greek letters that look Latin made Latin.

:func:`name_problem` says why a name is refused outright: it holds a character that is invisible or that no
reader can tell from a space (format, control and separator characters other than the space itself), or it
mixes Latin letters with Cyrillic or Greek ones (``modnеt`` with a Cyrillic ``е``). Registration
(:mod:`mattebench.methods.registry`) refuses such names and any name whose folded form is another registered name's;
run folders (:func:`mattebench.runs.store.path_component`) refuse the first kind. Names that exist anyway (a stored
run from elsewhere) are shown with :func:`escaped` where two rows fold to one name.
"""

from __future__ import annotations

import unicodedata
from typing import Optional

# Hyphen and dash look-alikes a reader takes for "-".
_HYPHENS = {c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\ufe58\ufe63\uff0d\u02d7\u2e3a\u2e3b"}
# Cyrillic and Greek letters drawn like Latin ones (lower case: fold() casefolds first), after Unicode's
# confusables list (UTS #39), restricted to the ones that look the same in common fonts.
_CONFUSABLE = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "ӏ": "l", "м": "m",
    "н": "h", "о": "o", "р": "p", "ԛ": "q", "ѕ": "s", "т": "t", "ц": "u", "ѵ": "v", "ԝ": "w", "х": "x", "у": "y",
    "ү": "y", "ё": "e", "ї": "i", "ҽ": "e", "ɡ": "g",
    # Greek
    "α": "a", "β": "b", "ϲ": "c", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w", "μ": "u", "ϳ": "j", "ѡ": "w",
}
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK")


def _invisible(ch: str) -> bool:
    """A character a reader cannot see, or cannot tell from a space: format (Cf), control (Cc), line and
    paragraph separators, spaces other than U+0020, and the Hangul fillers drawn as blanks."""
    if ch == " ":
        return False
    return unicodedata.category(ch) in ("Cf", "Cc", "Cs", "Zs", "Zl", "Zp", "Co", "Cn") or ch in "\u115f\u1160\u3164\uffa0\u034f"


def fold(name: str) -> str:
    """The form a reader sees: two names with one folded form are one name to a person reading a table."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = "".join(_HYPHENS.get(c, _CONFUSABLE.get(c, c)) for c in text if not _invisible(c))
    return unicodedata.normalize("NFKC", text)


def _script(ch: str) -> Optional[str]:
    if not ch.isalpha():
        return None
    first = unicodedata.name(ch, "").split(" ")[0]
    return first if first in _SCRIPTS else None


def name_problem(name: str) -> Optional[str]:
    """Why ``name`` cannot name a method, dataset, tag or run (None: it can)."""
    hidden = [c for c in name if _invisible(c)]
    if hidden:
        return f"it holds the invisible character {describe_char(hidden[0])}"
    scripts = {s for s in map(_script, name) if s is not None}
    if "LATIN" in scripts and len(scripts) > 1:
        other = sorted(scripts - {"LATIN"})[0]
        odd = next(c for c in name if _script(c) == other)
        return f"it mixes Latin letters with {other.title()} ones ({describe_char(odd)}), which look alike"
    return None


def describe_char(ch: str) -> str:
    """``U+200B (ZERO WIDTH SPACE)``."""
    return f"U+{ord(ch):04X} ({unicodedata.name(ch, 'unnamed')})"


def escaped(name: str) -> str:
    """``name`` with every non-ASCII or invisible character written as ``\\uXXXX``: what tells two look-alike names
    apart on a board (``modnet\\u200b`` beside ``modnet``)."""
    return "".join(c if " " <= c <= "~" and c != "\\" else ("\\\\" if c == "\\" else _u(c)) for c in name)


def _u(ch: str) -> str:
    n = ord(ch)
    return f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"

"""Text and links from stored runs, made safe for markdown (the site escapes HTML the same way).

Everything a ``summary.json`` carries (method and dataset names, card text, tags, options, sample
ids, errors) is data, not markup: :func:`md_text` makes it print as itself in GitHub-flavoured
markdown, inside a table cell or a footnote. No raw HTML passes (``<``, ``>``, ``&`` become
entities), a ``|`` cannot end a cell, a line break (``\\n``, ``\\r``, U+2028, U+0085, ...) cannot end
a row, and ``[``, ``]``, ``*``, ``` ` ``` and ``\\`` are backslash-escaped so no link, image,
footnote, emphasis or code span appears that the text did not spell out.

Links: :func:`safe_url` accepts ``http``, ``https`` and relative URLs only; anything else
(``javascript:``, ``data:``, ``vbscript:``, ``file:``) is shown as text, never as a link.
"""

from __future__ import annotations

import re
from typing import Any

# Line and paragraph separators that markdown or a browser may treat as line breaks, and C0/C1 controls.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_MD_SPECIAL = re.compile(r"([\\`*\[\]|])")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
SAFE_SCHEMES = ("http", "https")


def md_text(value: Any) -> str:
    """``value`` as markdown that renders as exactly that text, on one line."""
    text = "" if value is None else str(value)
    text = _BREAKS.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_paragraph(value: Any) -> str:
    """:func:`md_text` that also cannot start a heading, quote, list or rule when it opens a line."""
    text = md_text(value)
    m = re.match(r"^(\s*)(\d+)([.)])", text)
    if m:
        return f"{m.group(1)}{m.group(2)}\\{m.group(3)}{text[m.end():]}"
    if text.lstrip()[:1] in ("#", "&", "+", "-", "=", "_", "~", ":"):
        stripped = text.lstrip()
        return text[: len(text) - len(stripped)] + "\\" + stripped
    return text


def safe_url(url: Any) -> bool:
    """True for ``http(s)://...`` and relative URLs; False for any other scheme or a URL with controls in it.

    Browsers drop tabs and newlines inside a URL (``java\\nscript:``), so a URL holding any control
    character or space before its first ``:`` is refused rather than guessed at.
    """
    if not isinstance(url, str) or not url.strip():
        return False
    u = url.strip()
    if _BREAKS.search(u):
        return False
    m = _SCHEME.match(u)
    if m:
        return m.group(1).lower() in SAFE_SCHEMES
    head = re.split(r"[/?#]", u, maxsplit=1)[0]
    return ":" not in head  # "x:y" with an odd scheme character is no relative URL either


def _md_destination(url: str) -> str:
    """A link destination that cannot close the link early or decode to something else."""
    u = url.strip().replace(" ", "%20")
    return re.sub(r"([\\()<>&|\[\]`*])", r"\\\1", u)


def md_link(text: Any, url: Any) -> str:
    """``[text](url)`` when the URL is safe; otherwise the text and the URL as plain text."""
    if safe_url(url):
        return f"[{md_text(text)}]({_md_destination(str(url))})"
    if url in (None, ""):
        return md_text(text)
    return md_text(f"{text} ({url})" if text and text != url else url)

"""Text and links from stored runs, made safe for markdown (the site escapes HTML the same way).

Everything a ``summary.json`` carries (method and dataset names, card text, tags, options, sample
ids, errors) is data, not markup: :func:`md_text` makes it print as itself in GitHub-flavoured
markdown, inside a table cell or a footnote. No raw HTML passes (``<``, ``>``, ``&`` become
entities), a ``|`` cannot end a cell, a line break (``\\n``, ``\\r``, U+2028, U+0085, ...) cannot end
a row, and ``[``, ``]``, ``*``, ``` ` ``` and ``\\`` are backslash-escaped so no link, image,
footnote, emphasis or code span appears that the text did not spell out.

Links: :func:`safe_url` accepts only absolute ``http(s)://host/...`` URLs, spelled in plain printable ASCII
with nothing a browser would rewrite; anything else (``javascript:``, ``data:``, ``file:``, protocol-relative
``//host``, backslash forms ``\\\\host`` and ``/\\host``, a relative path, or text such as "see the paper") is
shown as text, never as a link. A card's URL names a page elsewhere: a relative one would resolve against the
board's own folder, where it is a dead link.
"""

from __future__ import annotations

import re
from typing import Any

# Line and paragraph separators that markdown or a browser may treat as line breaks, and C0/C1 controls.
_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")
_MD_SPECIAL = re.compile(r"([\\`*\[\]|])")
SAFE_SCHEMES = ("http", "https")
_URL_CHARS = re.compile(r"[!#-\[\]-~]+")  # printable ASCII but space, backslash and the double quote
# scheme "://" host (letters, digits, dots, dashes; or [IPv6]) [":" port], then a path, query or fragment, or nothing
_HTTP_URL = re.compile(r"^([A-Za-z]+)://(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:[/?#]|$)")


def md_text(value: Any) -> str:
    """``value`` as markdown that renders as exactly that text, on one line."""
    text = "" if value is None else str(value)
    text = _BREAKS.sub(" ", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


_CODE_SAFE = re.compile(r"[A-Za-z0-9 _.,:;=+@/~%#!?()'\"{}$^-]*")


def md_code(value: Any) -> str:
    """``value`` as a code span when it holds nothing a span could be broken by (a backtick, a pipe, a line
    break, ``<``, ``&``, non-ASCII); otherwise as :func:`md_text` (plain text, escaped). Record strings that
    are names and paths keep their code look, and a hostile one cannot leave the span."""
    text = "" if value is None else str(value)
    return f"`{text}`" if text and _CODE_SAFE.fullmatch(text) else md_text(text)


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
    """True only for ``http(s)://host[...]``: printable ASCII, no space, no backslash, no user info, a host name.

    Browsers drop tabs and newlines inside a URL (``java\\nscript:``) and read ``\\`` as ``/`` (``/\\host``,
    ``https:\\\\host``), so a URL holding any of them is refused rather than guessed at; ``user@host`` is
    refused because it shows one host and opens another.
    """
    if not isinstance(url, str):
        return False
    u = url.strip()
    if not _URL_CHARS.fullmatch(u):
        return False
    m = _HTTP_URL.match(u)
    return m is not None and m.group(1).lower() in SAFE_SCHEMES


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

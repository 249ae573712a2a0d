"""The site's HTML comes from the Jinja2 templates in mattebench/report/assets/, not from Python strings,
and the templates escape every value they print (autoescape on, non-UTF-8 bytes shown as \\xNN)."""

from __future__ import annotations

import ast
import re
from importlib import resources
from pathlib import Path

from report_equivalence import normalise_html
from test_board import summary

import mattebench.report as report
from mattebench.report.site import render_index, render_method_page, render_run_page

TAG = re.compile(r"<(/?)(a|p|div|span|table|tr|td|th|thead|tbody|section|h[1-6]|ul|li|dl|dt|dd|code|html|body|nav|"
                 r"form|label|select|option|details|summary|figure|img|pre|caption|script|style)[\s>/]")
PAGE_MODULES = ("site.py", "site_pages.py", "board.py", "leaderboard.py")


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                  if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)) and n.body
                  and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


def test_no_html_is_written_in_python_strings_of_the_report_pages():
    folder = Path(report.__file__).parent
    for name in PAGE_MODULES:
        found = [s for s in _strings(folder / name) if TAG.search(s)]
        assert not found, f"{name} builds HTML in Python strings: {found[:3]}"


def test_the_templates_ship_with_the_package():
    assets = resources.files("mattebench.report").joinpath("assets")
    for name in ("page.html.j2", "index.html.j2", "board_table.html.j2", "run.html.j2", "method.html.j2",
                 "macros.html.j2"):
        assert assets.joinpath(name).is_file(), name


def test_every_page_escapes_values_and_shows_undecodable_bytes():
    bad = "x\udcff<b>\"'&"
    s = summary(f"m{bad}", {"mse_whole": 0.1}, tag="t", errors=[{"id": f"id{bad}", "error": f"why{bad}"}],
                counts={"total": 3, "ok": 2, "error": 1, "pending": 0})
    s["method_card"]["notes"] = bad
    for page in (render_index([s]), render_run_page(s), render_method_page(s["method_card"], [s])):
        assert "<b>" not in page and "\udcff" not in page
        assert "&lt;b&gt;&quot;&#x27;&amp;" in page and "\\xff" in page
        page.encode("utf-8")  # writable


def test_the_comparison_helper_ignores_only_whitespace_between_and_inside_text():
    assert normalise_html("<p>a  b</p>\n  <p>c</p>") == normalise_html("<p>a b</p><p>c</p>")
    assert normalise_html("<p>ab</p>") != normalise_html("<p>a b</p>")

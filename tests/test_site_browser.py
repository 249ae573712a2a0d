"""The leaderboard site driven in headless Chromium: sorting by a click, filtering by typing, screenshots.

How the browser is driven (a choice): chromedriver speaks the W3C WebDriver protocol, which is plain
JSON over HTTP, and these tests need only a handful of its commands (open a page, find, click, type,
run a script, take a screenshot). So the client below is ~60 lines of ``urllib`` + ``json`` rather
than a Selenium dependency: nothing to install beyond Debian's ``chromium`` and ``chromium-driver``
(``.ci/run`` installs them), and no client/driver version pairing to keep up with. Without them the
tests skip and say so.

Screenshots are kept as artifacts in ``artifacts/`` (git-ignored): ``site-desktop.png`` and
``site-phone.png``.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
from site_fixtures import PAPER, leaderboard_summaries, make_runs

from mattebench.report.site import write_site
from mattebench.runs.record import RunRecord
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--hide-scrollbars"]


def _find(*names: str) -> Optional[str]:
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


CHROME = _find("chromium", "chromium-browser", "google-chrome")
DRIVER = _find("chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROME is None or DRIVER is None,
                       reason="headless Chromium not found: install Debian's chromium and chromium-driver "
                              "(`apt-get install -y chromium chromium-driver`; .ci/run does it)"),
]


class WebDriverError(RuntimeError):
    pass


class Browser:
    """A minimal W3C WebDriver client for one chromedriver process and one session."""

    def __init__(self, user_data_dir: Path, javascript: bool = True):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([str(DRIVER), f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                if self._http("GET", "/status").get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                raise WebDriverError("chromedriver did not start")
            time.sleep(0.1)
        args = [*CHROME_ARGS, f"--user-data-dir={user_data_dir}"]
        if not javascript:
            args.append("--blink-settings=scriptEnabled=false")
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome",
                                                 "goog:chromeOptions": {"binary": str(CHROME), "args": args}}}}
        try:
            self.session = self._http("POST", "/session", caps)["sessionId"]
        except Exception:
            self.proc.kill()
            raise

    def _http(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError(f"{method} {path}: {e.code} {e.read()[:500]!r}") from None

    def cmd(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Any:
        return self._http(method, f"/session/{self.session}{path}", body)

    def get(self, url: str) -> None:
        self.cmd("POST", "/url", {"url": url})

    def find(self, css: str) -> str:
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css: str, text: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def clear(self, css: str) -> None:
        self.cmd("POST", f"/element/{self.find(css)}/clear", {})

    def js(self, script: str, *args: Any) -> Any:
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def size(self, width: int, height: int) -> None:
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> bytes:
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png)
        return png

    def quit(self) -> None:
        try:
            self.cmd("DELETE", "")
        except (OSError, WebDriverError):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("site-browser")
    runs = make_runs(root)
    return write_site(runs, root / "out", paper_values=PAPER), leaderboard_summaries(runs)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield b
    b.quit()


# Visible rows of one table body, top to bottom: run name and whether it is displayed.
ROWS_JS = """
var body = document.querySelector(arguments[0]);
return Array.prototype.filter.call(body.rows, function (r) { return r.hasAttribute('data-run'); })
  .map(function (r) { return [r.getAttribute('data-run'), r.getClientRects().length > 0]; });
"""
ALL_VISIBLE_JS = """
return Array.prototype.filter.call(document.querySelectorAll('table.board tr[data-run]'),
  function (r) { return r.getClientRects().length > 0; })
  .map(function (r) { return [r.closest('table').id, r.getAttribute('data-run')]; });
"""


def run_name(s: dict[str, Any]) -> str:
    return f"{s.method}@{s.tag}" if s.tag else s.method


def expected(summaries: list[RunRecord], family: str, key: str, descending: bool = False) -> list[str]:
    rows = [s for s in summaries if s.dataset == "tiny" and s.method_card.family == family]
    have = [s for s in rows if s.means.get(key) is not None]
    have.sort(key=run_name)
    have.sort(key=lambda s: s.means[key], reverse=descending)  # stable: ties stay by run name
    return [run_name(s) for s in have] + sorted(run_name(s) for s in rows if s.means.get(key) is None)


def header_button(table: str, key: str) -> str:
    return f'#{table} thead th[data-sort="{key}"] button'


def test_click_header_sorts_rows_by_that_metric(browser, site):
    index, summaries = site
    browser.size(1280, 1000)
    browser.get(index.as_uri())
    trimap = "#t-tiny-whole tbody[data-family='trimap-based']"
    free = "#t-tiny-whole tbody[data-family='trimap-free']"
    # as rendered: by MSE (whole), the dataset's primary metric
    assert [r for r, _ in browser.js(ROWS_JS, trimap)] == expected(summaries, FAMILY_TRIMAP, "mse_whole")
    browser.click(header_button("t-tiny-whole", "mad_whole"))
    assert [r for r, _ in browser.js(ROWS_JS, trimap)] == expected(summaries, FAMILY_TRIMAP, "mad_whole")
    assert [r for r, _ in browser.js(ROWS_JS, free)] == expected(summaries, FAMILY_FREE, "mad_whole")
    assert expected(summaries, FAMILY_TRIMAP, "mad_whole") != expected(summaries, FAMILY_TRIMAP, "mse_whole")
    aria = browser.js("return Array.prototype.map.call(document.querySelectorAll('#t-tiny-whole thead th'),"
                      " function (th) { return th.getAttribute('aria-sort'); });")
    assert aria.count("ascending") == 1 and aria.count(None) == len(aria) - 1
    # a second click reverses the order
    browser.click(header_button("t-tiny-whole", "mad_whole"))
    assert [r for r, _ in browser.js(ROWS_JS, trimap)] == expected(summaries, FAMILY_TRIMAP, "mad_whole", descending=True)
    # ranks follow the new order
    ranks = browser.js(f"return Array.prototype.map.call(document.querySelectorAll(\"{trimap} td.rank\"),"
                       " function (td) { return td.textContent; });")
    assert ranks == ["1", "2", "3"]
    # a run without a value (knn has no Conn) stays last in both directions
    unk = "#t-tiny-unknown tbody[data-family='trimap-based']"
    browser.click(header_button("t-tiny-unknown", "conn"))
    asc = [r for r, _ in browser.js(ROWS_JS, unk)]
    browser.click(header_button("t-tiny-unknown", "conn"))
    desc = [r for r, _ in browser.js(ROWS_JS, unk)]
    assert asc == expected(summaries, FAMILY_TRIMAP, "conn") and desc == expected(summaries, FAMILY_TRIMAP, "conn", True)
    assert asc[-1] == desc[-1] == "knn@k20"
    # time is sortable too
    browser.click(header_button("t-tiny-whole", "predict_ms"))
    times = [next(s for s in summaries if s.dataset == "tiny" and run_name(s) == r).predict_ms.median
             for r, _ in browser.js(ROWS_JS, free)]
    assert times == sorted(times)


def test_filter_by_name_and_family(browser, site):
    index, summaries = site
    browser.size(1280, 1000)
    browser.get(index.as_uri())
    total = len(browser.js(ALL_VISIBLE_JS))
    assert total == sum(1 + (s.dataset == "tiny") for s in summaries)  # tiny runs appear in two tables
    browser.type("#filter-name", "MOD")  # case-insensitive substring of the run name
    shown = browser.js(ALL_VISIBLE_JS)
    assert sorted(shown) == sorted([["t-tiny-whole", "modnet-easpp@sps"], ["t-tiny-unknown", "modnet-easpp@sps"]])
    assert browser.js("return document.querySelector('#filters output').textContent;") == f"2 of {total} rows shown"
    # a table with no match says so, and the empty trimap-based group hides its heading
    assert browser.js("return document.querySelector('#t-mini-whole-whole-block .empty').getClientRects().length;") > 0
    assert browser.js("return document.querySelector(\"#t-tiny-whole tbody[data-family='trimap-based']\")"
                      ".getClientRects().length;") == 0
    browser.clear("#filter-name")
    browser.click("#filter-family option[value='trimap-free']")
    shown = browser.js(ALL_VISIBLE_JS)
    free = sorted(run_name(s) for s in summaries if s.method_card.family == FAMILY_FREE)
    assert sorted({r for _, r in shown}) == free and len(shown) == 2 * len(free)
    browser.type("#filter-name", "lfm")
    assert browser.js(ALL_VISIBLE_JS) == [["t-tiny-whole", "lfm@sps"], ["t-tiny-unknown", "lfm@sps"]]
    browser.clear("#filter-name")
    browser.click("#filter-family option[value='']")
    assert len(browser.js(ALL_VISIBLE_JS)) == total


def test_screenshots_desktop_and_phone(browser, site):
    index, _ = site
    for name, width, height in (("site-desktop.png", 1280, 1100), ("site-phone.png", 390, 844)):
        browser.size(width, height)
        browser.get(index.as_uri())
        inner = browser.js("return window.innerWidth;")
        # readable on a phone: the page itself never scrolls sideways, only the table boxes do
        assert browser.js("return document.documentElement.scrollWidth;") <= inner, name
        png = browser.screenshot(ARTIFACTS / name)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_page_reads_without_javascript(site, tmp_path):
    index, summaries = site
    b = Browser(tmp_path / "profile", javascript=False)
    try:
        b.size(1280, 1000)
        b.get(index.as_uri())
        # the scripts do not run (execute/sync is the driver's, not the page's), so the static page is what shows
        assert b.js("return document.querySelectorAll('button.sort').length;") == 0
        assert b.js("return document.getElementById('filters').getClientRects().length;") == 0
        rows = b.js(ALL_VISIBLE_JS)
        assert len(rows) == sum(1 + (s.dataset == "tiny") for s in summaries)
    finally:
        b.quit()


def test_synthetic_demo_run_through_the_command(browser, tmp_path):
    """The issue's path end to end: a run on the embedded synthetic set, `leaderboard --html`, the browser."""
    import argparse

    from mattebench.commands import leaderboard as leaderboard_command
    from mattebench.runs.runner import evaluate

    runs = tmp_path / "runs"
    _, summary = evaluate("trimap-midpoint", "synthetic", limit=2, out=runs)
    parser = argparse.ArgumentParser()
    leaderboard_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["leaderboard", "--html", "--runs", str(runs), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    index = tmp_path / "out" / "site" / "index.html"
    browser.size(1280, 1000)
    browser.get(index.as_uri())
    cell = browser.js("return document.querySelector(\"#t-synthetic-whole tr[data-run='trimap-midpoint'] "
                      "td[data-value]\").getAttribute('data-value');")
    assert float(cell) == summary.means["mse_whole"]
    browser.click("#t-synthetic-whole tr[data-run='trimap-midpoint'] a[href^='runs/']")
    assert browser.js("return document.title;") == "trimap-midpoint on synthetic: provenance"
    text = browser.js("return document.body.innerText;")
    assert summary.provenance.dataset_fingerprint in text and "dilate-erode-v1" in text
    browser.click("a[href^='../../methods/']")
    assert browser.js("return document.querySelector('h1').textContent;") == "trimap-midpoint"

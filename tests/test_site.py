"""The static leaderboard site, checked as HTML (no browser): structure, order, links, self-containment.

The expected orders and values are recomputed here from the stored summary.json files, not read
back from the renderer.
"""

from __future__ import annotations

import argparse
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator, Optional
from urllib.parse import unquote, urlsplit

import pytest
from site_fixtures import PAPER, SECOND_DATASET, leaderboard_summaries, make_runs

from mattebench.commands import leaderboard as leaderboard_command
from mattebench.report.board import family_of
from mattebench.report.board import metric_label as _label
from mattebench.report.site import (
    Figure,
    find_figures,
    paper_values_from_tables,
    render_index,
    write_site,
)
from mattebench.runs.record import RunRecord
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP

VOID = {"meta", "link", "br", "img", "input", "hr", "col", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, Optional[str]], parent: Optional["Node"]):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Any] = []  # Node or str

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Iterator["Node"]:
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def find_all(self, tag: str, **attrs: str) -> list["Node"]:
        return [n for n in self.iter() if n.tag == tag and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def find(self, tag: str, **attrs: str) -> "Node":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}>"
        return found[0]

    def cells(self) -> list["Node"]:
        return [c for c in self.children if isinstance(c, Node) and c.tag in ("td", "th")]


class Tree(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        node = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_endtag(self, tag: str) -> None:
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        assert n is not None, f"stray </{tag}>"
        self.cur = n.parent or self.root

    def handle_data(self, data: str) -> None:
        self.cur.children.append(data)


def parse(path: Path) -> Node:
    return Tree(path.read_text(encoding="utf-8")).root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("site")
    runs = make_runs(root)
    index = write_site(runs, root / "out", paper_values=PAPER)
    return runs, index, leaderboard_summaries(runs)


def run_name(s: RunRecord) -> str:
    return f"{s.method}@{s.tag}" if s.tag else s.method


def expected_order(summaries: list[RunRecord], dataset: str, family: str, key: str) -> list[str]:
    rows = [s for s in summaries if s.dataset == dataset and family_of(s) == family]
    with_value = sorted((s for s in rows if s.means.get(key) is not None), key=lambda s: (s.means[key], run_name(s)))
    without = sorted((s for s in rows if s.means.get(key) is None), key=run_name)
    return [run_name(s) for s in with_value + without]


def body_runs(table: Node, family: str) -> list[str]:
    body = table.find("tbody", **{"data-family": family})
    return [tr.attrs["data-run"] for tr in body.find_all("tr") if "data-run" in tr.attrs]


def header_index(table: Node, key: str) -> int:
    heads = table.find("thead").find("tr").cells()
    return [h.attrs.get("data-sort") for h in heads].index(key)


def test_one_table_per_dataset_and_protocol(built):
    _, index, _ = built
    doc = parse(index)
    tables = {t.attrs["id"]: t for t in doc.find_all("table") if "board" in t.attrs.get("class", "")}
    assert set(tables) == {"t-tiny-whole", "t-tiny-unknown", f"t-{SECOND_DATASET}-whole"}
    assert tables["t-tiny-whole"].attrs["data-protocol"] == "whole"
    # each table has its own caption naming dataset and protocol
    assert "tiny" in tables["t-tiny-unknown"].find("caption").text()
    assert "unknown" in tables["t-tiny-unknown"].find("caption").text()


def test_rows_ranked_by_primary_metric_within_each_family(built):
    _, index, summaries = built
    table = parse(index).find("table", id="t-tiny-whole")
    assert body_runs(table, FAMILY_TRIMAP) == expected_order(summaries, "tiny", FAMILY_TRIMAP, "mse_whole")
    assert body_runs(table, FAMILY_FREE) == expected_order(summaries, "tiny", FAMILY_FREE, "mse_whole")
    assert body_runs(table, FAMILY_TRIMAP)[0] == "closed-form"  # 0.0021 is the fabricated best
    # The unknown-protocol table of a dataset ranked by MSE (whole) falls back to its first column.
    unk = parse(index).find("table", id="t-tiny-unknown")
    assert body_runs(unk, FAMILY_FREE) == expected_order(summaries, "tiny", FAMILY_FREE, "sad")
    # the primary column is announced as sorted for assistive technology
    th = unk.find("thead").find("tr").cells()[header_index(unk, "sad")]
    assert th.attrs.get("aria-sort") == "ascending"


def test_families_are_distinguished_and_off_leaderboard_runs_left_out(built):
    runs, index, summaries = built
    doc = parse(index)
    table = doc.find("table", id="t-tiny-whole")
    groups = [b.find("tr", class_="group").text() for b in table.find_all("tbody")]
    assert groups == ["Trimap-based methods", "Trimap-free methods"]
    for tr in table.find_all("tr"):
        if "data-run" in tr.attrs:
            s = next(x for x in summaries if x.dataset == "tiny" and run_name(x) == tr.attrs["data-run"])
            assert tr.attrs["data-family"] == s.method_card.family
    assert (runs / "tiny" / "gt-echo" / "summary.json").exists()
    assert "gt-echo" not in index.read_text()


def test_headers_carry_units_and_cells_the_stored_means(built):
    _, index, summaries = built
    table = parse(index).find("table", id="t-tiny-unknown")
    heads = table.find("thead").find("tr").cells()
    for key in ("sad", "mse", "grad", "conn"):
        assert _label(key) in heads[header_index(table, key)].text()
    assert "ms / sample" in heads[header_index(table, "predict_ms")].text()
    by_run = {run_name(s): s for s in summaries if s.dataset == "tiny"}
    n_checked = 0
    for tr in table.find_all("tr"):
        if "data-run" not in tr.attrs:
            continue
        s = by_run[tr.attrs["data-run"]]
        cells = tr.cells()
        for key in ("sad", "mse", "grad", "conn"):
            cell = cells[header_index(table, key)]
            mean = s.means[key]
            if mean is None:
                assert cell.attrs["data-value"] == "" and cell.text().strip() == "–"
            else:
                assert float(cell.attrs["data-value"]) == mean  # exact: repr round-trips a float
            n_checked += 1
        ms = cells[header_index(table, "predict_ms")].attrs["data-value"]
        assert float(ms) == s.predict_ms.median
    assert n_checked == 4 * 6


def test_paper_values_sit_beside_measured_ones(built):
    _, index, summaries = built
    table = parse(index).find("table", id="t-tiny-whole")
    row = next(tr for tr in table.find_all("tr") if tr.attrs.get("data-run") == "modnet-easpp@sps")
    cell = row.cells()[header_index(table, "mse_whole")]
    paper = cell.find("span", class_="paper")
    assert paper.text() == "paper 0.0044"
    measured = next(s for s in summaries if s.dataset == "tiny" and run_name(s) == "modnet-easpp@sps")
    assert float(cell.attrs["data-value"]) == measured.means["mse_whole"]
    others = [tr for tr in table.find_all("tr") if tr.attrs.get("data-run") not in (None, "modnet-easpp@sps")]
    assert others and not any(tr.find_all("span", class_="paper") for tr in others)


def test_paper_values_from_the_tables_module():
    values = paper_values_from_tables()
    # Table 1 of the paper: MODNet † on PPM-100, MSE 0.0044, MAD 0.0086; DIM (trimap) 0.0016 / 0.0067.
    assert values["ppm100"]["modnet-easpp@sps"] == {"mse_whole": "0.0044", "mad_whole": "0.0086"}
    assert values["ppm100"]["dim@trimap"] == {"mse_whole": "0.0016", "mad_whole": "0.0067"}
    assert values["d646"]["hatt@sps"] == {"mse_whole": "0.0054", "mad_whole": "0.0126"}
    assert "synthetic" not in values  # the paper never measured the embedded stand-in


def _local_links(page: Path) -> list[str]:
    doc = parse(page)
    out = []
    for n in doc.iter():
        for attr in ("href", "src"):
            v = n.attrs.get(attr)
            if v and not urlsplit(v).scheme and not v.startswith("#"):
                out.append(v)
    return out


def test_every_row_links_to_provenance_and_card(built):
    _, index, summaries = built
    site = index.parent
    table = parse(index).find("table", id="t-tiny-whole")
    rows = [tr for tr in table.find_all("tr") if "data-run" in tr.attrs]
    assert len(rows) == 6
    for tr in rows:
        hrefs = [a.attrs["href"] for a in tr.find_all("a")]
        card = next(h for h in hrefs if h.startswith("methods/"))
        prov = next(h for h in hrefs if h.startswith("runs/"))
        assert (site / unquote(card)).is_file() and (site / unquote(prov)).is_file()
    page = site / "runs" / "tiny" / "knn@k20.html"
    text = page.read_text()
    s = next(x for x in summaries if x.dataset == "tiny" and run_name(x) == "knn@k20")
    for needle in (s.provenance.commit, s.provenance.checkpoint_sha256, s.provenance.dataset_fingerprint,
                   s.provenance.mattebench, s.provenance.torch, "&quot;variant&quot;: &quot;k20&quot;"):
        assert str(needle) in text, needle
    copy = json.loads((site / "runs" / "tiny" / "knn@k20.summary.json").read_text())
    assert copy["means"] == s.means
    card = (site / "methods" / "knn.html").read_text()
    assert "fabricated for the site tests (knn)" in card and "trimap-based" in card
    # every local link on every page resolves
    for p in site.rglob("*.html"):
        for link in _local_links(p):
            target = (p.parent / unquote(link.split("#")[0])).resolve()
            assert target.exists(), f"{p.relative_to(site)} links to missing {link}"


def test_self_contained_no_network(built):
    _, index, _ = built
    for page in index.parent.rglob("*.html"):
        text = page.read_text()
        doc = parse(page)
        assert not doc.find_all("link"), page  # no external stylesheets or fonts
        assert all("src" not in s.attrs for s in doc.find_all("script")), page
        for n in doc.iter():
            src = n.attrs.get("src")
            assert src is None or not urlsplit(src).scheme and not src.startswith("//"), (page, src)
        style = "".join(s.text() for s in doc.find_all("style"))
        assert "url(" not in style and "@import" not in style and "@font-face" not in style
        assert re.search(r"fetch\(|XMLHttpRequest|import\(", text) is None


def test_readable_without_javascript(built):
    _, index, _ = built
    doc = parse(index)
    # the tables are in the HTML itself, already sorted; the filter form is hidden until the script shows it
    assert len([tr for tr in doc.find_all("tr") if "data-run" in tr.attrs]) == 6 + 6 + 1
    assert "hidden" in doc.find("form", id="filters").attrs
    assert not doc.find_all("button")  # sort buttons are added by the script
    assert doc.find("html").attrs["lang"] == "en"
    assert doc.find_all("meta", name="viewport")
    for th in doc.find("table", id="t-tiny-whole").find("thead").find_all("th"):
        assert th.attrs.get("scope") == "col"


def test_rebuild_is_byte_identical_and_drops_removed_runs(built, tmp_path):
    runs, index, _ = built
    again = write_site(runs, tmp_path, paper_values=PAPER)
    assert again.read_bytes() == index.read_bytes()
    summaries = [s for s in leaderboard_summaries(runs) if s.method != "lfm"]
    third = write_site(runs, tmp_path, summaries=summaries)
    assert "lfm@sps" not in third.read_text()
    assert not (third.parent / "runs" / "tiny" / "lfm@sps.html").exists()


def test_figures_are_copied_beside_the_page(built, tmp_path):
    runs, _, _ = built
    figs = tmp_path / "figures"
    figs.mkdir()
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (figs / "size-speed.png").write_bytes(png)
    (figs / "size-speed.txt").write_text("Parameters against time per image\n")
    (figs / "visual_comparison.png").write_bytes(png)
    (figs / "notes.md").write_text("not an image")
    found = find_figures(figs)
    assert [f.caption for f in found] == ["Parameters against time per image", "visual comparison"]
    index = write_site(runs, tmp_path / "out", figures=found)
    doc = parse(index)
    imgs = doc.find("section", id="figures").find_all("img")
    assert [i.attrs["src"] for i in imgs] == ["figures/size-speed.png", "figures/visual_comparison.png"]
    assert imgs[0].attrs["alt"] == "Parameters against time per image"
    assert (index.parent / "figures" / "size-speed.png").read_bytes() == png
    # the names mattebench.report.figures writes: a comparison lands in its dataset's section
    (figs / "tiny-comparison.png").write_bytes(png)
    (figs / "figure6-cuda-nvidia-h100-fp16-b1.png").write_bytes(png)
    found = {f.path.name: f for f in find_figures(figs, ["tiny", SECOND_DATASET])}
    assert found["tiny-comparison.png"].dataset == "tiny"
    assert "Visual comparison on tiny" in found["tiny-comparison.png"].caption
    assert found["figure6-cuda-nvidia-h100-fp16-b1.png"].dataset is None
    assert "cuda nvidia h100, fp16, batch 1" in found["figure6-cuda-nvidia-h100-fp16-b1.png"].caption
    doc = parse(write_site(runs, tmp_path / "out3", figures=list(found.values())))
    in_tiny = [i.attrs["src"] for i in doc.find("section", id="ds-tiny").find_all("img")]
    in_figures = [i.attrs["src"] for i in doc.find("section", id="figures").find_all("img")]
    assert in_tiny == ["figures/tiny-comparison.png"]
    assert "figures/tiny-comparison.png" not in in_figures and "figures/figure6-cuda-nvidia-h100-fp16-b1.png" in in_figures
    with pytest.raises(ValueError, match="distinct"):
        write_site(runs, tmp_path / "out2", figures=[Figure(figs / "size-speed.png", "a"), Figure(figs / "size-speed.png", "b")])


def test_names_are_escaped(built):
    _, _, summaries = built
    s = json.loads(json.dumps(next(x for x in summaries if x.method == "closed-form").to_json()))
    s["method"] = "evil<script>alert(1)</script>"
    s["run_dir"] = "/runs/tiny/evil"
    s["method_card"]["notes"] = "<img src=x onerror=alert(1)>"
    text = render_index([s])
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_no_runs_page_says_what_to_do(tmp_path):
    index = write_site(tmp_path / "none", tmp_path / "out")
    text = index.read_text()
    assert "No stored runs yet" in text and "<table" not in text


def test_cli_writes_markdown_and_site(built, tmp_path, capsys):
    runs, _, _ = built
    figs = tmp_path / "out" / "figures"
    figs.mkdir(parents=True)
    (figs / "size-speed.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    # the subcommand on its own parser (cli.main lists every command, some owned by work in progress)
    parser = argparse.ArgumentParser()
    leaderboard_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["leaderboard", "--html", "--runs", str(runs), "--out", str(tmp_path / "out")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'out' / 'site' / 'index.html'}" in out
    assert (tmp_path / "out" / "tiny.md").is_file()
    assert (tmp_path / "out" / "site" / "figures" / "size-speed.png").is_file()  # <out>/figures by default



def test_a_comparison_figure_is_shown_with_its_dataset_whatever_the_name(tmp_path):
    """figures.py names the file after the dataset and site.py finds the dataset again from the file name: a
    dataset name with non-ASCII letters and spaces must survive the round trip (one slug helper for both)."""
    from dataclasses import replace

    from conftest import TinyDataset

    from mattebench.report.figures import comparison_figure
    from mattebench.report.site import find_figures
    from mattebench.runs.runner import evaluate

    name = "Données portraits"
    ds = TinyDataset(n=2)
    ds.card = replace(ds.card, name=name)
    _, record = evaluate("trimap-midpoint", ds, out=tmp_path / "runs", save_alphas="all")
    png = comparison_figure(name, [record], tmp_path / "fig", dataset_obj=ds)
    assert png is not None and png.is_file()
    (fig,) = find_figures(tmp_path / "fig", datasets=[name, "other"])
    assert fig.dataset == name and name in fig.caption

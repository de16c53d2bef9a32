"""The page shell, tables and figure tiles of the report: plain HTML written by hand, every
value from the marts escaped. No external font, script or style: the folder works offline."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Raw(str):
    """HTML already escaped (or built by this module): not escaped again."""


def esc(value: object) -> Raw:
    return value if isinstance(value, Raw) else Raw(html.escape("" if value is None else str(value), quote=True))


def tag(name: str, content: object = "", **attributes: object) -> Raw:
    """`<name attr="...">content</name>`; attribute names take `_` for `-` and a trailing `_` (class_)."""
    rendered = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{esc(value)}"' for key, value in attributes.items() if value is not None
    )
    return Raw(f"<{name}{rendered}>{esc(content)}</{name}>")


def join(parts: Iterable[object]) -> Raw:
    return Raw("".join(esc(part) for part in parts))


TALL_ROWS = 25  # a longer table scrolls in its own box, its header kept in view


@dataclass(frozen=True)
class Column:
    title: str
    numeric: bool = True
    note: str | None = None  # a tooltip on the header


def table(columns: Sequence[Column], rows: Iterable[Sequence[object]], *, id: str | None = None, caption: str | None = None,
          footer: Sequence[object] | None = None, empty: str = "No rows yet.") -> Raw:
    body = [
        tag("tr", join(tag("td", cell, class_="num" if column.numeric else None) for column, cell in zip(columns, row)))
        for row in rows
    ]
    if not body:
        return tag("p", empty, class_="empty")
    head = tag("tr", join(tag("th", c.title, scope="col", class_="num" if c.numeric else None, title=c.note) for c in columns))
    foot = (
        tag("tfoot", tag("tr", join(tag("th" if i == 0 else "td", cell, class_="num" if c.numeric else None, scope="row" if i == 0 else None)
                                     for i, (c, cell) in enumerate(zip(columns, footer)))))
        if footer
        else ""
    )
    return tag(
        "div",
        tag("table", join([tag("caption", caption) if caption else "", tag("thead", head), tag("tbody", join(body)), foot]), id=id),
        class_="table-wrap tall" if len(body) > TALL_ROWS else "table-wrap",
    )


def kpi(id: str, label: str, value: str, data_value: object, note: object = "", tone: str | None = None) -> Raw:
    """A headline figure: its text in the element `id`, the unrounded value in data-value (for tests and scripts)."""
    return tag(
        "div",
        join([tag("div", label, class_="kpi-label"), tag("div", value, id=id, class_="kpi-value", data_value=data_value),
              tag("div", note, class_="kpi-note")]),
        class_=f"kpi {tone}" if tone else "kpi",
    )


def section(title: str, *parts: object, id: str | None = None, lede: object = None) -> Raw:
    return tag("section", join([tag("h2", title), tag("p", lede, class_="lede") if lede else "", *parts]), id=id)


def pair(chart: object, side: object) -> Raw:
    """A chart with its table beside it (below it on a narrow screen)."""
    return tag("div", join([tag("div", chart, class_="pair-chart"), tag("div", side, class_="pair-side")]), class_="pair")


def details(summary: str, content: object) -> Raw:
    return tag("details", join([tag("summary", summary), content]))


def notes(*items: object) -> Raw:
    return tag("div", join([tag("h3", "How to read this page"), tag("ul", join(tag("li", item) for item in items))]), class_="notes")


@dataclass(frozen=True)
class NavItem:
    file: str
    label: str


def page(*, title: str, file: str, nav: Sequence[NavItem], meta: object, body: object, lede: object, footer: object,
         scripts: Sequence[str], stylesheet: str) -> str:
    links = join(
        tag("a", item.label, href=item.file, aria_current="page" if item.file == file else None) for item in nav
    )
    charts = body.count('class="chart"') if isinstance(body, str) else 0
    head = join(
        [
            Raw('<meta charset="utf-8">'),
            Raw('<meta name="viewport" content="width=device-width, initial-scale=1">'),
            Raw('<meta name="generator" content="Baton report">'),
            tag("title", f"{title} · Baton report"),
            Raw('<link rel="icon" href="data:,">'),  # no favicon request
            Raw(f'<link rel="stylesheet" href="{esc(stylesheet)}">'),
            *(Raw(f'<script src="{esc(src)}"></script>') for src in (scripts if charts else ())),
        ]
    )
    header = tag(
        "header",
        join([tag("div", join([tag("a", "Baton", href="index.html", class_="brand"), tag("span", "marketing & sales report", class_="brand-sub")]), class_="brand-row"),
              tag("div", meta, class_="meta"), tag("nav", links, aria_label="Report pages")]),
        class_="top",
    )
    main = tag("main", join([tag("h1", title), tag("p", lede, class_="lede") if lede else "", body]))
    if charts:
        main = Raw(main + RESIZE_SCRIPT)
    return (
        "<!doctype html>\n"
        + tag("html", join([tag("head", head), tag("body", join([header, main, tag("footer", footer)]), data_page=file.removesuffix(".html"), data_charts=charts)]), lang="en")
        + "\n"
    )


# Charts are drawn as the page is parsed, before what follows them is laid out: fit them once it is.
RESIZE_SCRIPT = (
    "<script>window.addEventListener('load', function () {"
    " document.querySelectorAll('.js-plotly-plot').forEach(function (d) { Plotly.Plots.resize(d); }); });</script>"
)

STYLESHEET = """
:root { --ink: #1d2733; --muted: #5b6776; --line: #e3e7ed; --bg: #f6f8fa; --accent: #1f4e79; --good: #2a9d8f; --warn: #b8860b; --bad: #c2553b; }
* { box-sizing: border-box; }
html { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
body { margin: 0; font-size: 15px; line-height: 1.45; }
a { color: var(--accent); }
header.top { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 28px 0; position: sticky; top: 0; z-index: 10; }
.brand-row { display: flex; align-items: baseline; gap: 10px; }
.brand { font-weight: 700; font-size: 18px; text-decoration: none; color: var(--ink); }
.brand-sub { color: var(--muted); }
.meta { color: var(--muted); font-size: 13px; margin-top: 2px; }
.meta strong { color: var(--ink); font-weight: 600; }
nav { display: flex; flex-wrap: wrap; gap: 2px 18px; margin-top: 8px; }
nav a { text-decoration: none; color: var(--muted); padding: 6px 0 8px; border-bottom: 3px solid transparent; font-size: 14px; }
nav a[aria-current="page"] { color: var(--ink); border-bottom-color: var(--accent); font-weight: 600; }
main { max-width: 1280px; margin: 0 auto; padding: 8px 28px 32px; }
h1 { font-size: 26px; margin: 18px 0 4px; }
h2 { font-size: 19px; margin: 0 0 4px; }
h3 { font-size: 15px; margin: 0 0 6px; }
p.lede { color: var(--muted); margin: 0 0 14px; max-width: 900px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 20px; margin: 18px 0; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 12px; margin: 16px 0; }
.kpi { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 8px; padding: 12px 14px; }
.kpi.good { border-left-color: var(--good); } .kpi.warn { border-left-color: var(--warn); } .kpi.muted { border-left-color: #b4bcc8; }
.kpi-label { color: var(--muted); font-size: 13px; }
.kpi-value { font-size: 28px; font-weight: 650; font-variant-numeric: tabular-nums; margin: 2px 0; }
.kpi-note { color: var(--muted); font-size: 12.5px; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 22px; align-items: start; }
@media (max-width: 980px) { .pair { grid-template-columns: 1fr; } }
.chart { width: 100%; min-height: 200px; }
.table-wrap { overflow-x: auto; }
.table-wrap.tall { max-height: 70vh; overflow-y: auto; border-bottom: 1px solid var(--line); }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: 13px; padding-bottom: 6px; }
td:first-child, th:first-child { min-width: 7em; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
thead th { background: var(--bg); font-weight: 600; position: sticky; top: 0; }
tfoot th, tfoot td { font-weight: 650; border-top: 2px solid var(--ink); border-bottom: none; background: #fff; position: sticky; bottom: 0; }
.num { text-align: right; white-space: nowrap; }
tbody tr:hover { background: #f2f6fb; }
details { margin-top: 12px; }
summary { cursor: pointer; color: var(--accent); font-weight: 600; margin-bottom: 8px; }
p.big { font-size: 22px; margin: 4px 0; }
.empty { color: var(--muted); font-style: italic; }
.notes { color: var(--muted); font-size: 13.5px; margin-top: 22px; }
.notes ul { margin: 0; padding-left: 18px; }
.warning { background: #fff7e0; border: 1px solid #f0d58a; border-radius: 6px; padding: 8px 12px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.card { display: block; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; text-decoration: none; color: var(--ink); }
.card:hover { border-color: var(--accent); }
.card strong { display: block; color: var(--accent); margin-bottom: 2px; }
.card span { color: var(--muted); font-size: 13.5px; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0; }
dl.settings dt { color: var(--muted); } dl.settings dd { margin: 0; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; background: var(--bg); padding: 1px 4px; border-radius: 3px; }
footer { color: var(--muted); font-size: 12.5px; text-align: center; padding: 8px 28px 28px; }
@media print { header.top { position: static; } nav { display: none; } section { break-inside: avoid; } body { background: #fff; } }
"""

"""Building the report folder from a database of marts, and replacing the previous one atomically.

The pages are written into a fresh folder beside the target, then swapped in
with one rename (Linux `renameat2(RENAME_EXCHANGE)`; elsewhere two renames a
moment apart), like the serving copy: a reader sees yesterday's report or
today's, never a half-written one. A folder that is not a Baton report is
never replaced.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly
import plotly.offline

from baton.lib.report.figures import Headline, as_date, read_figures
from baton.lib.report.formatting import day_label
from baton.lib.report.html import STYLESHEET, NavItem, Raw, join, page, tag
from baton.lib.report.pages import PAGES, Context
from baton.lib.warehouse import connect

GENERATOR = "Baton report"
SUMMARY_FILE = "report.json"  # the headline figures, machine-readable; also marks the folder as a Baton report


@dataclass(frozen=True)
class ReportResult:
    out_dir: Path
    index: Path
    pages: tuple[Path, ...]
    headline: Headline
    as_of: dt.date | None
    built_at: dt.datetime
    rules_version: str
    source_db: Path


class NotAReportFolder(RuntimeError):
    """The target exists and holds something other than a Baton report: it is left alone."""


def build_report(
    source_db: Path,
    out_dir: Path,
    as_of: dt.date | None = None,
    *,
    rules_settings: dict[str, Any] | None = None,
    built_at: dt.datetime | None = None,
) -> ReportResult:
    """Read the marts of `source_db` (read-only) and write the report folder `out_dir`.

    `as_of`: the date shown as "as of"; None takes `config.rules.as_of_date` when the database has it.
    `rules_settings`: the `config.rules` row, shown on the rules page when the database has none
    (the serving copy carries the marts only).
    """
    source_db, out_dir = Path(source_db).resolve(), Path(out_dir).resolve()
    if not source_db.is_file():
        raise FileNotFoundError(f"no database at {source_db}: run `baton run` first")
    _check_target(out_dir)
    conn = connect(source_db, read_only=True)
    try:
        figures = read_figures(conn)
    finally:
        conn.close()
    if figures.rules_settings is None and rules_settings is not None:
        figures.rules_settings = dict(rules_settings)
    if as_of is None:
        as_of = as_date((figures.rules_settings or {}).get("as_of_date"))
    built_at = (built_at or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)
    versions = [row["rules_version"] or "(none)" for row in figures.rules_versions]
    rules_version = " + ".join(versions) if versions else (figures.rules_settings or {}).get("rules_version") or "(no leads yet)"
    ctx = Context(figures=figures, as_of=as_of, built_at=built_at, rules_version=rules_version, source=str(source_db))

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.parent.glob(f".{out_dir.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)  # left by a build killed half-way
    staging = out_dir.with_name(f".{out_dir.name}.{uuid.uuid4().hex}.tmp")
    try:
        _write(staging, ctx)
        _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the new folder if the swap failed, the old one after it
    return ReportResult(
        out_dir=out_dir,
        index=out_dir / "index.html",
        pages=tuple(out_dir / p.file for p in PAGES),
        headline=figures.headline,
        as_of=as_of,
        built_at=built_at,
        rules_version=rules_version,
        source_db=source_db,
    )


def plotly_asset() -> tuple[str, str]:
    """(file name under assets/, content) of the plotly.js bundle that ships inside the plotly wheel."""
    return f"plotly-{plotly.offline.get_plotlyjs_version()}.min.js", plotly.offline.get_plotlyjs()


def _write(folder: Path, ctx: Context) -> None:
    assets = folder / "assets"
    assets.mkdir(parents=True)
    script_name, script = plotly_asset()
    (assets / script_name).write_text(script, encoding="utf-8")
    (assets / "report.css").write_text(STYLESHEET.lstrip(), encoding="utf-8")
    nav = [NavItem(p.file, p.nav) for p in PAGES]
    meta = _meta(ctx)
    footer = join(
        [
            "Baton · every figure is SQL on the marts of ",
            tag("code", Path(ctx.source).name),
            " · numbers: shares rounded half up to 0.1%, amounts to whole units (ARR in the deals' currency) · works offline",
        ]
    )
    for spec in PAGES:
        lede, body = spec.render(ctx)
        text = page(
            title=spec.title, file=spec.file, nav=nav, meta=meta, body=body, lede=lede, footer=footer,
            scripts=[f"assets/{script_name}"], stylesheet="assets/report.css",
        )
        (folder / spec.file).write_text(text, encoding="utf-8")
    summary = {
        "generator": GENERATOR,
        "as_of": ctx.as_of.isoformat() if ctx.as_of else None,
        "built_at": ctx.built_at.isoformat(),
        "rules_version": ctx.rules_version,
        "source": ctx.source,
        "headline": ctx.figures.headline.as_dict(),
        "pages": [p.file for p in PAGES],
    }
    (folder / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    for path in folder.rglob("*"):
        if path.is_file():
            _fsync(path)


def _meta(ctx: Context) -> Raw:
    as_of = (
        tag("time", day_label(ctx.as_of), id="as-of", datetime=ctx.as_of.isoformat())
        if ctx.as_of
        else tag("span", "not recorded", id="as-of")
    )
    return join(
        [
            "As of ", tag("strong", as_of), " · rules ", tag("strong", ctx.rules_version, id="rules-version"),
            " · built ", tag("time", ctx.built_at.strftime("%Y-%m-%d %H:%M UTC"), id="built-at", datetime=ctx.built_at.isoformat()),
        ]
    )


def _check_target(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise NotAReportFolder(f"{out_dir} exists and is not a folder: not replacing it with the report")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_report_folder(out_dir):
        raise NotAReportFolder(f"{out_dir} holds files that are not a Baton report: not replacing it (choose another folder)")


def is_report_folder(folder: Path) -> bool:
    try:
        return json.loads((folder / SUMMARY_FILE).read_text(encoding="utf-8")).get("generator") == GENERATOR
    except (OSError, ValueError, AttributeError):
        return False


def _swap_in(staging: Path, target: Path) -> None:
    """Put `staging` at `target` in one step; the previous report ends up at `staging` (then removed)."""
    _fsync(staging)
    if not target.exists():
        os.rename(staging, target)
    elif not _exchange(staging, target):
        aside = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        os.rename(target, aside)
        os.rename(staging, target)
        os.rename(aside, staging)
    _fsync(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where it is not available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    renameat2.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["NotAReportFolder", "ReportResult", "build_report", "is_report_folder", "plotly_asset"]

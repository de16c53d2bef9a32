"""The nightly HTML report: the marts as pages a head of marketing opens in a browser.

`build_report(source_db, out_dir, as_of)` reads the marts of a DuckDB file
(the serving copy, so the report shows what BI tools see) and writes a folder
of static pages (index.html and one page per question) with the plotly.js
bundle beside them: it opens from disk or from any static web server, and
fetches nothing from the network. docs/report.md describes the pages, the
number formats and the choice of Plotly.

Plain Python: the Dagster asset that runs it every night is defs/report.py.
`python -m baton.lib.report` builds it by hand from the current settings.
"""

from __future__ import annotations

from pathlib import Path

from baton.lib import settings
from baton.lib.settings import report_dir
from baton.lib.report.build import NotAReportFolder, ReportResult, build_report, is_report_folder
from baton.lib.report.figures import Figures, Headline, MissingMarts, read_figures
from baton.lib.report.pages import PAGES


def report_source() -> Path:
    """The serving copy (what BI sees) when there is one, else the warehouse (opened read-only)."""
    serving = settings.serving_path()
    return serving if serving.is_file() else settings.duckdb_path()


__all__ = [
    "PAGES",
    "Figures",
    "Headline",
    "MissingMarts",
    "NotAReportFolder",
    "ReportResult",
    "build_report",
    "is_report_folder",
    "read_figures",
    "report_dir",
    "report_source",
]

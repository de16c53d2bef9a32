"""`python -m baton.lib.report [--source DB] [--out FOLDER] [--as-of YYYY-MM-DD]`: build the report by hand."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from baton.lib.report import build_report, report_dir, report_source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baton.lib.report", description=__doc__)
    parser.add_argument("--source", type=Path, help="DuckDB file with the marts (default: the serving copy, else the warehouse)")
    parser.add_argument("--out", type=Path, help="report folder (default: BATON_REPORT_DIR, else <warehouse folder>/report)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help="as-of date shown (default: the build's, when recorded)")
    args = parser.parse_args(argv)
    try:
        result = build_report(args.source or report_source(), args.out or report_dir(), args.as_of)
    except Exception as error:  # noqa: BLE001 - a command line: say what went wrong, exit non-zero
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"report of {result.source_db} written to {result.index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

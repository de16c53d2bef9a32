"""Time the extract step on one large engagement-events CSV.

    . .venv/bin/activate
    python benchmarks/extract_bench.py --rows 2000000             # ~200 MB
    python benchmarks/extract_bench.py --rows 20000000 --keep /tmp/xb  # ~2 GB

Writes `<dir>/landing/engagement_events/events.csv` with DuckDB `COPY` (one
line per event, built in SQL; kept and reused while the settings stay the
same), then loads it with `load_entity` into a fresh warehouse file
`<dir>/bench.duckdb` in a child process, and reports the seconds
`load_entity` took and the child's peak RSS (`resource.getrusage`, so the
generator's memory is not counted).

By default a small share of rows is bad, so the quarantine paths run too:
every `--bad-every`-th event has an unknown event type, a bad timestamp, a
missing event_id or no lead_id/email (in turn), and is sent again, good,
three rows later (in place of that row's event), so the bad row is also
superseded; with `--ragged` some of them have a field too many or too few
instead (read through DuckDB's rejects table). `--bad-every 0` writes a
clean file. The child then checks every row number: row n holds event n
(or, re-sent, n - 3), and exactly the bad rows are quarantined.

Options: `--memory-limit` / `--threads` set DuckDB's (as the
BATON_DUCKDB_MEMORY_LIMIT / BATON_DUCKDB_THREADS env vars do in a run),
`--temp-dir` its spill folder; `--json` prints the result as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "event_id,lead_id,email,event_type,campaign_id,asset_name,occurred_at"
TYPES = [
    "webinar_registration", "webinar_attendance", "ebook_download", "ad_click", "blog_view", "newsletter_open",
    "email_click", "website_visit", "form_submission", "event_attendance", "demo_request",
]


def _fields(i: str) -> str:
    """The CSV line of event number `i` (an SQL expression), all fields valid."""
    types = "[" + ", ".join(f"'{t}'" for t in TYPES) + "]"
    i = f"({i})"
    return f"""concat_ws(',',
        'E-' || lpad({i}::VARCHAR, 10, '0'),
        CASE WHEN {i} % 5 = 0 THEN '' ELSE 'L-' || ({i} * 7919 % 1000003)::VARCHAR END,
        CASE WHEN {i} % 5 IN (1, 2) THEN '' ELSE 'person' || ({i} * 7919 % 1000003)::VARCHAR || '@example.com' END,
        {types}[1 + ({i} * 31 % 11)::INTEGER],
        CASE WHEN {i} % 4 = 0 THEN '' ELSE 'CMP-2024-' || lpad(({i} % 500)::VARCHAR, 4, '0') END,
        CASE WHEN {i} % 3 = 1 THEN '' ELSE 'Whitepaper: the state of finance ' || ({i} % 97)::VARCHAR END,
        strftime(TIMESTAMP '2024-01-01' + to_seconds({i} * 13 % 63072000), '%Y-%m-%dT%H:%M:%SZ'))"""


def _lines_sql(rows: int, bad_every: int, ragged: bool) -> str:
    """One VARCHAR column, one value per CSV record, in file order."""
    fields = _fields("i")
    line = fields
    if bad_every:
        # Event i (i a multiple of bad_every) is bad; row i + 3 re-sends it, good, in place of event i + 3.
        bad = f"""
            CASE (i // {bad_every}) % 4
                WHEN 0 THEN regexp_replace({fields}, '^([^,]*,[^,]*,[^,]*),[^,]*,', '\\1,podcast_listen,')
                WHEN 1 THEN regexp_replace({fields}, ',[^,]*$', ',2025-02-30T10:00:00Z')
                WHEN 2 THEN regexp_replace({fields}, '^[^,]*', '')
                ELSE regexp_replace({fields}, '^([^,]*),[^,]*,[^,]*,', '\\1,,,')
            END
        """
        if ragged:
            bad = (
                f"CASE WHEN (i // {bad_every}) % 10 = 7 THEN {fields} || ',surplus' "
                f"WHEN (i // {bad_every}) % 10 = 9 THEN regexp_replace({fields}, ',[^,]*$', '') ELSE {bad} END"
            )
        line = f"CASE WHEN i % {bad_every} = 0 THEN {bad} WHEN i % {bad_every} = 3 AND i > 3 THEN {_fields('i - 3')} ELSE {fields} END"
    # The column's name is the header line (COPY writes it first, unquoted: it holds no tab).
    return f'SELECT {line} AS "{HEADER}" FROM range(1, {rows + 1}) t(i)'


def generate(path: Path, rows: int, bad_every: int, ragged: bool) -> float:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    conn = duckdb.connect()
    conn.execute("SET preserve_insertion_order = true")
    # One column whose values never hold the delimiter or quote: every line is written as is.
    conn.execute(
        f"COPY ({_lines_sql(rows, bad_every, ragged)}) TO $path "
        "(FORMAT csv, HEADER true, DELIMITER '\t', QUOTE '\x02', ESCAPE '\x02')",
        {"path": str(path)},
    )
    conn.close()
    return time.perf_counter() - started


def _load(work: Path, bad_every: int, memory_limit: str | None, threads: str | None, temp_dir: str | None) -> None:
    """In the child: load the landing folder into a fresh warehouse, print the result as JSON."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orchestration"))
    import duckdb

    from baton.extract.loader import load_entity

    database = work / "bench.duckdb"
    for stale in (database, Path(str(database) + ".wal")):
        stale.unlink(missing_ok=True)
    conn = duckdb.connect(str(database))
    conn.execute("SET TimeZone = 'UTC'")
    for setting, value in (("memory_limit", memory_limit), ("threads", threads), ("temp_directory", temp_dir)):
        if value:
            conn.execute(f"SET {setting} = ?", [value])
    started = time.perf_counter()
    (result,) = load_entity(conn, "engagement_events", work / "landing", progress=lambda message: None)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "status": result.status, "reason": result.reason, "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined,
        "load_seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024),
        "row_numbers_ok": _row_numbers_ok(conn, bad_every), "warehouse_mib": round(database.stat().st_size / 2**20),
    }))
    conn.close()


def _row_numbers_ok(conn, bad_every: int) -> bool:
    """Row n of the file is event n, except the re-sent ones (row n holds event n - 3), and
    exactly the bad rows (every `bad_every`-th) are quarantined."""
    if bad_every:
        expected = f"CASE WHEN _row_number % {bad_every} = 3 AND _row_number > 3 THEN _row_number - 3 ELSE _row_number END"
        wrong_quarantined = conn.execute(
            f"SELECT count(*) FILTER (WHERE row_number % {bad_every} <> 0) FROM audit.quarantine"
        ).fetchone()[0]
    else:
        expected, wrong_quarantined = "_row_number", conn.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0]
    wrong_loaded = conn.execute(
        f"SELECT count(*) FROM raw.engagement_events WHERE TRY_CAST(substr(event_id, 3) AS BIGINT) IS DISTINCT FROM {expected}"
    ).fetchone()[0]
    return wrong_loaded == 0 and wrong_quarantined == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--bad-every", type=int, default=1000, help="every N-th event is bad and repeated (0: none)")
    parser.add_argument("--ragged", action="store_true", help="some bad rows have too many / too few fields")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--memory-limit")
    parser.add_argument("--threads")
    parser.add_argument("--temp-dir")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()
    if args.load:
        _load(args.load, args.bad_every, args.memory_limit, args.threads, args.temp_dir)
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="extract_bench_"))
    try:
        csv_path = work / "landing" / "engagement_events" / "events.csv"
        stamp = work / "landing.json"
        wanted = {"sql": _lines_sql(args.rows, args.bad_every, args.ragged)}
        generated = None
        if not (csv_path.exists() and stamp.exists() and json.loads(stamp.read_text()) == wanted):
            generated = generate(csv_path, args.rows, args.bad_every, args.ragged)
            stamp.write_text(json.dumps(wanted))
        child = [sys.executable, __file__, "--load", str(work), "--bad-every", str(args.bad_every)]
        for option in ("memory_limit", "threads", "temp_dir"):
            if getattr(args, option):
                child += [f"--{option.replace('_', '-')}", getattr(args, option)]
        started = time.perf_counter()
        output = subprocess.run(child, check=True, capture_output=True, text=True).stdout
        result = json.loads(output.strip().splitlines()[-1])
        result.update(
            rows=args.rows, csv_mib=round(csv_path.stat().st_size / 2**20), process_seconds=round(time.perf_counter() - started, 2),
            generate_seconds=None if generated is None else round(generated, 2), cores=os.cpu_count(),
            memory_limit=args.memory_limit, threads=args.threads,
        )
        if args.json:
            print(json.dumps(result))
        else:
            print(
                f"{result['rows']:,} rows ({result['csv_mib']} MiB CSV): {result['status']}, "
                f"read {result['rows_read']:,}, loaded {result['rows_loaded']:,}, "
                f"quarantined {result['rows_quarantined']:,}\n"
                f"load_entity {result['load_seconds']} s (process {result['process_seconds']} s), "
                f"peak RSS {result['peak_rss_mib']} MiB, warehouse {result['warehouse_mib']} MiB, "
                f"row numbers {'ok' if result['row_numbers_ok'] else 'WRONG'}"
                + (f"; generated in {result['generate_seconds']} s" if generated is not None else "")
            )
        return 0 if result["status"] == "loaded" and result["row_numbers_ok"] else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

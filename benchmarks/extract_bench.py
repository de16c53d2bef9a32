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

`--resend N` then loads, into the same warehouse, a second file of N events
(`<dir>/landing_resend/engagement_events/events_resend.csv`): every other
one re-sends an event the first file loaded, the others are new. Events are
immutable, so each re-sent one is quarantined as already loaded (the check
looks up the first file's rows in raw); the seconds of that second load are
reported too (`resend_seconds`), and its quarantine is checked.

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


def _fields(i: str) -> str:
    """The CSV line of event number `i` (an SQL expression), all fields valid."""
    from baton.lib.sqltext import quote_literal
    from baton.lib.vocabularies import EVENT_TYPES

    types = "[" + ", ".join(quote_literal(t) for t in EVENT_TYPES) + "]"
    i = f"({i})"
    return f"""concat_ws(',',
        'E-' || lpad({i}::VARCHAR, 10, '0'),
        CASE WHEN {i} % 5 = 0 THEN '' ELSE 'L-' || ({i} * 7919 % 1000003)::VARCHAR END,
        CASE WHEN {i} % 5 IN (1, 2) THEN '' ELSE 'person' || ({i} * 7919 % 1000003)::VARCHAR || '@example.com' END,
        {types}[1 + ({i} * 31 % {len(EVENT_TYPES)})::INTEGER],
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


def _resent_event(j: str, rows: int, resend: int, bad_every: int) -> str:
    """The event (of the first file) that row `j` (odd) of the re-send file sends again: spread over
    the file, never a bad one nor one the first file re-sent itself (both are not at their own row)."""
    step = max(2, rows // (resend // 2 + 1))
    p = f"(1 + ({j} // 2) * {step})"
    return f"(CASE WHEN {p} % {bad_every} IN (0, 3) THEN {p} - 1 ELSE {p} END)" if bad_every else p


def _resend_sql(rows: int, resend: int, bad_every: int) -> str:
    """The re-send file: odd rows re-send an event of the first file, even rows are new events."""
    line = f"CASE WHEN j % 2 = 1 THEN {_fields(_resent_event('j', rows, resend, bad_every))} ELSE {_fields(f'{rows} + j')} END"
    return f'SELECT {line} AS "{HEADER}" FROM range(1, {resend + 1}) t(j)'


def generate(path: Path, rows: int, bad_every: int, ragged: bool, sql: str | None = None) -> float:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    conn = duckdb.connect()
    conn.execute("SET preserve_insertion_order = true")
    # One column whose values never hold the delimiter or quote: every line is written as is.
    conn.execute(
        f"COPY ({sql or _lines_sql(rows, bad_every, ragged)}) TO $path "
        "(FORMAT csv, HEADER true, DELIMITER '\t', QUOTE '\x02', ESCAPE '\x02')",
        {"path": str(path)},
    )
    conn.close()
    return time.perf_counter() - started


def _load(
    work: Path, bad_every: int, memory_limit: str | None, threads: str | None, temp_dir: str | None, resend: int = 0
) -> None:
    """In the child: load the landing folder into a fresh warehouse, print the result as JSON."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "orchestration"))
    import duckdb

    from baton.lib.extract.loader import load_entity

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
    output = {
        "status": result.status, "reason": result.reason, "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined,
        "load_seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024),
        "row_numbers_ok": _row_numbers_ok(conn, bad_every),
    }
    if resend:
        started = time.perf_counter()
        (second,) = load_entity(conn, "engagement_events", work / "landing_resend", progress=lambda message: None)
        output.update(
            resend_status=second.status, resend_loaded=second.rows_loaded, resend_quarantined=second.rows_quarantined,
            resend_seconds=round(time.perf_counter() - started, 2),
            resend_peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            resend_ok=_resend_ok(conn, resend),
        )
    output["warehouse_mib"] = round(database.stat().st_size / 2**20)
    print(json.dumps(output))
    conn.close()


def _resend_ok(conn, resend: int) -> bool:
    """Each re-sent event (odd rows) is quarantined as already loaded from its row of the first
    file (the row numbered like the event), the new ones (even rows) load."""
    wrong = conn.execute(
        """
        SELECT count(*) FROM audit.quarantine AS q JOIN audit.load_ledger AS l USING (file_id)
        WHERE l.file_name = 'events_resend.csv' AND (q.row_number % 2 = 0 OR q.reason <> 'event_id: already loaded from events.csv row '
              || TRY_CAST(substr(q.raw_row ->> 'event_id', 3) AS BIGINT) || '; events are immutable, the first loaded version counts')
        """
    ).fetchone()[0]
    quarantined, loaded = conn.execute(
        "SELECT rows_quarantined, rows_loaded FROM audit.load_ledger WHERE file_name = 'events_resend.csv'"
    ).fetchone()
    return wrong == 0 and quarantined == (resend + 1) // 2 and loaded == resend // 2


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
    parser.add_argument("--resend", type=int, default=0, help="then load a second file of N events, half re-sent")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    parser.add_argument("--memory-limit")
    parser.add_argument("--threads")
    parser.add_argument("--temp-dir")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)  # the child's mode
    args = parser.parse_args()
    if args.load:
        _load(args.load, args.bad_every, args.memory_limit, args.threads, args.temp_dir, args.resend)
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
        if args.resend:
            generate(work / "landing_resend" / "engagement_events" / "events_resend.csv", args.resend, 0, False,
                     _resend_sql(args.rows, args.resend, args.bad_every))
        child = [sys.executable, __file__, "--load", str(work), "--bad-every", str(args.bad_every),
                 "--resend", str(args.resend)]
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
                + (
                    f"\nre-send file ({args.resend:,} events): {result['resend_status']}, loaded {result['resend_loaded']:,}, "
                    f"quarantined {result['resend_quarantined']:,} in {result['resend_seconds']} s "
                    f"(peak RSS {result['resend_peak_rss_mib']} MiB), {'ok' if result['resend_ok'] else 'WRONG'}"
                    if args.resend else ""
                )
            )
        ok = result["status"] == "loaded" and result["row_numbers_ok"] and result.get("resend_ok", True)
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

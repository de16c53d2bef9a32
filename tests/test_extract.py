"""The extract step on hostile input (CONTRACT.md s2 "Bad input", s7).

Fast: no Dagster, no dbt. Every test builds a landing folder under tmp_path
from the plain-text fixtures in tests/fixtures/hostile/ (or bytes generated
here: Latin-1, 0-byte, a 1 MB field, Parquet, odd file names, a symlink),
loads it with `load_entity` into an in-memory DuckDB and checks exactly what
was loaded, what was quarantined (reason and row number) and what the ledger
says. Every test ends by checking that each file balances: rows read = rows
loaded + rows quarantined, both in the ledger and in what is stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from baton.lib.extract import loader
from baton.lib.extract import lake
from baton.lib.extract.loader import FileLoad, load_entity

FIXTURES = Path(__file__).parent / "fixtures" / "hostile"
LEADS_HEADER = "lead_id,email,lead_source,created_at\n"


# --- helpers ---------------------------------------------------------------------------------


@pytest.fixture
def conn() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    assert_balanced(connection)
    connection.close()


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


def put(landing: Path, entity: str, name: str, content: str | bytes | None = None, fixture: str | None = None) -> Path:
    """Place a file in `<landing>/<entity>/` from a fixture or from the given content."""
    folder = landing / entity
    folder.mkdir(exist_ok=True)
    target = folder / name
    if fixture is not None:
        shutil.copyfile(FIXTURES / fixture, target)
    elif isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content or "", encoding="utf-8", newline="")
    return target


def load(conn: duckdb.DuckDBPyConnection, entity: str, landing: Path) -> list[FileLoad]:
    return load_entity(conn, entity, landing, progress=lambda message: None)


def ledger(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    """The ledger; a header's reason without its list of the mappings tried (tests/test_mappings.py)."""
    rows = conn.execute(
        "SELECT file_name, status, rows_read, rows_loaded, rows_quarantined, reason FROM audit.load_ledger ORDER BY file_id"
    ).fetchall()
    return [(*row[:5], without_mappings_tried(row[5])) for row in rows]


def without_mappings_tried(reason: str | None) -> str | None:
    return reason.split("; no mapping ")[0] if reason else reason


def quarantine(conn: duckdb.DuckDBPyConnection) -> list[tuple]:
    rows = conn.execute(
        "SELECT source_file, row_number, reason FROM audit.quarantine ORDER BY file_id, row_number"
    ).fetchall()
    return [(Path(source).name, row, reason) for source, row, reason in rows]


def quarantined_raw(conn: duckdb.DuckDBPyConnection, row_number: int):
    (raw,) = conn.execute("SELECT raw_row FROM audit.quarantine WHERE row_number = ?", [row_number]).fetchone()
    return json.loads(raw)


def raw(conn: duckdb.DuckDBPyConnection, entity: str, columns: str) -> list[tuple]:
    return conn.execute(f"SELECT {columns} FROM raw.{entity} ORDER BY _file_id, _row_number").fetchall()


def raw_row(conn: duckdb.DuckDBPyConnection, entity: str, where: str) -> dict | None:
    """`_raw_row` of one loaded row: the file's columns that match no contract column (None: the file has none)."""
    (value,) = conn.execute(f"SELECT _raw_row FROM raw.{entity} WHERE {where}").fetchone()
    return None if value is None else json.loads(value)


def assert_balanced(conn: duckdb.DuckDBPyConnection) -> None:
    """Every file: rows read = loaded + quarantined, and that is what is stored."""
    if not conn.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'audit'").fetchone()[0]:
        return
    names = [name for (name,) in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()]
    stored = " UNION ALL ".join(f"SELECT _file_id AS file_id FROM raw.{name}" for name in names)
    problems = conn.execute(
        f"""
        WITH stored AS (SELECT file_id, count(*) AS n FROM ({stored}) GROUP BY ALL),
             held AS (SELECT file_id, count(*) AS n FROM audit.quarantine GROUP BY ALL)
        SELECT l.file_name, l.status, l.rows_read, l.rows_loaded, l.rows_quarantined, coalesce(s.n, 0), coalesce(h.n, 0)
        FROM audit.load_ledger AS l LEFT JOIN stored AS s USING (file_id) LEFT JOIN held AS h USING (file_id)
        WHERE l.rows_read <> l.rows_loaded + l.rows_quarantined
           OR coalesce(s.n, 0) <> l.rows_loaded OR coalesce(h.n, 0) <> l.rows_quarantined
           OR (l.status <> 'loaded' AND l.rows_read <> 0)
        """
    ).fetchall()
    assert problems == []
    # Raw is a Parquet lake: one folder per loaded file (none for a failed, duplicate... file), nothing else.
    folders = {(p.parent.name, p.name) for p in (lake.root(conn) / "raw").glob("*/*")}
    loaded = conn.execute("SELECT entity, 'file_id=' || file_id FROM audit.load_ledger WHERE status = 'loaded'").fetchall()
    assert folders == set(loaded)
    assert not list((lake.root(conn) / "raw").glob("*/*/.tmp-*"))


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args)


# --- the hostile corpus ----------------------------------------------------------------------


def test_utf8_bom_is_stripped_and_the_header_still_matches(conn, landing) -> None:
    put(landing, "leads", "bom.csv", fixture="bom.csv")
    assert (FIXTURES / "bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    load(conn, "leads", landing)
    assert ledger(conn) == [("bom.csv", "loaded", 1, 1, 0, None)]
    assert raw(conn, "leads", "lead_id, email, lead_source, created_at, _row_number") == [
        ("H-1", "bom@example.com", "webinar", utc(2026, 1, 5, 10), 1)
    ]
    # every column of the file is a contract column: nothing else to keep with the row
    assert raw_row(conn, "leads", "lead_id = 'H-1'") is None


def test_crlf_line_ends_load_without_stray_carriage_returns(conn, landing) -> None:
    put(landing, "leads", "crlf.csv", fixture="crlf.csv")
    assert b"\r\n" in (FIXTURES / "crlf.csv").read_bytes()
    load(conn, "leads", landing)
    assert ledger(conn) == [("crlf.csv", "loaded", 2, 2, 0, None)]
    # A line break inside a quoted value is part of the value; the row end is not.
    assert raw(conn, "leads", "lead_id, company_name, lead_source, created_at, _row_number") == [
        ("H-1", "Acme\r\nHoldings", "webinar", utc(2026, 1, 5, 10), 1),
        ("H-2", "Initech", "ebook", utc(2026, 1, 6, 11, 30), 2),
    ]


def test_latin1_file_fails_as_not_utf8_and_does_not_stop_the_other_files(conn, landing) -> None:
    put(landing, "leads", "a_latin1.csv", (LEADS_HEADER + "H-1,jos\xe9@example.com,webinar,2026-01-05\n"
                                           "H-2,ok@example.com,webinar,2026-01-05\n").encode("latin-1"))
    put(landing, "leads", "b_latin1_header.csv", "lead_id,email,lead_source,created_at,Ré\nH-3,x,web,2026-01-05,1\n".encode("latin-1"))
    put(landing, "leads", "c_good.csv", fixture="leads_good.csv")
    results = load(conn, "leads", landing)
    assert [r.status for r in results] == ["failed", "failed", "loaded"]
    (a, b, c) = ledger(conn)
    assert a[:5] == ("a_latin1.csv", "failed", 0, 0, 0)
    assert a[5] == "not UTF-8 encoded: invalid byte sequence in row 1, column email; re-export the file as UTF-8"
    assert b[:5] == ("b_latin1_header.csv", "failed", 0, 0, 0)
    assert b[5].startswith("not UTF-8 encoded: invalid byte 0xe9 in the header row")
    assert c == ("c_good.csv", "loaded", 2, 2, 0, None)
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]  # from c_good.csv only
    assert quarantine(conn) == []


def test_ragged_rows_are_quarantined_with_row_number_and_the_good_rows_load(conn, landing) -> None:
    put(landing, "leads", "ragged.csv", fixture="ragged.csv")
    load(conn, "leads", landing)
    assert ledger(conn) == [("ragged.csv", "loaded", 4, 2, 2, None)]
    assert raw(conn, "leads", "lead_id, _row_number") == [("H-1", 1), ("H-4", 4)]
    assert quarantine(conn) == [
        ("ragged.csv", 2, "too few fields (3 of 4): no value for created_at"),
        ("ragged.csv", 3, "too many fields (5, the header has 4): extra value after the last column, created_at"),
    ]
    # the raw row of a row that cannot be split is its original text
    assert quarantined_raw(conn, 2) == "H-2,two@example.com,webinar"
    assert quarantined_raw(conn, 3) == "H-3,three@example.com,webinar,2026-01-05T10:00:00Z,surplus"


def test_unterminated_quote_quarantines_that_row_and_keeps_the_rows_before(conn, landing) -> None:
    put(landing, "leads", "unterminated_quote.csv", fixture="unterminated_quote.csv")
    load(conn, "leads", landing)
    # Row 2 has text after a closing quote; row 4 opens a quote that never
    # closes, so the rest of the file (the H-5 line) is inside row 4.
    assert ledger(conn) == [("unterminated_quote.csv", "loaded", 4, 2, 2, None)]
    assert raw(conn, "leads", "lead_id, email, _row_number") == [
        ("H-1", "one@example.com", 1),
        ("H-3", "three@example.com", 3),
    ]
    assert quarantine(conn) == [
        ("unterminated_quote.csv", 2, "email: unterminated quote, or text after a closing quote"),
        ("unterminated_quote.csv", 4, "email: unterminated quote, or text after a closing quote"),
    ]
    assert quarantined_raw(conn, 4) == (
        'H-4,"four@example.com,webinar,2026-01-07T10:00:00Z\nH-5,five@example.com,webinar,2026-01-08T10:00:00Z\n'
    )


def test_blank_lines_are_not_rows_and_do_not_shift_row_numbers(conn, landing) -> None:
    put(
        landing,
        "leads",
        "blank_lines.csv",
        LEADS_HEADER
        + "H-1,one@example.com,webinar,2026-01-05\n\n"
        + "H-2,two@example.com\n"
        + ",,,\n\n\n"
        + 'H-3,"multi\n\nline",webinar,2026-01-05\n'
        + "H-4,four@example.com,webinar,2026-01-05,extra\n"
        + "H-5,five@example.com,webinar,2026-01-05\n\n",
    )
    load(conn, "leads", landing)
    assert ledger(conn) == [("blank_lines.csv", "loaded", 6, 3, 3, None)]
    assert raw(conn, "leads", "lead_id, email, _row_number") == [
        ("H-1", "one@example.com", 1),
        ("H-3", "multi\n\nline", 4),  # a blank line inside quotes is part of the value
        ("H-5", "five@example.com", 6),
    ]
    assert quarantine(conn) == [
        ("blank_lines.csv", 2, "too few fields (2 of 4): no value for lead_source, created_at"),
        (
            "blank_lines.csv",
            3,
            "lead_id: required value is missing; lead_source: required value is missing; "
            "created_at: required value is missing",
        ),
        ("blank_lines.csv", 5, "too many fields (5, the header has 4): extra value after the last column, created_at"),
    ]


def test_header_only_file_loads_zero_rows(conn, landing) -> None:
    put(landing, "leads", "header_only.csv", fixture="header_only.csv")
    load(conn, "leads", landing)
    assert ledger(conn) == [("header_only.csv", "loaded", 0, 0, 0, None)]
    assert raw(conn, "leads", "lead_id") == []


def test_zero_byte_file_fails_as_empty(conn, landing) -> None:
    put(landing, "leads", "empty.csv", b"")
    put(landing, "engagement_events", "empty.jsonl", b"")
    put(landing, "leads", "good.csv", fixture="leads_good.csv")
    load(conn, "leads", landing)
    load(conn, "engagement_events", landing)
    assert ledger(conn) == [
        ("empty.csv", "failed", 0, 0, 0, "empty file (0 bytes)"),
        ("good.csv", "loaded", 2, 2, 0, None),
        ("empty.jsonl", "failed", 0, 0, 0, "empty file (0 bytes)"),
    ]


def test_missing_required_column_fails_the_file_and_earlier_data_stays(conn, landing) -> None:
    put(landing, "leads", "leads_01.csv", fixture="leads_good.csv")
    load(conn, "leads", landing)
    put(landing, "leads", "leads_02.csv", fixture="missing_required_column.csv")
    put(landing, "leads", "leads_03.csv", LEADS_HEADER + "H-4,four@example.com,ebook,2026-02-01\n")
    results = load(conn, "leads", landing)
    assert [r.status for r in results] == ["unchanged", "failed", "loaded"]
    assert ledger(conn) == [
        ("leads_01.csv", "loaded", 2, 2, 0, None),
        (
            "leads_02.csv",
            "failed",
            0,
            0,
            0,
            "leads_02.csv: missing required column(s) created_at (header has: lead_id, email, lead_source)",
        ),
        ("leads_03.csv", "loaded", 1, 1, 0, None),
    ]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-4",)]
    assert quarantine(conn) == []


def test_extra_and_reordered_columns_load_and_the_extra_stays_in_raw_row(conn, landing) -> None:
    put(landing, "leads", "extra.csv", fixture="extra_reordered_columns.csv")
    load(conn, "leads", landing)
    assert raw(conn, "leads", "lead_id, email, lead_source, created_at") == [
        ("H-1", "one@example.com", "webinar", utc(2026, 1, 5, 10))
    ]
    # `_raw_row` keeps only the column that matches no contract column (the typed columns hold the rest)
    assert raw_row(conn, "leads", "lead_id = 'H-1'") == {"Favourite Colour": "teal"}
    columns = [row[0] for row in conn.execute("DESCRIBE raw.leads").fetchall()]
    assert not any("colour" in c.lower() for c in columns)
    # a quarantined row still keeps the whole original row
    put(landing, "leads", "extra_bad.csv", "Favourite Colour,lead_id,lead_source,created_at\nred,H-2,webinar,someday\n")
    load(conn, "leads", landing)
    assert quarantine(conn) == [("extra_bad.csv", 1, "created_at: not a valid ISO 8601 date/time: someday")]
    assert quarantined_raw(conn, 1) == {"Favourite Colour": "red", "lead_id": "H-2", "lead_source": "webinar", "created_at": "someday"}


def test_duplicated_header_of_an_extra_column_is_kept_in_raw_row(conn, landing) -> None:
    put(landing, "leads", "dup_extra.csv", fixture="duplicated_header_extra.csv")
    load(conn, "leads", landing)
    assert ledger(conn) == [("dup_extra.csv", "loaded", 1, 1, 0, None)]
    assert raw_row(conn, "leads", "lead_id = 'H-1'") == {"notes": "first note", "notes (2)": "second note"}


def test_duplicated_header_of_a_contract_column_fails_the_file(conn, landing) -> None:
    put(landing, "leads", "dup_contract.csv", fixture="duplicated_header_contract.csv")
    load(conn, "leads", landing)
    assert ledger(conn) == [
        (
            "dup_contract.csv",
            "failed",
            0,
            0,
            0,
            "dup_contract.csv: duplicated column email: header columns 2 ('email'), 5 (' Email') all name it",
        )
    ]
    assert raw(conn, "leads", "lead_id") == []


def test_one_megabyte_field_loads_whole(conn, landing) -> None:
    big = "x" * 1_000_000
    put(landing, "leads", "big.csv", "lead_id,email,company_name,lead_source,created_at,comment\n"
        f"H-1,one@example.com,{big},webinar,2026-01-05,{big}y\nH-2,two@example.com,Small,ebook,2026-01-06,\n")
    load(conn, "leads", landing)
    assert ledger(conn) == [("big.csv", "loaded", 2, 2, 0, None)]
    assert raw(conn, "leads", "lead_id, length(company_name), _row_number") == [("H-1", 1_000_000, 1), ("H-2", 5, 2)]
    # the extra column, whole (an empty value is kept as the file's text)
    assert raw_row(conn, "leads", "lead_id = 'H-1'") == {"comment": big + "y"}
    assert raw_row(conn, "leads", "lead_id = 'H-2'") == {"comment": ""}


def test_bad_numbers_are_quarantined_never_guessed(conn, landing) -> None:
    put(landing, "deals", "bad_numbers.csv", fixture="bad_numbers.csv")
    put(landing, "leads", "counts.csv", "lead_id,lead_source,created_at,employee_count\n"
        'H-1,webinar,2026-01-05,"1,200"\nH-2,webinar,2026-01-05,120\nH-3,webinar,2026-01-05,12.5\n'
        "H-4,webinar,2026-01-05,n/a\nH-5,webinar,2026-01-05,250.0\n")
    load(conn, "deals", landing)
    load(conn, "leads", landing)
    assert raw(conn, "deals", "deal_id, amount, stage") == [("D-1", 1200.5, "negotiation"), ("D-6", 300.0, "negotiation")]
    assert raw(conn, "leads", "lead_id, employee_count") == [("H-2", 120), ("H-5", 250)]
    assert quarantine(conn) == [
        ("bad_numbers.csv", 2, "amount: not a valid number: 1,200"),
        ("bad_numbers.csv", 3, "amount: not a valid number: 12.5k"),
        ("bad_numbers.csv", 4, "amount: not a valid number: $1,000"),
        ("bad_numbers.csv", 5, "amount: not a valid number: n/a"),
        ("bad_numbers.csv", 7, "amount: not a valid number: 1e400"),
        ("counts.csv", 1, "employee_count: not a valid whole number or range: 1,200"),
        ("counts.csv", 3, "employee_count: not a valid whole number or range: 12.5"),
        ("counts.csv", 4, "employee_count: not a valid whole number or range: n/a"),
    ]
    assert ledger(conn) == [("bad_numbers.csv", "loaded", 7, 2, 5, None), ("counts.csv", "loaded", 5, 2, 3, None)]


def test_impossible_dates_are_quarantined(conn, landing) -> None:
    put(landing, "leads", "impossible_dates.csv", fixture="impossible_dates.csv")
    load(conn, "leads", landing)
    assert raw(conn, "leads", "lead_id, created_at") == [("H-4", utc(2024, 2, 29, 23, 59, 59))]
    assert quarantine(conn) == [
        ("impossible_dates.csv", 1, "created_at: not a valid ISO 8601 date/time: 2025-02-30"),
        ("impossible_dates.csv", 2, "created_at: not a valid ISO 8601 date/time: 2025-13-01T10:00:00Z"),
        ("impossible_dates.csv", 3, "created_at: not a valid ISO 8601 date/time: 2025-01-01T25:00:00Z"),
        ("impossible_dates.csv", 5, "created_at: not a valid ISO 8601 date/time: yesterday"),
    ]
    assert ledger(conn) == [("impossible_dates.csv", "loaded", 5, 1, 4, None)]


def test_timestamp_offsets_are_converted_to_naive_utc(conn, landing) -> None:
    put(landing, "engagement_events", "offsets.csv", fixture="timestamp_offsets.csv")
    load(conn, "engagement_events", landing)
    assert raw(conn, "engagement_events", "event_id, occurred_at") == [
        ("E-1", utc(2026, 3, 1, 8)),  # +02:00
        ("E-2", utc(2026, 3, 1, 8)),  # +0200
        ("E-3", utc(2026, 3, 1, 10)),  # Z
        ("E-4", utc(2026, 3, 1, 10)),  # no offset: UTC
        ("E-5", utc(2026, 3, 2, 4, 30)),  # -05:00 crosses midnight
        ("E-6", utc(2026, 3, 1)),  # a date is its midnight, UTC
    ]
    (column_type,) = conn.execute(
        "SELECT data_type FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'engagement_events' "
        "AND column_name = 'occurred_at'"
    ).fetchone()
    assert column_type == "TIMESTAMP"
    assert ledger(conn) == [("offsets.csv", "loaded", 6, 6, 0, None)]


def test_unknown_event_types_are_quarantined_and_known_ones_normalized(conn, landing) -> None:
    put(landing, "engagement_events", "event_types.csv", fixture="event_types.csv")
    load(conn, "engagement_events", landing)
    assert raw(conn, "engagement_events", "event_id, lead_id, email, event_type") == [
        ("E-2", "L-1", None, "webinar_registration"),  # " Webinar Registration "
        ("E-3", None, "a@example.com", "demo_request"),  # "Demo-Request"
    ]
    assert quarantine(conn) == [
        ("event_types.csv", 1, "event_type: unknown event type: podcast_listen"),
        ("event_types.csv", 4, "neither lead_id nor email is given"),
        ("event_types.csv", 5, "event_type: required value is missing"),
    ]
    assert ledger(conn) == [("event_types.csv", "loaded", 5, 2, 3, None)]


def test_key_repeated_within_a_file_last_row_wins(conn, landing) -> None:
    put(landing, "leads", "repeated_key.csv", fixture="repeated_key.csv")
    load(conn, "leads", landing)
    assert raw(conn, "leads", "lead_id, email, _row_number, _record_key") == [
        ("H-2", "two@example.com", 2, '["lead_id:H-2"]'),
        ("H-1", "second@example.com", 3, '["lead_id:H-1"]'),
    ]
    assert quarantine(conn) == [("repeated_key.csv", 1, "superseded by row 3 of the same file (same key)")]
    assert quarantined_raw(conn, 1)["email"] == "first@example.com"
    assert ledger(conn) == [("repeated_key.csv", "loaded", 3, 2, 1, None)]


def test_file_name_with_quotes_semicolons_spaces_and_non_ascii_is_only_ever_a_parameter(conn, landing) -> None:
    name = "le'ads; DROP TABLE x;--é.csv"
    conn.execute("CREATE TABLE x (keep INTEGER)")
    put(landing, "leads", name, fixture="leads_good.csv")
    # DuckDB expands glob characters even in a bound path: `[1]` must not match `leads1.csv`.
    put(landing, "leads", "leads[1].csv", LEADS_HEADER + "G-1,glob@example.com,webinar,2026-01-05\n")
    put(landing, "leads", "leads1.csv", LEADS_HEADER + "G-2,plain@example.com,webinar,2026-01-05\n")
    put(landing, "leads", 'le*ads "q".csv', LEADS_HEADER + "G-3,star@example.com,webinar,2026-01-05\n")
    load(conn, "leads", landing)
    assert conn.execute("SELECT count(*) FROM x").fetchone() == (0,)
    assert ledger(conn) == [
        (name, "loaded", 2, 2, 0, None),
        ('le*ads "q".csv', "loaded", 1, 1, 0, None),
        ("leads1.csv", "loaded", 1, 1, 0, None),
        ("leads[1].csv", "loaded", 1, 1, 0, None),
    ]
    assert conn.execute(
        "SELECT DISTINCT _source_file FROM raw.leads WHERE lead_id = 'H-1'"
    ).fetchall() == [(str(landing / "leads" / name),)]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("G-3",), ("G-2",), ("G-1",)]


def test_symlink_pointing_outside_the_landing_folder_is_refused(conn, landing, tmp_path) -> None:
    outside = tmp_path / "secret.csv"
    shutil.copyfile(FIXTURES / "leads_good.csv", outside)
    (landing / "leads").mkdir()
    (landing / "leads" / "link.csv").symlink_to(outside)
    put(landing, "leads", "other.csv", LEADS_HEADER + "H-9,nine@example.com,webinar,2026-01-05\n")
    load(conn, "leads", landing)
    (link, other) = ledger(conn)
    assert link[:5] == ("link.csv", "failed", 0, 0, 0)
    assert link[5] == f"refused: link.csv links outside the landing folder (to {outside.resolve()})"
    assert other == ("other.csv", "loaded", 1, 1, 0, None)
    assert raw(conn, "leads", "lead_id") == [("H-9",)]
    # refused once, it stays refused: reported again on every run, but not recorded again
    assert [(r.status, r.repeated) for r in load(conn, "leads", landing)] == [("failed", True), ("unchanged", False)]
    assert len(ledger(conn)) == 2


def test_empty_parquet_file_loads_zero_rows_and_a_full_one_loads_typed(conn, landing) -> None:
    (landing / "leads").mkdir()
    empty, full = landing / "leads" / "a_empty.parquet", landing / "leads" / "b_full.parquet"
    conn.execute(
        "COPY (SELECT 'H-1' AS lead_id, 'webinar' AS lead_source, TIMESTAMP '2026-01-05 10:00:00' AS created_at "
        f"WHERE false) TO '{empty}' (FORMAT parquet)"
    )
    conn.execute(
        "COPY (SELECT 'H-1' AS lead_id, 'webinar' AS Lead_Source, TIMESTAMPTZ '2026-01-05 10:00:00+02' AS created_at, "
        f"1200 AS employee_count, 'x' AS extra) TO '{full}' (FORMAT parquet)"
    )
    load(conn, "leads", landing)
    assert ledger(conn) == [("a_empty.parquet", "loaded", 0, 0, 0, None), ("b_full.parquet", "loaded", 1, 1, 0, None)]
    assert raw(conn, "leads", "lead_id, lead_source, created_at, employee_count, _row_number") == [
        ("H-1", "webinar", utc(2026, 1, 5, 8), 1200, 1)
    ]
    assert raw_row(conn, "leads", "true") == {"extra": "x"}


def test_jsonl_line_that_is_not_json_is_quarantined_and_the_rest_loads(conn, landing) -> None:
    put(landing, "engagement_events", "events.jsonl", fixture="not_json.jsonl")
    load(conn, "engagement_events", landing)
    assert ledger(conn) == [("events.jsonl", "loaded", 4, 2, 2, None)]
    assert raw(conn, "engagement_events", "event_id, lead_id, email, event_type, occurred_at, _row_number") == [
        ("E-1", None, "a@example.com", "ad_click", utc(2026, 3, 1, 10), 1),
        ("E-5", "L-1", None, "blog_view", utc(2026, 3, 1, 10), 5),  # line 3 is blank
    ]
    assert quarantine(conn) == [
        ("events.jsonl", 2, "line is not valid JSON"),
        ("events.jsonl", 4, "line is JSON but not an object (array)"),
    ]
    assert quarantined_raw(conn, 2) == '{"event_id": "E-2", "email": '
    # the extra key with its JSON value; a line without any extra key keeps nothing
    assert raw_row(conn, "engagement_events", "event_id = 'E-5'") == {"extra": {"nested": True}}
    assert raw_row(conn, "engagement_events", "event_id = 'E-1'") is None


def test_file_that_is_not_jsonl_at_all_fails(conn, landing) -> None:
    put(landing, "engagement_events", "a.jsonl", "event_id,event_type\nE-1,ad_click\n")
    put(landing, "engagement_events", "b.jsonl", b"{\"event_id\": \"E-1\", \"email\": \"caf\xe9\"}\n")
    load(conn, "engagement_events", landing)
    assert ledger(conn) == [
        ("a.jsonl", "failed", 0, 0, 0, "not JSON lines: no line is a JSON object (line 1 is not)"),
        ("b.jsonl", "failed", 0, 0, 0, "not UTF-8 encoded: re-export the file as UTF-8"),
    ]


def test_jsonl_keys_match_case_insensitively_and_a_key_given_twice_is_quarantined(conn, landing) -> None:
    put(
        landing,
        "engagement_events",
        "keys.jsonl",
        '{"EVENT_ID": "E-1", "Email": "a@x.com", "Event_Type": "ad_click", "occurred_at": "2026-03-01"}\n'
        '{"event_id": "E-2", "email": "b@x.com", "EMAIL": "c@x.com", "event_type": "ad_click", "occurred_at": "2026-03-01"}\n'
        '{"event_id": "E-3", "event_id": "E-4", "email": "d@x.com", "event_type": "ad_click", "occurred_at": "2026-03-01"}\n',
    )
    load(conn, "engagement_events", landing)
    assert raw(conn, "engagement_events", "event_id, email") == [("E-1", "a@x.com")]
    assert quarantine(conn) == [
        ("keys.jsonl", 2, "email: given more than once (keys Email, email, EMAIL)"),
        ("keys.jsonl", 3, "the object repeats a key: event_id"),
    ]


def test_required_key_absent_from_every_object_fails_the_jsonl_file(conn, landing) -> None:
    put(landing, "engagement_events", "a.jsonl", '{"id": "E-1", "email": "a@x.com", "event_type": "ad_click", "occurred_at": "2026-03-01"}\n')
    put(landing, "engagement_events", "b.jsonl", '{"event_id": "E-1", "email": "a@x.com", "event_type": "ad_click", "occurred_at": "2026-03-01"}\n'
        '{"email": "b@x.com", "event_type": "ad_click", "occurred_at": "2026-03-01"}\n')
    load(conn, "engagement_events", landing)
    assert ledger(conn) == [
        ("a.jsonl", "failed", 0, 0, 0,
         "a.jsonl: missing required column(s) event_id (keys has: id, email, event_type, occurred_at)"),
        ("b.jsonl", "loaded", 2, 1, 1, None),
    ]
    assert quarantine(conn) == [("b.jsonl", 2, "event_id: required value is missing")]


def test_parquet_without_a_required_column_fails(conn, landing) -> None:
    (landing / "deals").mkdir()
    target = str(landing / "deals" / "deals.parquet")
    conn.execute(f"COPY (SELECT 'D-1' AS deal_id, 100.0 AS amount) TO '{target}' (FORMAT parquet)")
    load(conn, "deals", landing)
    assert ledger(conn) == [
        ("deals.parquet", "failed", 0, 0, 0,
         "deals.parquet: missing required column(s) created_at, stage (header has: deal_id, amount)"),
    ]


def test_a_semicolon_separated_file_fails_with_a_hint(conn, landing) -> None:
    put(landing, "leads", "excel.csv", "lead_id;email;lead_source;created_at\nH-1;a@x.com;webinar;2026-01-05\n")
    load(conn, "leads", landing)
    (row,) = ledger(conn)
    assert row[:5] == ("excel.csv", "failed", 0, 0, 0)
    assert row[5].endswith("; the file must be comma-separated")


def test_utf16_and_binary_files_fail_with_a_reason(conn, landing) -> None:
    put(landing, "leads", "a_utf16.csv", LEADS_HEADER.encode("utf-16"))
    put(landing, "leads", "b_binary.csv", bytes(range(256)) * 4)
    load(conn, "leads", landing)
    assert [(name, status, reason.split(":")[0]) for name, status, *_, reason in ledger(conn)] == [
        ("a_utf16.csv", "failed", "not UTF-8 encoded"),
        ("b_binary.csv", "failed", "not a CSV text file"),
    ]


# --- load order, duplicates, replacement -----------------------------------------------------


def test_same_content_is_never_loaded_twice(conn, landing) -> None:
    put(landing, "leads", "a.csv", fixture="leads_good.csv")
    put(landing, "leads", "b_copy.csv", fixture="leads_good.csv")  # same run
    assert [r.status for r in load(conn, "leads", landing)] == ["loaded", "duplicate"]
    # next run: the same name is unchanged, a copy under a new name is a duplicate
    put(landing, "leads", "c_copy.csv", fixture="leads_good.csv")
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged", "unchanged", "duplicate"]
    assert ledger(conn) == [
        ("a.csv", "loaded", 2, 2, 0, None),
        ("b_copy.csv", "duplicate", 0, 0, 0, "same content as a file already loaded"),
        ("c_copy.csv", "duplicate", 0, 0, 0, "same content as a file already loaded"),
    ]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]


def test_a_known_file_with_the_same_size_and_time_is_not_hashed_again(conn, landing, monkeypatch) -> None:
    put(landing, "leads", "a.csv", fixture="leads_good.csv")
    assert [r.status for r in load(conn, "leads", landing)] == ["loaded"]

    def no_hashing(path):
        raise AssertionError(f"{path} was hashed again")

    monkeypatch.setattr(loader, "content_hash", no_hashing)
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged"]


def test_a_touched_file_is_hashed_once_and_a_changed_one_loads(conn, landing) -> None:
    path = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    load(conn, "leads", landing)
    # touched, same content: hashed, still unchanged, and its new time is remembered
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged"]
    assert conn.execute("SELECT file_mtime_ns FROM audit.load_ledger").fetchall() == [(stat.st_mtime_ns + 10**9,)]
    # rewritten with other content of the same size and a new time: loaded as a new version
    content = path.read_text().replace("H-2", "H-9")
    path.write_text(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2 * 10**9))
    assert [r.status for r in load(conn, "leads", landing)] == ["loaded"]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-1",), ("H-9",)]
    assert_balanced(conn)


def test_a_ledger_from_before_file_times_gets_them_on_the_next_run(conn, landing) -> None:
    path = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    load(conn, "leads", landing)
    # as a warehouse built before the column existed: no file times
    conn.execute("ALTER TABLE audit.load_ledger DROP COLUMN file_mtime_ns")
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged"]  # known by its hash
    assert conn.execute("SELECT file_mtime_ns FROM audit.load_ledger").fetchall() == [(path.stat().st_mtime_ns,)]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]


def test_single_entity_csv_loads_before_the_folder(conn, landing) -> None:
    put(landing, "leads", "a_first_by_name.csv", LEADS_HEADER + "H-1,folder@example.com,webinar,2026-01-05\n")
    (landing / "leads.csv").write_text(LEADS_HEADER + "H-1,single@example.com,webinar,2026-01-05\n")
    load(conn, "leads", landing)
    assert [row[0] for row in ledger(conn)] == ["leads.csv", "a_first_by_name.csv"]
    # the folder's file is loaded later, so its version of H-1 is the current one
    assert raw(conn, "leads", "email, _file_id") == [("single@example.com", 1), ("folder@example.com", 2)]


def test_column_names_match_case_insensitively(conn, landing) -> None:
    put(landing, "leads", "caps.csv", "LEAD_ID, Email ,Lead_Source,CREATED_AT\nH-1,one@example.com,webinar,2026-01-05\n")
    load(conn, "leads", landing)
    assert raw(conn, "leads", "lead_id, email, lead_source, created_at") == [
        ("H-1", "one@example.com", "webinar", utc(2026, 1, 5))
    ]


def test_a_later_file_replaces_the_record_and_raw_keeps_both_versions(conn, landing) -> None:
    put(landing, "leads", "leads_01.csv", LEADS_HEADER + "H-1,old@example.com,webinar,2026-01-05\n")
    put(landing, "leads", "leads_02.csv", "lead_id,email,job_title,lead_source,created_at\n H-1 ,,CFO,ebook,2026-01-05\n")
    load(conn, "leads", landing)
    rows = raw(conn, "leads", "lead_id, email, job_title, lead_source, _file_id, _record_key")
    assert rows == [
        ("H-1", "old@example.com", None, "webinar", 1, '["lead_id:H-1"]'),
        ("H-1", None, "CFO", "ebook", 2, '["lead_id:H-1"]'),  # trimmed; the blank email is null
    ]
    # leads are not immutable: the re-sent record is loaded, not quarantined (the later file wins downstream)
    assert quarantine(conn) == []
    assert ledger(conn) == [("leads_01.csv", "loaded", 1, 1, 0, None), ("leads_02.csv", "loaded", 1, 1, 0, None)]


EVENTS_HEADER = "event_id,lead_id,email,event_type,occurred_at\n"
IMMUTABLE = "events are immutable, the first loaded version counts"


def test_an_event_already_loaded_from_an_earlier_file_is_quarantined_and_the_first_version_stays(conn, landing) -> None:
    put(landing, "engagement_events", "events_01.csv", EVENTS_HEADER
        + "E-1,L-1,,ad_click,2026-03-01T10:00:00Z\n"
        + "E-2,L-2,,blog_view,2026-03-02T10:00:00Z\n")
    load(conn, "engagement_events", landing)
    # next run: E-2 again (other values, padded id), and a new event
    put(landing, "engagement_events", "events_02.csv", EVENTS_HEADER
        + " E-2 ,L-9,,ebook_download,2026-03-09T10:00:00Z\n"
        + "E-3,L-3,,ad_click,2026-03-03T10:00:00Z\n")
    assert [r.status for r in load(conn, "engagement_events", landing)] == ["unchanged", "loaded"]
    assert quarantine(conn) == [
        ("events_02.csv", 1, f"event_id: already loaded from events_01.csv row 2; {IMMUTABLE}"),
    ]
    assert quarantined_raw(conn, 1) == {
        "event_id": " E-2 ", "lead_id": "L-9", "email": "", "event_type": "ebook_download", "occurred_at": "2026-03-09T10:00:00Z",
    }
    # each event once, with the first file's values
    assert raw(conn, "engagement_events", "event_id, lead_id, event_type, occurred_at, _file_id, _row_number") == [
        ("E-1", "L-1", "ad_click", utc(2026, 3, 1, 10), 1, 1),
        ("E-2", "L-2", "blog_view", utc(2026, 3, 2, 10), 1, 2),
        ("E-3", "L-3", "ad_click", utc(2026, 3, 3, 10), 2, 2),
    ]
    assert ledger(conn) == [("events_01.csv", "loaded", 2, 2, 0, None), ("events_02.csv", "loaded", 2, 1, 1, None)]
    # a third file names the file each event was first loaded from
    put(landing, "engagement_events", "events_03.jsonl",
        '{"event_id": "E-3", "lead_id": "L-3", "event_type": "ad_click", "occurred_at": "2026-03-03T10:00:00Z"}\n'
        '{"event_id": "E-1", "lead_id": "L-1", "event_type": "ad_click", "occurred_at": "2026-03-01T10:00:00Z"}\n')
    load(conn, "engagement_events", landing)
    assert quarantine(conn)[1:] == [
        ("events_03.jsonl", 1, f"event_id: already loaded from events_02.csv row 2; {IMMUTABLE}"),
        ("events_03.jsonl", 2, f"event_id: already loaded from events_01.csv row 1; {IMMUTABLE}"),
    ]
    assert ledger(conn)[2] == ("events_03.jsonl", "loaded", 2, 0, 2, None)
    assert conn.execute(
        "SELECT count(*), count(DISTINCT _record_key) FROM raw.engagement_events"
    ).fetchone() == (3, 3)


def test_an_event_already_loaded_and_repeated_within_the_later_file_quarantines_every_row(conn, landing) -> None:
    put(landing, "engagement_events", "a.csv", EVENTS_HEADER
        + "E-1,L-1,,ad_click,2026-03-01T10:00:00Z\n"
        + "E-2,L-2,,blog_view,2026-03-02T10:00:00Z\n")
    put(landing, "engagement_events", "b.csv", EVENTS_HEADER
        + "E-1,L-1,,ad_click,2026-03-01T10:00:00Z\n"  # the same event, sent again...
        + "E-4,L-4,,ad_click,2026-03-04T10:00:00Z\n"
        + "E-1,L-1,,webinar_attendance,2026-03-01T10:00:00Z\n"  # ...twice
        + "E-2,L-2,,podcast_listen,2026-03-02T10:00:00Z\n")  # bad and already loaded
    load(conn, "engagement_events", landing)  # one run: b.csv sees what a.csv committed
    assert quarantine(conn) == [
        ("b.csv", 1, f"superseded by row 3 of the same file (same key); event_id: already loaded from a.csv row 1; {IMMUTABLE}"),
        ("b.csv", 3, f"event_id: already loaded from a.csv row 1; {IMMUTABLE}"),
        ("b.csv", 4, f"event_type: unknown event type: podcast_listen; event_id: already loaded from a.csv row 2; {IMMUTABLE}"),
    ]
    assert raw(conn, "engagement_events", "event_id, event_type, _file_id, _row_number") == [
        ("E-1", "ad_click", 1, 1),
        ("E-2", "blog_view", 1, 2),
        ("E-4", "ad_click", 2, 2),
    ]
    assert ledger(conn) == [("a.csv", "loaded", 2, 2, 0, None), ("b.csv", "loaded", 4, 1, 3, None)]


def test_closed_deal_without_closed_at_is_quarantined_and_stages_are_normalized(conn, landing) -> None:
    put(landing, "deals", "deals.csv", fixture="deals_stages.csv")
    load(conn, "deals", landing)
    assert raw(conn, "deals", "deal_id, stage, closed_at") == [
        ("D-2", "closed_won", utc(2026, 2, 1)),  # "Closed-Won"
        ("D-4", "proposal_sent", None),  # an open stage, normalized the same way
    ]
    assert quarantine(conn) == [
        ("deals.csv", 1, "closed_at: a closed deal needs closed_at"),  # "Closed Won"
        ("deals.csv", 3, "closed_at: a closed deal needs closed_at"),  # "closed lost"
    ]


@pytest.mark.parametrize(
    ("entity", "fixture", "loaded", "reason"),
    [
        ("deal_contacts", "deal_contacts_identifiers.csv", [("D-1", "L-1", None), ("D-1", None, "Buyer@Example.com")],
         "neither lead_id nor email is given"),
        ("target_accounts", "target_accounts_identifiers.csv", [("A-1", None, "1"), (None, "example.com", "2")],
         "neither account_id nor domain is given"),
    ],
)
def test_rows_with_neither_identifier_are_quarantined(conn, landing, entity, fixture, loaded, reason) -> None:
    put(landing, entity, "ids.csv", fixture=fixture)
    load(conn, entity, landing)
    columns = "deal_id, lead_id, email" if entity == "deal_contacts" else "account_id, domain, tier"
    assert raw(conn, entity, columns) == loaded
    assert quarantine(conn) == [("ids.csv", 3, reason)]
    assert ledger(conn) == [("ids.csv", "loaded", 3, 2, 1, None)]


def test_a_failed_file_leaves_no_partial_rows_and_the_next_file_loads(conn, landing) -> None:
    # A Parquet file that is not Parquet cannot be read at all.
    put(landing, "leads", "a_broken.parquet", b"PAR1 this is not parquet")
    put(landing, "leads", "b_good.csv", fixture="leads_good.csv")
    results = load(conn, "leads", landing)
    assert [r.status for r in results] == ["failed", "loaded"]
    assert results[0].reason
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]


def test_loading_twice_is_a_no_op(conn, landing) -> None:
    put(landing, "leads", "ragged.csv", fixture="ragged.csv")
    load(conn, "leads", landing)
    before = (ledger(conn), quarantine(conn), raw(conn, "leads", "*"))
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged"]
    assert (ledger(conn), quarantine(conn), raw(conn, "leads", "*")) == before


def test_no_temporary_tables_are_left_behind(conn, landing) -> None:
    put(landing, "leads", "ragged.csv", fixture="ragged.csv")
    put(landing, "leads", "x_missing.csv", fixture="missing_required_column.csv")
    put(landing, "engagement_events", "e.jsonl", fixture="not_json.jsonl")
    load(conn, "leads", landing)
    load(conn, "engagement_events", landing)
    assert conn.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall() == []


def test_paths_are_absolute_for_duckdb(conn, landing, monkeypatch) -> None:
    # a relative landing folder works (and cannot be mistaken for a URL)
    monkeypatch.chdir(landing.parent)
    put(landing, "leads", "good.csv", fixture="leads_good.csv")
    load(conn, "leads", Path(os.path.relpath(landing)))
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]


# --- large files: streaming load, exact row numbers -------------------------------------------


def test_row_numbers_stay_exact_around_many_rejected_rows_and_blank_lines(conn, landing) -> None:
    # Rejected records are numbered by DuckDB, good ones by the loader (k-th good record + the
    # rejected rows before it): row n below is lead H-n, whatever surrounds it.
    text, rejected = [LEADS_HEADER], []
    for n in range(1, 3001):
        if n % 97 == 0:
            text.append("\n" if n % 2 else "\n\n")  # blank lines are not rows
        if n == 1 or n == 3000 or n % 7 == 0 or 1500 <= n <= 1510:
            text.append(f"H-{n},{n}@example.com,webinar\n")  # too few fields
            rejected.append(n)
        elif n % 13 == 0:
            text.append(f"H-{n},{n}@example.com,webinar,2026-01-05,surplus\n")  # too many
            rejected.append(n)
        else:
            text.append(f'H-{n},"{n}@example.com",webinar,2026-01-05\n')
    put(landing, "leads", "big.csv", "".join(text))
    load(conn, "leads", landing)
    assert ledger(conn) == [("big.csv", "loaded", 3000, 3000 - len(rejected), len(rejected), None)]
    loaded = raw(conn, "leads", "lead_id, _row_number")
    assert len(loaded) == 3000 - len(rejected)
    assert [row for row in loaded if row[0] != f"H-{row[1]}"] == []
    assert [row for _, row, _ in quarantine(conn)] == rejected
    assert quarantined_raw(conn, 1500) == "H-1500,1500@example.com,webinar"


def test_a_key_repeated_several_times_supersedes_every_earlier_row(conn, landing) -> None:
    put(landing, "leads", "repeats.csv", LEADS_HEADER
        + "H-1,a@example.com,webinar,2026-01-05\n"
        + "H-2,b@example.com,webinar,2026-01-05\n"
        + "H-1,c@example.com,webinar,2026-02-30\n"  # bad, and superseded too
        + "H-3,d@example.com,webinar,2026-01-05\n"
        + " H-1 ,e@example.com,ebook,2026-01-06\n"  # the same key once trimmed
        + "H-2,,,2026-01-07\n")  # the last H-2 is bad itself: the earlier one still goes
    load(conn, "leads", landing)
    assert raw(conn, "leads", "lead_id, email, _row_number") == [("H-3", "d@example.com", 4), ("H-1", "e@example.com", 5)]
    assert quarantine(conn) == [
        ("repeats.csv", 1, "superseded by row 5 of the same file (same key)"),
        ("repeats.csv", 2, "superseded by row 6 of the same file (same key)"),
        ("repeats.csv", 3, "created_at: not a valid ISO 8601 date/time: 2026-02-30; "
                           "superseded by row 5 of the same file (same key)"),
        ("repeats.csv", 6, "lead_source: required value is missing"),
    ]
    assert quarantined_raw(conn, 1)["email"] == "a@example.com"
    assert ledger(conn) == [("repeats.csv", "loaded", 6, 2, 4, None)]


def test_scratch_files_are_removed_and_settings_restored(conn, landing, tmp_path) -> None:
    spill = tmp_path / "spill [1] 'q'"  # DuckDB would glob-expand the scratch file's path too
    conn.execute("SET temp_directory = ?", [str(spill)])
    conn.execute("SET preserve_insertion_order = true")
    stale = spill / "baton-extract-999999999-x"  # left by a process that died mid-file
    stale.mkdir(parents=True)
    put(landing, "leads", "a_good.csv", fixture="leads_good.csv")
    put(landing, "leads", "b_ragged.csv", fixture="ragged.csv")
    put(landing, "leads", "c_latin1.csv", (LEADS_HEADER + "H-7,jos\xe9@example.com,webinar,2026-01-05\n").encode("latin-1"))
    assert [r.status for r in load(conn, "leads", landing)] == ["loaded", "loaded", "failed"]
    assert list(spill.iterdir()) == []
    assert conn.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (True,)

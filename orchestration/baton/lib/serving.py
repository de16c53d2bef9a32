"""Publishing the marts to a separate serving database for BI tools.

BI tools never open the warehouse: a reader holding the warehouse would block
the nightly writer. After a successful build the marts are copied into a new
file next to the serving path, which is then renamed over it in one atomic
step. A dashboard that has the old file open keeps reading the old, complete
copy until it reconnects; it never sees a half-published state, and a failed
run publishes nothing, leaving yesterday's copy in place.

Personal data: by default the serving copy carries no raw email or name.
Emails become a keyed hash (`email_hash`, key from BATON_PII_KEY) so BI can
still count and join people; without a key the column is left out. Raw values
are published only with BATON_SERVE_PII=1.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from baton.dev.faults import crash_point
from baton.lib.sqltext import quote_ident, quote_literal

# Tables published besides every table of the `marts` schema (no personal data in them).
EXTRA_TABLES = (("audit", "load_ledger"),)
HASHED_COLUMNS = ("email",)
DROPPED_COLUMNS = ("first_name", "last_name")


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    table: str
    rows: int
    columns: tuple[str, ...]


def _published_columns(conn, schema: str, table: str, pii_key: str | None, serve_pii: bool) -> list[tuple[str, str]]:
    """(select expression, output column) pairs, with personal data hashed or left out."""
    columns = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    ]
    selected = []
    for column in columns:
        name = quote_ident(column)
        if serve_pii or column not in HASHED_COLUMNS + DROPPED_COLUMNS:
            selected.append((name, column))
        elif column in HASHED_COLUMNS and pii_key:
            # getvariable keeps the key out of the SQL text (and out of logs).
            selected.append((f"sha256(getvariable('baton_pii_key') || {name})", f"{column}_hash"))
    return selected


def publish(warehouse: duckdb.DuckDBPyConnection, serving_path: Path, pii_key: str | None = None, serve_pii: bool = False) -> list[PublishedTable]:
    """Copy the marts into a fresh database file and atomically replace `serving_path` with it."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in serving_path.parent.glob(f".{serving_path.name}.*.tmp*"):
        stale.unlink(missing_ok=True)  # left by a run killed while publishing
    staging_file = serving_path.with_name(f".{serving_path.name}.{uuid.uuid4().hex}.tmp")
    tables = warehouse.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'marts' AND table_type = 'BASE TABLE' ORDER BY table_name"
    ).fetchall()
    tables += [
        t for t in EXTRA_TABLES
        if warehouse.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", list(t)).fetchone()[0]
    ]
    published = []
    if pii_key:
        warehouse.execute("SET VARIABLE baton_pii_key = ?", [pii_key])
    warehouse.execute(f"ATTACH {quote_literal(str(staging_file))} AS baton_serving_new")
    try:
        for schema in sorted({schema for schema, _ in tables}):
            warehouse.execute(f"CREATE SCHEMA baton_serving_new.{quote_ident(schema)}")
        for schema, table in tables:
            columns = _published_columns(warehouse, schema, table, pii_key, serve_pii)
            select = ", ".join(f"{expression} AS {quote_ident(alias)}" for expression, alias in columns)
            target = f"baton_serving_new.{quote_ident(schema)}.{quote_ident(table)}"
            warehouse.execute(f"CREATE TABLE {target} AS SELECT {select} FROM {quote_ident(schema)}.{quote_ident(table)}")
            rows = warehouse.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            published.append(PublishedTable(schema, table, rows, tuple(alias for _, alias in columns)))
        warehouse.execute("CHECKPOINT baton_serving_new")
    finally:
        warehouse.execute("DETACH DATABASE IF EXISTS baton_serving_new")
        if pii_key:
            warehouse.execute("RESET VARIABLE baton_pii_key")
    _fsync(staging_file)
    crash_point("publish:before_rename")
    os.replace(staging_file, serving_path)
    _fsync(serving_path.parent)
    return published


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

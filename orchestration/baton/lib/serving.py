"""Publishing the marts for BI tools: a serving DuckDB file, plus Parquet and CSV files.

BI tools never open the warehouse: a reader holding the warehouse would block
the nightly writer. After a successful build the marts are copied into a new
file next to the serving path, which is then renamed over it in one atomic
step. A dashboard that has the old file open keeps reading the old, complete
copy until it reconnects; it never sees a half-published state, and a failed
run publishes nothing, leaving yesterday's copy in place.

The serving file is written in an old storage format (SERVING_STORAGE_VERSION)
so that the DuckDB embedded in BI drivers, usually a release or two behind the
one Baton runs, can open it. For tools without a DuckDB driver the same tables
are published as Parquet files, and as CSV for spreadsheets (tables of at most
CSV_MAX_ROWS rows), in one folder per night
(`files_path()`, a symbolic link to the night's folder, swapped atomically: a
reader sees yesterday's complete set or today's, never a mix). The previous
night's folder is kept until the next publish, so a reader that resolved the
link just before the swap can finish reading it.

Every table is written sorted on all its columns, so the same marts give the
same row order, hence byte-identical Parquet and CSV files and the same float
sums in a reader that adds rows in file order.

Personal data: by default nothing published carries a raw email or name.
Emails become a keyed hash (`email_hash`, key from BATON_PII_KEY) so BI can
still count and join people; without a key the column is left out. Raw values
are published only with BATON_SERVE_PII=1. The Parquet and CSV files are
written from the serving copy, so the same rules hold for them.
"""

from __future__ import annotations

import glob
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from baton.dev.faults import crash_point
from baton.lib.sqltext import quote_ident, quote_literal

# The storage format of the serving file. DuckDB 2.x writes its own format by
# default (version number 999), which DuckDB 1.x refuses ("Trying to read a
# database file with version number 999"), and the DuckDB inside Metabase's
# driver, duckdb-engine, Evidence and Node's bindings is 1.x. 'v1.1.0' is read
# by every DuckDB from 1.1 on (file header version 64); tests/test_serving_bi.py
# opens the file with DuckDB 1.1.3. Raise it only when every reader has moved on.
SERVING_STORAGE_VERSION = "v1.1.0"

# Parquet as every reader takes it: format version 1 pages and Snappy, which
# Power Query, pyarrow, Spark and DuckDB 0.x alike decode.
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION snappy, PARQUET_VERSION V1"
CSV_OPTIONS = "FORMAT csv, HEADER true"
# CSV is for spreadsheets: a table is written as CSV only up to this many rows (Excel and
# Google Sheets open it; the monthly and campaign marts always fit). A bigger table would be
# hundreds of megabytes of CSV (measured: 1M leads, 530 MB against 82 MB of Parquet) that no
# spreadsheet can open; it is published as Parquet only.
CSV_MAX_ROWS = 100_000

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
    files: tuple[str, ...] = ()  # the names written in files_path(): Parquet always, CSV up to CSV_MAX_ROWS rows


def files_path(serving_path: Path) -> Path:
    """The folder of Parquet and CSV files beside the serving file: `<serving stem>.files`,
    a symbolic link to the latest night's folder. `marts.fct_leads` is `marts.fct_leads.parquet`
    (and `marts.fct_leads.csv`) in it."""
    path = serving_path.with_name(f"{serving_path.stem}.files")
    return path if path != serving_path else serving_path.with_name(f"{serving_path.name}.files")


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
    """Copy the marts into a fresh database file and atomically replace `serving_path` with it;
    write the same tables as Parquet (and CSV up to CSV_MAX_ROWS rows) into a fresh folder and
    atomically point `files_path(serving_path)` at it."""
    serving_path.parent.mkdir(parents=True, exist_ok=True)
    link = files_path(serving_path)
    if link.exists() and not link.is_symlink():
        raise RuntimeError(f"{link} is a real folder or file, not the link Baton publishes the Parquet and CSV files through: move it away")
    _remove_leftovers(serving_path, link)
    staging_file = serving_path.with_name(f".{serving_path.name}.{uuid.uuid4().hex}.tmp")
    generation = link.with_name(f".{link.name}.{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:8]}")
    staging_dir = generation.with_name(generation.name + ".tmp")
    staging_dir.mkdir()
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
    try:
        warehouse.execute(
            f"ATTACH {quote_literal(str(staging_file))} AS baton_serving_new (STORAGE_VERSION {quote_literal(SERVING_STORAGE_VERSION)})"
        )
        try:
            for schema in sorted({schema for schema, _ in tables}):
                warehouse.execute(f"CREATE SCHEMA baton_serving_new.{quote_ident(schema)}")
            for schema, table in tables:
                columns = _published_columns(warehouse, schema, table, pii_key, serve_pii)
                select = ", ".join(f"{expression} AS {quote_ident(alias)}" for expression, alias in columns)
                target = f"baton_serving_new.{quote_ident(schema)}.{quote_ident(table)}"
                warehouse.execute(f"CREATE TABLE {target} AS SELECT {select} FROM {quote_ident(schema)}.{quote_ident(table)} ORDER BY ALL")
                rows = warehouse.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
                formats = [("parquet", PARQUET_OPTIONS)] + ([("csv", CSV_OPTIONS)] if rows <= CSV_MAX_ROWS else [])
                for extension, options in formats:
                    exported = staging_dir / f"{schema}.{table}.{extension}"
                    warehouse.execute(f"COPY (SELECT * FROM {target} ORDER BY ALL) TO {quote_literal(str(exported))} ({options})")
                files = tuple(f"{schema}.{table}.{extension}" for extension, _ in formats)
                published.append(PublishedTable(schema, table, rows, tuple(alias for _, alias in columns), files))
            warehouse.execute("CHECKPOINT baton_serving_new")
        finally:
            warehouse.execute("DETACH DATABASE IF EXISTS baton_serving_new")
        _fsync(staging_file)
        for exported in staging_dir.iterdir():
            _fsync(exported)
        _fsync(staging_dir)
        staging_dir.rename(generation)
        _fsync(serving_path.parent)
    except BaseException:
        shutil.rmtree(staging_dir, ignore_errors=True)
        staging_file.unlink(missing_ok=True)
        raise
    finally:
        if pii_key:
            warehouse.execute("RESET VARIABLE baton_pii_key")
    crash_point("publish:before_rename")
    previous = os.readlink(link) if link.is_symlink() else None
    os.replace(staging_file, serving_path)
    # A relative link, so the folder can be mounted or moved elsewhere whole.
    staging_link = link.with_name(f".{link.name}.{uuid.uuid4().hex}.link")
    os.symlink(generation.name, staging_link)
    os.replace(staging_link, link)
    _fsync(serving_path.parent)
    # Yesterday's folder stays until the next publish, for a reader that resolved the link just before.
    for old in _generations(link):
        if old.name not in (generation.name, previous):
            shutil.rmtree(old, ignore_errors=True)
    return published


def _generations(link: Path) -> list[Path]:
    return [p for p in link.parent.glob(f".{glob.escape(link.name)}.*") if p.is_dir() and not p.is_symlink() and not p.name.endswith(".tmp")]


def _remove_leftovers(serving_path: Path, link: Path) -> None:
    """What a run killed while publishing left behind: a half-written file, folder or link."""
    for stale in serving_path.parent.glob(f".{glob.escape(serving_path.name)}.*.tmp*"):
        if not stale.is_dir() or stale.is_symlink():  # a serving path without suffix would match the folders
            stale.unlink(missing_ok=True)
    for stale in link.parent.glob(f".{glob.escape(link.name)}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    for stale in link.parent.glob(f".{glob.escape(link.name)}.*.link"):
        stale.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

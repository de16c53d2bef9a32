"""Loading landing files into the warehouse's `raw` schema.

Every file is loaded in one DuckDB transaction: its good rows go to
`raw.<entity>`, its bad rows to `audit.quarantine` with a reason, and one row
to `audit.load_ledger`. A crash mid-file therefore leaves no trace of it and
the file is simply loaded by the next run. All row work happens inside DuckDB
(read_csv / read_parquet / read_text); Python only builds the SQL.

Large files stream: no step holds a whole file's rows in memory (see
`_load_rows` and readers.py). A CSV file is read once, in order, into a
numbered scratch copy (Parquet) in DuckDB's temp_directory (else TMPDIR),
deleted when the file is done; rows are written to raw in no particular
order, `_row_number` says where each came from.

Values are trimmed (blank is null) and parsed here, once: downstream models
read typed columns and never re-parse text.

What happens to each kind of hostile input (readers.py has the reading side:
encodings, ragged rows, quotes, row numbers, empty files, JSONL):

- a file that cannot be read at all (not UTF-8, 0 bytes, not Parquet, no JSON
  object in a .jsonl, a header without a required column or naming a contract
  column twice, a link leading outside the landing folder) is recorded
  `failed` with its reason and loads nothing; the other files still load;
- a row that breaks the contract is quarantined with a reason naming the
  field: `<column>: required value is missing`, `<column>: not a valid number:
  <value>` (`1,200`, `12.5k`, `$1,000`, `n/a`, `1e400` are never guessed),
  `<column>: not a valid ISO 8601 date/time: <value>` (2025-02-30, month 13,
  hour 25), `event_type: unknown event type: <value>`, `neither lead_id nor
  email is given`, `closed_at: a closed deal needs closed_at`, and, for an
  earlier row whose key repeats later in the same file, `superseded by row N
  of the same file (same key)`, and, for an entity whose records are
  immutable (engagement events), a row whose key was loaded from an earlier
  file, `event_id: already loaded from <file> row N; events are immutable,
  the first loaded version counts` (so raw never holds such a key twice);
- timestamps with an offset (`+02:00`, `+0200`, `+02`, `Z`) are converted to
  UTC and stored as naive TIMESTAMP; without an offset they are UTC already;
- columns match trimmed and case-insensitively; unknown columns are kept in
  `_raw_row` only, which holds just those (NULL when the file has none): the
  typed columns hold the known values, and a quarantined row keeps its whole
  original row in audit.quarantine;
- for every file, rows read = rows loaded + rows quarantined.

File paths reach DuckDB only as bound parameters (glob-escaped, see
readers.duckdb_path); identifiers are quoted with quote_ident and the
file's own column names never appear in SQL text at all.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import readers
from .entities import CLOSED_STAGES, ENTITIES, EVENT_TYPES, Entity, Kind
from ..faults import crash_point
from ..sqltext import quote_ident, quote_literal
from .errors import FileRejected
from .landing import LandingFile, content_hash, discover

__all__ = ["FileLoad", "FileRejected", "ensure_warehouse", "load_entity"]

log = logging.getLogger(__name__)

# ISO 8601 date, optional time, optional offset (Z, +hh, +hhmm, +hh:mm).
_ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)?"
_INTEGER = r"[+-]?\d+(\.0*)?"
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"

EMPTY_FILE = "empty file (0 bytes)"

# White space trimmed from every value (blank is null): RE2's \s (tab, LF, FF, CR, space) plus
# NBSP and BOM; and the same characters as code points.
_BLANK = "[\\s\\x{a0}\\x{feff}]"
_BLANK_CODES = "[9, 10, 12, 13, 32, 160, 65279]"
_SCRATCH_PREFIX = "baton-extract-"
_TEMP_TABLES = ("_landing_repeated_keys", "_landing_loaded", "_landing_flagged", "_landing_rejected")

METADATA_COLUMNS = (
    ("_record_key", "VARCHAR"),
    ("_file_id", "BIGINT"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_raw_row", "JSON"),
    ("_loaded_at", "TIMESTAMP"),
)


@dataclass(frozen=True)
class FileLoad:
    entity: str
    path: str
    status: str  # loaded | duplicate | failed | unchanged
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None


def ensure_warehouse(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the audit and raw tables if they do not exist yet."""
    conn.execute("SET TimeZone = 'UTC'")
    conn.execute("CREATE SCHEMA IF NOT EXISTS audit")
    conn.execute("CREATE SCHEMA IF NOT EXISTS raw")
    conn.execute("CREATE SEQUENCE IF NOT EXISTS audit.file_id_seq START 1")
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS audit.load_ledger (
            file_id BIGINT PRIMARY KEY,
            entity VARCHAR NOT NULL,
            file_path VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            content_hash VARCHAR NOT NULL,
            file_bytes BIGINT,
            rows_read BIGINT NOT NULL,
            rows_loaded BIGINT NOT NULL,
            rows_quarantined BIGINT NOT NULL,
            loaded_at TIMESTAMP NOT NULL,
            status VARCHAR NOT NULL,
            reason VARCHAR
        )
        """
    )
    # Added after the first release: warehouses built before it get the column, NULL in old rows.
    conn.execute("ALTER TABLE audit.load_ledger ADD COLUMN IF NOT EXISTS file_mtime_ns BIGINT")
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS audit.quarantine (
            file_id BIGINT NOT NULL,
            entity VARCHAR NOT NULL,
            source_file VARCHAR NOT NULL,
            row_number BIGINT NOT NULL,
            raw_row VARCHAR,
            reason VARCHAR NOT NULL,
            quarantined_at TIMESTAMP NOT NULL
        )
        """
    )
    for entity in ENTITIES.values():
        columns = [f"{quote_ident(c.name)} {c.kind.sql_type}" for c in entity.columns]
        columns += [f"{name} {sql_type}" for name, sql_type in METADATA_COLUMNS]
        conn.execute(f"CREATE TABLE IF NOT EXISTS raw.{entity.name} ({', '.join(columns)})")


def load_entity(
    conn: duckdb.DuckDBPyConnection,
    entity_name: str,
    landing_dir: Path,
    progress: Callable[[str], None] = log.info,
) -> list[FileLoad]:
    """Load every new file of one entity; files already in the ledger are left alone."""
    entity = ENTITIES[entity_name]
    ensure_warehouse(conn)
    _remove_stale_scratch(conn)
    results = []
    for landing_file in discover(landing_dir, entity.name):
        result = _load_one(conn, entity, landing_file)
        if result.status != "unchanged":
            progress(
                f"{entity.name}: {landing_file.path.name}: {result.status}, "
                f"read {result.rows_read}, loaded {result.rows_loaded}, "
                f"quarantined {result.rows_quarantined}" + (f" ({result.reason})" if result.reason else "")
            )
        results.append(result)
    return results


def _load_one(conn: duckdb.DuckDBPyConnection, entity: Entity, landing_file: LandingFile) -> FileLoad:
    path = str(landing_file.path)
    refusal = landing_file.refusal
    size = mtime_ns = None
    if refusal:
        digest = "refused:" + path
    else:
        try:
            stat = landing_file.path.stat()
            if _known_by_size_and_time(conn, entity, path, stat.st_size, stat.st_mtime_ns):
                return FileLoad(entity.name, path, "unchanged")
            digest, size, mtime_ns = content_hash(landing_file.path), stat.st_size, stat.st_mtime_ns
        except OSError as error:
            digest = "unreadable:" + path
            refusal = f"cannot read the file: {error.strerror or error}"

    seen = conn.execute(
        """
        SELECT
            bool_or(file_path = ? AND content_hash = ?),
            bool_or(content_hash = ? AND status = 'loaded')
        FROM audit.load_ledger WHERE entity = ?
        """,
        [path, digest, digest, entity.name],
    ).fetchone()
    if seen[0]:
        # Touched but not changed (or recorded before file times were): remember its time now.
        conn.execute(
            "UPDATE audit.load_ledger SET file_mtime_ns = ? WHERE entity = ? AND file_path = ? AND content_hash = ?",
            [mtime_ns, entity.name, path, digest],
        )
        return FileLoad(entity.name, path, "unchanged")
    if seen[1]:
        reason = "same content as a file already loaded"
        _record(conn, entity, path, digest, size, "duplicate", 0, 0, 0, reason, mtime_ns=mtime_ns)
        return FileLoad(entity.name, path, "duplicate", reason=reason)
    if size == 0:
        refusal = EMPTY_FILE
    if refusal:
        _record(conn, entity, path, digest, size, "failed", 0, 0, 0, refusal, mtime_ns=mtime_ns)
        return FileLoad(entity.name, path, "failed", reason=refusal)

    scratch = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-", dir=_scratch_root(conn)))
    # Row order is carried in `_row_number`, never in the order rows are written: DuckDB may then
    # stream into its sinks (the scratch file, raw, quarantine) without holding rows back for order.
    previous_order = conn.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    conn.execute("SET preserve_insertion_order = false")
    conn.execute("BEGIN TRANSACTION")
    try:
        file_id = conn.execute("SELECT nextval('audit.file_id_seq')").fetchone()[0]
        fmt = landing_file.format
        landing = readers.read(conn, landing_file.path, fmt, scratch, lambda found: _column_sources(entity, found, fmt, path))
        rows_read, rows_loaded, rows_quarantined = _load_rows(conn, entity, landing, fmt, path, file_id)
        _record(conn, entity, path, digest, size, "loaded", rows_read, rows_loaded, rows_quarantined, None, file_id, mtime_ns)
        crash_point(f"extract:before_commit:{entity.name}")
        conn.execute("COMMIT")
    except OSError:
        # An I/O error says nothing about the file's content (a share hiccup, a
        # file still being copied): nothing is recorded, the step fails and its
        # retry policy (or the next run) tries the file again.
        conn.execute("ROLLBACK")
        raise
    except Exception as error:  # noqa: BLE001 - one bad file must not stop the others
        conn.execute("ROLLBACK")
        if not isinstance(error, (duckdb.Error, FileRejected)):
            log.exception("%s: unexpected error while loading %s", entity.name, path)
        reason = _readable(error)
        _record(conn, entity, path, digest, size, "failed", 0, 0, 0, reason, mtime_ns=mtime_ns)
        return FileLoad(entity.name, path, "failed", reason=reason)
    finally:
        for table in (*readers.TEMP_TABLES, *_TEMP_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"SET preserve_insertion_order = {'true' if previous_order else 'false'}")
        shutil.rmtree(scratch, ignore_errors=True)
    return FileLoad(entity.name, path, "loaded", rows_read, rows_loaded, rows_quarantined)


def _scratch_root(conn: duckdb.DuckDBPyConnection) -> str | None:
    """Where the scratch folders go: DuckDB's temp_directory when it is an
    absolute path (BATON_DUCKDB_TEMP_DIR, or the warehouse's `<file>.tmp`),
    else the system's temporary folder (TMPDIR)."""
    configured = conn.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    if configured and os.path.isabs(configured):
        try:
            os.makedirs(configured, exist_ok=True)
            return configured
        except OSError:
            pass
    return None


def _remove_stale_scratch(conn: duckdb.DuckDBPyConnection) -> None:
    """Scratch folders of processes that died mid-file (a crash skips the clean-up)."""
    root = Path(_scratch_root(conn) or tempfile.gettempdir())
    for folder in root.glob(f"{_SCRATCH_PREFIX}*"):
        pid = folder.name[len(_SCRATCH_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass


def _known_by_size_and_time(conn: duckdb.DuckDBPyConnection, entity: Entity, path: str, size: int, mtime_ns: int) -> bool:
    """A file whose path, size and modification time match a ledger entry is that entry's file:
    not hashed again. Hashing every file of a landing folder that keeps its history costs more
    each night (2.2 GB at 1M leads: ~1.5 s); a file rewritten with other content keeps neither
    its size and its time both (the trade-off rsync and make make too)."""
    (known,) = conn.execute(
        "SELECT count(*) > 0 FROM audit.load_ledger WHERE entity = ? AND file_path = ? AND file_bytes = ? AND file_mtime_ns = ?",
        [entity.name, path, size, mtime_ns],
    ).fetchone()
    return known


def _record(conn, entity, path, digest, size, status, read, loaded, quarantined, reason, file_id=None, mtime_ns=None) -> None:
    conn.execute(
        """
        INSERT INTO audit.load_ledger (file_id, entity, file_path, file_name, content_hash, file_bytes, rows_read,
                                       rows_loaded, rows_quarantined, loaded_at, status, reason, file_mtime_ns)
        VALUES (coalesce(?, nextval('audit.file_id_seq')), ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?)
        """,
        [file_id, entity.name, path, Path(path).name, digest, size, read, loaded, quarantined, status, reason, mtime_ns],
    )


def _readable(error: BaseException) -> str:
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else type(error).__name__
    return first_line[:500]


# --- parsing ---------------------------------------------------------------------------------


def _column_sources(entity: Entity, names: list[str], fmt: str, path: str) -> dict[str, list[int]]:
    """Contract column -> the 1-based positions of the file's columns that hold it.

    Names match trimmed and case-insensitively. A CSV or Parquet file that names
    a required column nowhere, or any contract column twice, is rejected as a
    whole: which of two `email` columns is the email is not ours to guess. In
    JSON lines keys vary from object to object, so a column may come under
    several spellings; a row that gives two of them is quarantined instead.
    """
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(names, start=1):
        positions.setdefault(name.strip().lower(), []).append(index)
    sources = {c: positions.get(c, []) for c in entity.column_names}
    if fmt != "jsonl" or names:
        missing = [c for c in entity.required if not sources[c]]
        if missing:
            shown = ", ".join(_shown(n) for n in names) if names else "nothing"
            hint = ""
            if fmt == "csv" and len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
                hint = "; the file must be comma-separated"
            raise FileRejected(
                f"{Path(path).name}: missing required column(s) {', '.join(missing)} "
                f"({'keys' if fmt == 'jsonl' else 'header'} has: {shown}){hint}"
            )
    if fmt != "jsonl":
        for column, found in sources.items():
            if len(found) > 1:
                spelled = ", ".join(f"{i} ('{_shown(names[i - 1])}')" for i in found)
                raise FileRejected(f"{Path(path).name}: duplicated column {column}: header columns {spelled} all name it")
    return sources


def _shown(name: str) -> str:
    """A column name fit for a one-line reason."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in name)


def _clean(value: str) -> str:
    """Blank is null: trim white space (spaces, tabs, line breaks, NBSP, BOM), then '' -> null.

    Most values have nothing to trim, and a test of the first and last
    character is far cheaper than the regular expression: only a value that
    starts or ends with one of those characters goes through it."""
    return (
        f"CASE WHEN list_contains({_BLANK_CODES}, unicode({value})) "
        f"OR list_contains({_BLANK_CODES}, unicode(right({value}, 1))) "
        f"THEN nullif(regexp_replace({value}, '^{_BLANK}+|{_BLANK}+$', '', 'g'), '') ELSE nullif({value}, '') END"
    )


def _load_rows(
    conn: duckdb.DuckDBPyConnection, entity: Entity, landing: readers.Landing, fmt: str, path: str, file_id: int
) -> tuple[int, int, int]:
    """Good rows -> raw.<entity>, bad rows -> audit.quarantine; returns rows read, loaded, quarantined.

    The file's rows (`landing.rows`) are scanned three times, each scan
    streaming (nothing the size of the file is held in memory):

    1. the hashes of the record keys that occur more than once (sorted, so
       only the hashes are held), usually none; for an immutable entity
       whose raw table holds rows already, also the hashes of the file's keys
       that raw holds: `_landing_loaded` has each such raw key (a semi-join
       on the key hash; only the matches are kept) with its first loaded
       version (file, row);
    2. `_landing_flagged`: the rows that break a rule, and the rows whose key
       hash is one of those, with their original text; among those, the
       earlier rows of a key are superseded and, for an immutable entity,
       the rows of a key already loaded are refused (keys compared exactly),
       giving `_landing_rejected`, every row that does not load, with its
       reason;
    3. every other row, typed, into raw.<entity>, with `_raw_row` holding
       only the file's columns that match no contract column.
    """
    names = landing.names
    sources = _column_sources(entity, names, fmt, path)
    params: dict[str, object] = dict(landing.params)  # the file's own names only ever travel as parameters

    cleaned, reasons, given_twice = [], [], []
    for column in entity.columns:
        found = sources[column.name]
        if not found:
            value = "NULL::VARCHAR"
        elif len(found) == 1:
            value = _clean(f"c{found[0]}")
        else:  # JSON lines only: the same column under several keys
            value = f"coalesce({', '.join(_clean(f'c{i}') for i in found)})"
            given = " + ".join(f"({_clean(f'c{i}')} IS NOT NULL)::INTEGER" for i in found)
            keys = ", ".join(names[i - 1] for i in found)
            given_twice.append(f"CASE WHEN {given} > 1 THEN $given_twice_{len(given_twice) + 1}::VARCHAR END")
            params[f"given_twice_{len(given_twice)}"] = f"{column.name}: given more than once (keys {keys})"
        cleaned.append(f"{value} AS {quote_ident(column.name)}")
    if given_twice:
        cleaned.append(f"nullif(concat_ws('; ', {', '.join(given_twice)}), '') AS _given_twice")
        reasons.append("_given_twice")

    typed = []
    for column in entity.columns:
        name = quote_ident(column.name)
        parsed = _typed_sql(column.kind, name)
        typed.append(f"{parsed} AS {name}")
        if column.required:
            reasons.append(f"CASE WHEN {name} IS NULL THEN '{column.name}: required value is missing' END")
        if column.kind in (Kind.INTEGER, Kind.NUMBER, Kind.TIMESTAMP, Kind.DATE):
            expected = {Kind.INTEGER: "whole number", Kind.NUMBER: "number"}.get(column.kind, "ISO 8601 date/time")
            reasons.append(
                f"CASE WHEN {name} IS NOT NULL AND ({parsed}) IS NULL "
                f"THEN '{column.name}: not a valid {expected}: ' || {name} END"
            )
        if column.kind is Kind.EVENT_TYPE:
            allowed = ", ".join(quote_literal(t) for t in EVENT_TYPES)
            reasons.append(
                f"CASE WHEN {name} IS NOT NULL AND ({parsed}) NOT IN ({allowed}) "
                f"THEN '{column.name}: unknown event type: ' || {name} END"
            )
    if entity.one_of:
        all_missing = " AND ".join(f"{quote_ident(c)} IS NULL" for c in entity.one_of)
        reasons.append(f"CASE WHEN {all_missing} THEN 'neither {' nor '.join(entity.one_of)} is given' END")
    if "stage" in entity.column_names and "closed_at" in entity.column_names:
        closed = ", ".join(quote_literal(s) for s in CLOSED_STAGES)
        reasons.append(
            f"CASE WHEN ({_typed_sql(Kind.STAGE, 'stage')}) IN ({closed}) AND closed_at IS NULL "
            f"THEN 'closed_at: a closed deal needs closed_at' END"
        )

    parts = []
    for alternatives in entity.key:
        options = [
            f"{quote_literal(alt + ':')} || "
            + (f"lower({quote_ident(alt)})" if alt in ("email", "domain") else quote_ident(alt))
            for alt in alternatives
        ]
        parts.append(f"coalesce({', '.join(options)})" if len(options) > 1 else options[0])
    has_key = " AND ".join(f"({p}) IS NOT NULL" for p in parts)
    record_key = f"CASE WHEN {has_key} THEN to_json([{', '.join(parts)}])::VARCHAR END"
    key_hash = f"CASE WHEN {has_key} THEN hash({', '.join(parts)}) END"
    row_reasons = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')"
    raw_columns = ", ".join(landing.raw_columns)
    rows = f"SELECT _row_number, {raw_columns}, {', '.join(cleaned)} FROM ({landing.rows})"

    # 1. Key hashes seen more than once (a sort of one 8-byte hash per row).
    _execute(
        conn,
        f"""
        CREATE TEMP TABLE _landing_repeated_keys AS
        SELECT DISTINCT h FROM (
            SELECT h, lag(h) OVER (ORDER BY h) AS previous FROM (SELECT {key_hash} AS h FROM ({rows}))
            WHERE h IS NOT NULL
        ) WHERE h = previous
        """,
        params,
    )
    # Immutable records: the raw rows (of earlier files) whose key hash is one of the file's, by
    # key and hash with the first loaded version of the key. The key's columns are text, so the same
    # expression over raw's typed columns gives the same hash; keys are then compared exactly (step 2).
    conn.execute("CREATE TEMP TABLE _landing_loaded (h UBIGINT, _record_key VARCHAR, _first_file VARCHAR, _first_row BIGINT)")
    if entity.immutable and conn.execute(f"SELECT EXISTS (SELECT 1 FROM raw.{entity.name})").fetchone()[0]:
        key_columns = {c for alternatives in entity.key for c in alternatives}
        if any(c.kind is not Kind.TEXT for c in entity.columns if c.name in key_columns):
            raise RuntimeError(f"{entity.name}: the key columns of an immutable entity must be text")
        _execute(
            conn,
            f"""
            INSERT INTO _landing_loaded
            SELECT h, _record_key, v.f, v.r FROM (
                SELECT {key_hash} AS h, _record_key, min({{'i': _file_id, 'r': _row_number, 'f': _source_file}}) AS v
                FROM raw.{entity.name}
                WHERE {key_hash} IN (SELECT {key_hash} FROM ({rows}))
                GROUP BY ALL
            )
            """,
            params,
        )
        conn.execute("INSERT INTO _landing_repeated_keys SELECT DISTINCT h FROM _landing_loaded")
    # 2. The rows that do not load, and why.
    _execute(
        conn,
        f"""
        CREATE TEMP TABLE _landing_flagged AS
        SELECT _row_number, {raw_columns}, {record_key} AS _record_key, _reasons
        FROM (SELECT *, {row_reasons} AS _reasons FROM ({rows}))
        WHERE _reasons IS NOT NULL OR {key_hash} IN (SELECT h FROM _landing_repeated_keys)
        """,
        params,
    )
    key_label = ", ".join(" / ".join(alternatives) for alternatives in entity.key)
    _execute(
        conn,
        f"""
        CREATE TEMP TABLE _landing_rejected AS
        SELECT _row_number, {raw_columns}, _reason FROM (
            SELECT *, nullif(concat_ws('; ', _reasons,
                       CASE WHEN _last_row > _row_number
                       THEN 'superseded by row ' || _last_row || ' of the same file (same key)' END,
                       CASE WHEN _first_row IS NOT NULL
                       THEN $key_label || ': already loaded from ' || regexp_extract(_first_file, '[^/]*$')
                            || ' row ' || _first_row || $immutable END), '') AS _reason
            FROM (
                SELECT f.*, l._first_file, l._first_row,
                       CASE WHEN f._record_key IS NOT NULL
                            THEN max(f._row_number) OVER (PARTITION BY f._record_key) END AS _last_row
                FROM _landing_flagged AS f LEFT JOIN _landing_loaded AS l ON l._record_key = f._record_key
            )
        )
        WHERE _reason IS NOT NULL
        """,
        {"key_label": key_label, "immutable": f"; {_records_noun(entity)} are immutable, the first loaded version counts"},
    )
    # 3. Everything else loads; `_raw_row` keeps only the file's columns that match no contract column.
    columns = ", ".join(quote_ident(c) for c in entity.column_names)
    known = {i for found in sources.values() for i in found}
    extra_row = landing.raw_row_of([i for i in range(1, len(names) + 1) if i not in known])
    (rows_loaded,) = _execute(
        conn,
        f"""
        INSERT INTO raw.{entity.name} ({columns}, _record_key, _file_id, _source_file, _row_number, _raw_row, _loaded_at)
        SELECT {', '.join(typed)}, {record_key}, $file_id, $source_file, _row_number, {extra_row}, now()::TIMESTAMP
        FROM ({rows}) AS r
        WHERE NOT EXISTS (SELECT 1 FROM _landing_rejected AS q WHERE q._row_number = r._row_number)
        """,
        {**params, "file_id": file_id, "source_file": path},
    ).fetchone()
    (rows_quarantined,) = _execute(
        conn,
        f"""
        INSERT INTO audit.quarantine
        SELECT $file_id, $entity, $source_file, _row_number, _raw_row, _reason, now()::TIMESTAMP
        FROM (
            SELECT _row_number, ({landing.raw_row})::VARCHAR AS _raw_row, _reason FROM _landing_rejected
            UNION ALL
            SELECT _row_number, _raw_row::VARCHAR, _problem FROM _landing_problems
        )
        ORDER BY _row_number
        """,
        {**params, "file_id": file_id, "entity": entity.name, "source_file": path},
    ).fetchone()
    (problems,) = conn.execute("SELECT count(*) FROM _landing_problems").fetchone()
    rows_read = landing.row_count + problems
    if rows_loaded + rows_quarantined != rows_read:  # cannot happen; never commit a file that does not balance
        raise RuntimeError(f"read {rows_read} rows but loaded {rows_loaded} and quarantined {rows_quarantined}")
    return rows_read, rows_loaded, rows_quarantined


def _records_noun(entity: Entity) -> str:
    """What an entity's records are called in a reason: `engagement_events` -> `events`."""
    return entity.name.rsplit("_", 1)[-1]


def _execute(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> duckdb.DuckDBPyConnection:
    """Run `sql` with those of the named parameters it uses (DuckDB refuses unused ones)."""
    used = {name: value for name, value in params.items() if re.search(rf"\${re.escape(name)}\b", sql)}
    return conn.execute(sql, used) if used else conn.execute(sql)


def _typed_sql(kind: Kind, name: str) -> str:
    if kind is Kind.INTEGER:
        return f"CASE WHEN regexp_full_match({name}, '{_INTEGER}') THEN TRY_CAST(regexp_replace({name}, '\\.0*$', '') AS BIGINT) END"
    if kind is Kind.NUMBER:
        number = f"TRY_CAST({name} AS DOUBLE)"
        return f"CASE WHEN regexp_full_match({name}, '{_NUMBER}') AND isfinite({number}) THEN {number} END"
    if kind in (Kind.TIMESTAMP, Kind.DATE):
        as_utc = f"TRY_CAST(upper({name}) AS TIMESTAMPTZ)::TIMESTAMP"
        value = f"CASE WHEN regexp_full_match({name}, '{_ISO_TIMESTAMP}') THEN {as_utc} END"
        return f"({value})::DATE" if kind is Kind.DATE else value
    if kind in (Kind.EVENT_TYPE, Kind.STAGE):
        # `Closed Won`, `closed-won` and `closed_won` are one stage (CONTRACT s7).
        return f"regexp_replace(lower({name}), '[ -]', '_', 'g')"
    return name

"""Loading landing files into the warehouse's `raw` schema.

Every file is loaded in one DuckDB transaction: its good rows go to
`raw.<entity>`, its bad rows to `audit.quarantine` with a reason, and one row
to `audit.load_ledger`. A crash mid-file therefore leaves no trace of it and
the file is simply loaded by the next run. All row work happens inside DuckDB
(read_csv / read_parquet / read_text); Python only builds the SQL.

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
  of the same file (same key)`;
- timestamps with an offset (`+02:00`, `+0200`, `+02`, `Z`) are converted to
  UTC and stored as naive TIMESTAMP; without an offset they are UTC already;
- columns match trimmed and case-insensitively; unknown columns are kept in
  `_raw_row` only;
- for every file, rows read = rows loaded + rows quarantined.

File paths reach DuckDB only as bound parameters (glob-escaped, see
readers.duckdb_path); identifiers are quoted with quote_ident and the
file's own column names never appear in SQL text at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from . import readers
from .entities import CLOSED_STAGES, ENTITIES, EVENT_TYPES, Entity, Kind
from ..faults import crash_point
from .errors import FileRejected
from .landing import LandingFile, content_hash, discover

__all__ = ["FileLoad", "FileRejected", "ensure_warehouse", "load_entity", "quote_ident", "quote_literal"]

log = logging.getLogger(__name__)

# ISO 8601 date, optional time, optional offset (Z, +hh, +hhmm, +hh:mm).
_ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)?"
_INTEGER = r"[+-]?\d+(\.0*)?"
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"

EMPTY_FILE = "empty file (0 bytes)"

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


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
    if refusal:
        digest, size = "refused:" + path, None
    else:
        try:
            digest, size = content_hash(landing_file.path), landing_file.path.stat().st_size
        except OSError as error:
            digest, size = "unreadable:" + path, None
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
        return FileLoad(entity.name, path, "unchanged")
    if seen[1]:
        reason = "same content as a file already loaded"
        _record(conn, entity, path, digest, size, "duplicate", 0, 0, 0, reason)
        return FileLoad(entity.name, path, "duplicate", reason=reason)
    if size == 0:
        refusal = EMPTY_FILE
    if refusal:
        _record(conn, entity, path, digest, size, "failed", 0, 0, 0, refusal)
        return FileLoad(entity.name, path, "failed", reason=refusal)

    conn.execute("BEGIN TRANSACTION")
    try:
        file_id = conn.execute("SELECT nextval('audit.file_id_seq')").fetchone()[0]
        fmt = landing_file.format
        names = readers.read(conn, landing_file.path, fmt, lambda found: _column_sources(entity, found, fmt, path))
        _parse_into_temp(conn, entity, names, fmt, path)
        rows_read, rows_loaded, rows_quarantined = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE _reason IS NULL), count(*) FILTER (WHERE _reason IS NOT NULL) "
            "FROM _landing_parsed"
        ).fetchone()
        columns = ", ".join(quote_ident(c) for c in entity.column_names)
        conn.execute(
            f"""
            INSERT INTO raw.{entity.name} ({columns}, _record_key, _file_id, _source_file, _row_number, _raw_row, _loaded_at)
            SELECT {columns}, _record_key, ?, ?, _row_number, _raw_row, now()::TIMESTAMP
            FROM _landing_parsed WHERE _reason IS NULL ORDER BY _row_number
            """,
            [file_id, path],
        )
        conn.execute(
            """
            INSERT INTO audit.quarantine
            SELECT ?, ?, ?, _row_number, _raw_row::VARCHAR, _reason, now()::TIMESTAMP
            FROM _landing_parsed WHERE _reason IS NOT NULL ORDER BY _row_number
            """,
            [file_id, entity.name, path],
        )
        _record(conn, entity, path, digest, size, "loaded", rows_read, rows_loaded, rows_quarantined, None, file_id)
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
        _record(conn, entity, path, digest, size, "failed", 0, 0, 0, reason)
        return FileLoad(entity.name, path, "failed", reason=reason)
    finally:
        conn.execute("DROP TABLE IF EXISTS _landing_read")
        conn.execute("DROP TABLE IF EXISTS _landing_parsed")
    return FileLoad(entity.name, path, "loaded", rows_read, rows_loaded, rows_quarantined)


def _record(conn, entity, path, digest, size, status, read, loaded, quarantined, reason, file_id=None) -> None:
    conn.execute(
        """
        INSERT INTO audit.load_ledger VALUES (
            coalesce(?, nextval('audit.file_id_seq')), ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?)
        """,
        [file_id, entity.name, path, Path(path).name, digest, size, read, loaded, quarantined, status, reason],
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


def _parse_into_temp(conn: duckdb.DuckDBPyConnection, entity: Entity, names: list[str], fmt: str, path: str) -> None:
    """`_landing_parsed`: typed contract columns, `_record_key` and `_reason` (null for a good row)."""
    sources = _column_sources(entity, names, fmt, path)

    def clean(position: int) -> str:
        # Blank is null: trim white space (spaces, tabs, line breaks, NBSP) then '' -> null.
        return f"nullif(regexp_replace(c{position}, '^[\\s\\x{{a0}}\\x{{feff}}]+|[\\s\\x{{a0}}\\x{{feff}}]+$', '', 'g'), '')"

    cleaned, reasons, given_twice = [], [], []
    parameters: list[str] = []  # the file's own names only ever travel as parameters
    for column in entity.columns:
        found = sources[column.name]
        if not found:
            value = "NULL::VARCHAR"
        elif len(found) == 1:
            value = clean(found[0])
        else:  # JSON lines only: the same column under several keys
            value = f"coalesce({', '.join(clean(i) for i in found)})"
            given = " + ".join(f"({clean(i)} IS NOT NULL)::INTEGER" for i in found)
            keys = ", ".join(names[i - 1] for i in found)
            given_twice.append(f"CASE WHEN {given} > 1 THEN ?::VARCHAR END")
            parameters.append(f"{column.name}: given more than once (keys {keys})")
        cleaned.append(f"{value} AS {quote_ident(column.name)}")
    if given_twice:
        cleaned.append(f"nullif(concat_ws('; ', {', '.join(given_twice)}), '') AS _given_twice")
        reasons.insert(0, "_given_twice")

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
    all_parts = " AND ".join(f"({p}) IS NOT NULL" for p in parts)
    record_key = f"CASE WHEN _problem IS NULL AND {all_parts} THEN to_json([{', '.join(parts)}])::VARCHAR END"
    # A row that could not be split into fields has only its structural problem as reason.
    row_reasons = f"coalesce(_problem, nullif(concat_ws('; ', {', '.join(reasons)}), ''))"

    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_parsed AS
        WITH cleaned AS (
            SELECT _row_number, _raw_row, _problem, {', '.join(cleaned)} FROM _landing_read
        ),
        checked AS (
            SELECT *, {record_key} AS _record_key, {row_reasons} AS _reasons FROM cleaned
        ),
        superseded AS (
            SELECT *,
                   CASE WHEN _record_key IS NOT NULL THEN max(_row_number) OVER (PARTITION BY _record_key) END AS _last_row
            FROM checked
        )
        SELECT _row_number, _raw_row, _record_key, {', '.join(typed)},
               nullif(concat_ws('; ', _reasons, CASE WHEN _last_row > _row_number
                   THEN 'superseded by row ' || _last_row || ' of the same file (same key)' END), '') AS _reason
        FROM superseded
        """,
        parameters,
    )


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

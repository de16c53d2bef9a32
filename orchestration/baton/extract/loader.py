"""Loading landing files into the warehouse's `raw` schema.

Every file is loaded in one DuckDB transaction: its good rows go to
`raw.<entity>`, its bad rows to `audit.quarantine` with a reason, and one row
to `audit.load_ledger`. A crash mid-file therefore leaves no trace of it and
the file is simply loaded by the next run. All row work happens inside DuckDB
(read_csv / read_parquet / read_text); Python only builds the SQL.

Values are trimmed (blank is null) and parsed here, once: downstream models
read typed columns and never re-parse text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from .entities import CLOSED_STAGES, ENTITIES, EVENT_TYPES, Entity, Kind
from .landing import LandingFile, content_hash, discover

log = logging.getLogger(__name__)

# ISO 8601 date, optional time, optional offset (Z, +hh, +hhmm, +hh:mm).
_ISO_TIMESTAMP = r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)?"
_INTEGER = r"[+-]?\d+(\.0*)?"
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"

METADATA_COLUMNS = (
    ("_record_key", "VARCHAR"),
    ("_file_id", "BIGINT"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_raw_row", "JSON"),
    ("_loaded_at", "TIMESTAMP"),
)


class FileRejected(Exception):
    """The file as a whole cannot be loaded (unreadable, missing a required column)."""


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
    if landing_file.refusal:
        digest, size = "refused:" + path, None
    else:
        digest, size = content_hash(landing_file.path), landing_file.path.stat().st_size

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
    if landing_file.refusal:
        _record(conn, entity, path, digest, size, "failed", 0, 0, 0, landing_file.refusal)
        return FileLoad(entity.name, path, "failed", reason=landing_file.refusal)

    conn.execute("BEGIN TRANSACTION")
    try:
        file_id = conn.execute("SELECT nextval('audit.file_id_seq')").fetchone()[0]
        _read_into_temp(conn, landing_file)
        _parse_into_temp(conn, entity, path)
        rows_read, rows_loaded, rows_quarantined = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE _reason IS NULL), count(*) FILTER (WHERE _reason IS NOT NULL) "
            "FROM _landing_parsed"
        ).fetchone()
        names = ", ".join(quote_ident(c) for c in entity.column_names)
        conn.execute(
            f"""
            INSERT INTO raw.{entity.name} ({names}, _record_key, _file_id, _source_file, _row_number, _raw_row, _loaded_at)
            SELECT {names}, _record_key, ?, ?, _row_number, _raw_row, now()::TIMESTAMP
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
        conn.execute("COMMIT")
    except (duckdb.Error, FileRejected, UnicodeError) as error:
        conn.execute("ROLLBACK")
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


# --- reading ---------------------------------------------------------------------------------


def _read_into_temp(conn: duckdb.DuckDBPyConnection, landing_file: LandingFile) -> None:
    """`_landing_read`: the file's columns as text, `_row_number` and `_raw_row` (JSON)."""
    path = str(landing_file.path)
    fmt = landing_file.format
    if fmt == "csv":
        conn.execute(
            """
            CREATE TEMP TABLE _landing_source AS
            SELECT * FROM read_csv(?, header = true, all_varchar = true, delim = ',', quote = '"', escape = '"')
            """,
            [path],
        )
        # Temporary tables number rows from an internal offset; insertion order is file order.
        _with_row_numbers(conn, "rowid - (SELECT min(rowid) FROM _landing_source) + 1")
    elif fmt == "parquet":
        conn.execute(
            "CREATE TEMP TABLE _landing_source AS SELECT * FROM read_parquet(?, file_row_number = true)",
            [path],
        )
        _with_row_numbers(conn, "file_row_number + 1", exclude=("file_row_number",))
    elif fmt == "jsonl":
        _read_jsonl(conn, path)
    else:  # discover() only lists readable suffixes
        raise FileRejected(f"unsupported file type: {landing_file.path.suffix}")


def _with_row_numbers(conn, row_number_sql: str, exclude: Iterable[str] = ()) -> None:
    columns = [
        row[0] for row in conn.execute("DESCRIBE _landing_source").fetchall() if row[0] not in set(exclude)
    ]
    text_columns = ", ".join(f"CAST({quote_ident(c)} AS VARCHAR) AS {quote_ident(c)}" for c in columns)
    raw_row = "json_object(" + ", ".join(f"{quote_literal(c)}, CAST({quote_ident(c)} AS VARCHAR)" for c in columns) + ")"
    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_read AS
        SELECT {row_number_sql} AS _row_number, {raw_row} AS _raw_row, {text_columns}
        FROM _landing_source
        """
    )
    conn.execute("DROP TABLE _landing_source")


def _read_jsonl(conn, path: str) -> None:
    """JSON lines: a line that is not a JSON object is kept (and quarantined) rather than skipped."""
    conn.execute(
        """
        CREATE TEMP TABLE _landing_lines AS
        SELECT _row_number, line FROM (
            SELECT unnest(lines) AS line, generate_subscripts(lines, 1) AS _row_number
            FROM (SELECT string_split(replace(content, chr(13), ''), chr(10)) AS lines FROM read_text(?))
        ) WHERE trim(line) <> ''
        """,
        [path],
    )
    keys = [
        row[0]
        for row in conn.execute(
            """
            SELECT DISTINCT unnest(json_keys(CASE WHEN _is_object THEN line END)) AS k
            FROM (SELECT line, CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END AS _is_object
                  FROM _landing_lines)
            ORDER BY k
            """
        ).fetchall()
    ]
    extract = ", ".join(
        f"CASE WHEN _is_object THEN json_extract_string(line, {quote_literal('$.' + _json_path_key(k))}) END AS {quote_ident(k)}"
        for k in keys
    )
    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_read AS
        SELECT _row_number,
               CASE WHEN _is_object THEN line::JSON ELSE to_json(line) END AS _raw_row,
               _is_object AS _is_json_object
               {', ' + extract if extract else ''}
        FROM (
            SELECT *, CASE WHEN json_valid(line) THEN json_type(line) = 'OBJECT' ELSE false END AS _is_object
            FROM _landing_lines
        )
        """
    )
    conn.execute("DROP TABLE _landing_lines")


def _json_path_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --- parsing ---------------------------------------------------------------------------------


def _parse_into_temp(conn: duckdb.DuckDBPyConnection, entity: Entity, path: str) -> None:
    """`_landing_parsed`: typed contract columns, `_record_key` and `_reason` (null for a good row)."""
    present = [row[0] for row in conn.execute("DESCRIBE _landing_read").fetchall()]
    by_lower: dict[str, str] = {}
    for name in present:
        if name.startswith("_") and name in ("_row_number", "_raw_row", "_is_json_object"):
            continue
        by_lower.setdefault(name.strip().lower(), name)
    missing = [c for c in entity.required if c not in by_lower]
    if missing:
        raise FileRejected(
            f"{Path(path).name}: missing required column(s) {', '.join(missing)} "
            f"(header has: {', '.join(n for n in present if not n.startswith('_')) or 'nothing'})"
        )

    cleaned = []
    for column in entity.columns:
        source = by_lower.get(column.name)
        value = (
            f"nullif(regexp_replace({quote_ident(source)}, '^\\s+|\\s+$', '', 'g'), '')" if source else "NULL::VARCHAR"
        )
        cleaned.append(f"{value} AS {quote_ident(column.name)}")

    typed, reasons = [], []
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
    record_key = f"CASE WHEN {all_parts} THEN to_json([{', '.join(parts)}])::VARCHAR END"
    row_reasons = f"nullif(concat_ws('; ', {', '.join(reasons)}), '')"
    if "_is_json_object" in present:
        row_reasons = f"CASE WHEN NOT _is_json_object THEN 'line is not a JSON object' ELSE {row_reasons} END"

    extra_source = ", _is_json_object" if "_is_json_object" in present else ""
    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_parsed AS
        WITH cleaned AS (
            SELECT _row_number, _raw_row{extra_source}, {', '.join(cleaned)} FROM _landing_read
        ),
        checked AS (
            SELECT *,
                   {record_key} AS _record_key,
                   {row_reasons} AS _reasons
            FROM cleaned
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
        """
    )


def _typed_sql(kind: Kind, name: str) -> str:
    if kind is Kind.INTEGER:
        return f"CASE WHEN regexp_full_match({name}, '{_INTEGER}') THEN TRY_CAST(regexp_replace({name}, '\\.0*$', '') AS BIGINT) END"
    if kind is Kind.NUMBER:
        return f"CASE WHEN regexp_full_match({name}, '{_NUMBER}') THEN TRY_CAST({name} AS DOUBLE) END"
    if kind in (Kind.TIMESTAMP, Kind.DATE):
        as_utc = f"TRY_CAST(upper({name}) AS TIMESTAMPTZ)::TIMESTAMP"
        value = f"CASE WHEN regexp_full_match({name}, '{_ISO_TIMESTAMP}') THEN {as_utc} END"
        return f"({value})::DATE" if kind is Kind.DATE else value
    if kind in (Kind.EVENT_TYPE, Kind.STAGE):
        # `Closed Won`, `closed-won` and `closed_won` are one stage (CONTRACT s7).
        return f"regexp_replace(lower({name}), '[ -]', '_', 'g')"
    return name

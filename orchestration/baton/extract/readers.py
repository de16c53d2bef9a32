"""Reading one landing file, as text, into the temporary table `_landing_read`.

Every reader leaves the same shape behind, whatever the file format:

    _row_number  BIGINT   the row's place in the file (see below)
    _raw_row     JSON     the row as it was in the file, values as text
    _problem     VARCHAR  why the row could not even be split into fields
                          (a structural problem); null for a readable row
    c1 .. cN     VARCHAR  the values of the file's N columns, untrimmed

and returns the file's column names by position (`names[i]` is `c{i+1}`),
exactly as they appear in the file. Columns are referenced by position in all
SQL, so a column name (or JSON key) is never written into a statement: names
travel as bound parameters, and so do file paths. DuckDB expands glob
characters (`*`, `?`, `[`) even in a bound path, so paths are glob-escaped
too and checked to name exactly the one file (`duckdb_path`).

All row work happens in DuckDB (read_csv, read_parquet, read_text); the only
bytes Python reads are the CSV header record (to get the column names exactly
as written, duplicates included, which DuckDB would rename).

Decisions on hostile input (CONTRACT.md s2 "Bad input", s7):

- **Row numbers.** CSV: row N is the N-th record after the header (a quoted
  value spanning several lines is one record; blank lines are not records and
  are not counted, neither as rows nor in rows read). JSONL: row N is line N
  of the file (blank lines are skipped but keep their line number). Parquet:
  row N is the N-th row of the file.
- **Encoding.** Files must be UTF-8 (a leading byte-order mark is dropped). A
  file with any invalid UTF-8 byte sequence (e.g. a Latin-1 export) fails as
  a whole, reason `not UTF-8 encoded: ...` naming the first bad row: loading
  the rows that happen to be pure ASCII would load part of a file that was
  exported in the wrong encoding, and re-exporting it is the fix.
- **0-byte file** (any format): fails with reason `empty file (0 bytes)` -- a
  CSV export always has at least a header, so an empty file is a broken
  export, and it should show up in the ledger rather than pass as "0 rows".
  A header-only CSV, an empty Parquet file and a JSONL file of blank lines
  load 0 rows.
- **Ragged rows** (too few / too many fields) and **broken quoting** (a quote
  never closed, text after a closing quote) are quarantined with a reason
  naming the problem and the field; the other rows of the file load. A quote
  that is never closed takes the rest of the file into its row, which is then
  one quarantined row (DuckDB reads it that way; no guessing where it ends).
- **Duplicated header names**: fatal for the file if two header cells name the
  same contract column (compared trimmed and case-insensitively, see
  loader.py), otherwise both are kept; in `_raw_row` the second `x` is called
  `x (2)` so the JSON object keeps every value.
- **JSONL**: a line that is not JSON, or JSON but not an object, is
  quarantined; a file where no line is a JSON object is not JSONL and fails.
  Keys are the union over the file's objects, in order of first appearance.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from pathlib import Path

import duckdb

from .errors import FileRejected

MAX_LINE_BYTES = 16 * 1024 * 1024  # one CSV record, raised from DuckDB's 2 MB default
HEADER_LIMIT_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
# Only used so that an empty CSV field reads as '' (not null) and `_raw_row`
# keeps the original text; blank still becomes null when values are cleaned.
_NO_NULL_STRING = "\x1f\x1ebaton:no-null\x1e\x1f"
_CSV_TABLES = (
    "_csv_rejects", "_csv_reject_scans", "_csv_good", "_csv_bad", "_csv_good_numbered",
    "_csv_bad_numbered", "_csv_records_src", "_csv_records", "_csv_blank_lines",
)
_GLOB_CHARS = {"[": "[[]", "*": "[*]", "?": "[?]"}


def duckdb_path(conn: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The path as DuckDB's file readers must be given it: absolute (no
    `scheme://` reading) and glob-escaped, checked to match only this file."""
    absolute = os.path.abspath(path)
    escaped = "".join(_GLOB_CHARS.get(ch, ch) for ch in absolute)
    matches = [row[0] for row in conn.execute("SELECT file FROM glob(?)", [escaped]).fetchall()]
    if matches != [absolute]:
        raise FileRejected(f"file name cannot be read safely by DuckDB (it matches {len(matches)} files)")
    return escaped


def read(
    conn: duckdb.DuckDBPyConnection, path: Path, fmt: str, check_names: Callable[[list[str]], object] = lambda names: None
) -> list[str]:
    """Create `_landing_read` for the file; return its column names by position.

    `check_names` sees the column names as soon as they are known, before the
    rows are read, and may reject the file (missing required column...)."""
    source = duckdb_path(conn, path)
    if fmt == "csv":
        return _read_csv(conn, path, source, check_names)
    if fmt == "parquet":
        return _read_parquet(conn, source, check_names)
    if fmt == "jsonl":
        return _read_jsonl(conn, source, check_names)
    raise FileRejected(f"unsupported file type: .{fmt}")


def raw_keys(names: list[str]) -> list[str]:
    """Column names as `_raw_row` keys: the second `x` becomes `x (2)`, and so on."""
    seen: dict[str, int] = {}
    keys = []
    taken = set(names)
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        key = name
        if seen[name] > 1:
            n = seen[name]
            while f"{name} ({n})" in taken:
                n += 1
            key = f"{name} ({n})"
            taken.add(key)
        keys.append(key)
    return keys


def _positional(n: int) -> list[str]:
    return [f"c{i}" for i in range(1, n + 1)]


# --- CSV -------------------------------------------------------------------------------------


def _csv_header(path: Path) -> list[str]:
    """The header record's cells, exactly as written (BOM dropped)."""
    data = b""
    with path.open("rb") as handle:
        while True:
            line = handle.readline(HEADER_LIMIT_BYTES + 1 - len(data))
            if not line:
                break
            data += line
            if len(data) > HEADER_LIMIT_BYTES:
                raise FileRejected(f"header row is longer than {HEADER_LIMIT_BYTES // 1024} KiB (or the file is not CSV)")
            if data.count(b'"') % 2 == 0 and data.endswith(b"\n"):
                break
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if data.count(b'"') % 2:
        raise FileRejected("header row: unterminated quote")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FileRejected(
            f"not UTF-8 encoded: invalid byte 0x{data[error.start]:02x} in the header row "
            f"(at byte {error.start}); re-export the file as UTF-8"
        ) from None
    if "\x00" in text:
        raise FileRejected("not a CSV text file: the header row holds NUL bytes")
    if text.endswith("\n"):
        text = text[:-1]
    if text.endswith("\r"):
        text = text[:-1]
    try:
        return next(csv.reader(io.StringIO(text, newline=""), strict=True), [""])
    except csv.Error as error:
        raise FileRejected(f"header row: malformed quoting ({error})") from None


def _read_csv(conn: duckdb.DuckDBPyConnection, path: Path, source: str, check_names) -> list[str]:
    names = _csv_header(path)
    check_names(names)
    cols = _positional(len(names))
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
    options = _csv_options(columns, strict=True, keep_empty=True)
    _drop_csv_tables(conn)
    try:
        conn.execute(
            f"""
            CREATE TEMP TABLE _csv_good AS
            SELECT * FROM read_csv(?, {options}, store_rejects = true, rejects_table = '_csv_rejects',
                                   rejects_scan = '_csv_reject_scans', rejects_limit = 0,
                                   rejects_line_size_limit = 0)
            """,
            [source],
        )
    except duckdb.Error as error:
        raise FileRejected(f"cannot be read as CSV: {str(error).strip().splitlines()[0]}") from None
    # One row per rejected record; `line` counts records (1 = header) including blank lines.
    conn.execute(
        """
        CREATE TEMP TABLE _csv_bad AS
        SELECT line,
               ltrim(first(csv_line ORDER BY byte_position), chr(13) || chr(10)) AS csv_line,
               -- DuckDB starts a rejected record's text with the blank lines right before it
               length(regexp_extract(first(csv_line ORDER BY byte_position), '^[\\r\\n]*'))
                 - length(replace(regexp_extract(first(csv_line ORDER BY byte_position), '^[\\r\\n]*'), chr(10), ''))
                 AS blank_lines_before,
               list(struct_pack(error_type := error_type::VARCHAR, column_name := column_name,
                                error_message := error_message) ORDER BY byte_position) AS errors
        FROM _csv_rejects GROUP BY line
        """
    )
    encoding = conn.execute(
        """
        SELECT line, e.column_name FROM (SELECT line, unnest(errors) AS e FROM _csv_bad)
        WHERE e.error_type = 'INVALID ENCODING' ORDER BY line LIMIT 1
        """
    ).fetchone()
    if encoding:
        column = _name_of(encoding[1], names)
        raise FileRejected(
            f"not UTF-8 encoded: invalid byte sequence in row {encoding[0] - 1}"
            + (f", column {column}" if column else "")
            + "; re-export the file as UTF-8"
        )

    blanks = _csv_blank_records(conn, source) if conn.execute("SELECT count(*) FROM _csv_bad").fetchone()[0] else None
    _csv_number_rows(conn, blanks)

    keys = raw_keys(names)
    n = len(cols)
    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_read AS
        SELECT g._row_number, to_json(map(?::VARCHAR[], [{', '.join(cols)}])) AS _raw_row,
               NULL::VARCHAR AS _problem, {', '.join(cols)}
        FROM _csv_good_numbered AS g
        UNION ALL BY NAME
        SELECT _row_number, to_json(first(csv_line)) AS _raw_row, string_agg(
            CASE error_type
                WHEN 'MISSING COLUMNS' THEN
                    'too few fields (' || found || ' of {n}): no value for '
                    || array_to_string(list_slice(names, found + 1, {n}), ', ')
                WHEN 'TOO MANY COLUMNS' THEN
                    'too many fields (' || found || ', the header has {n}): extra value after the last column, '
                    || names[{n}]
                WHEN 'UNQUOTED VALUE' THEN
                    coalesce(names[col], 'a value') || ': unterminated quote, or text after a closing quote'
                WHEN 'LINE SIZE OVER MAXIMUM' THEN
                    'row is longer than the maximum of {MAX_LINE_BYTES // (1024 * 1024)} MiB'
                ELSE coalesce(names[col] || ': ', '') || error_message
            END, '; ' ORDER BY k) AS _problem
        FROM (
            -- one reason per kind of error (DuckDB reports a short row once per missing field)
            SELECT _row_number, error_type, first(csv_line) AS csv_line, first(names) AS names, min(k) AS k,
                   min(col) AS col, min(found) AS found, first(error_message ORDER BY k) AS error_message
            FROM (
                SELECT _row_number, csv_line, h.names, u.k, u.e.error_type::VARCHAR AS error_type,
                       u.e.error_message AS error_message,
                       TRY_CAST(regexp_extract(u.e.column_name, '^c(\\d+)$', 1) AS INTEGER) AS col,
                       TRY_CAST(regexp_extract(u.e.error_message, 'Found: (\\d+)', 1) AS INTEGER) AS found
                FROM (SELECT _row_number, csv_line, unnest(errors) AS e, generate_subscripts(errors, 1) AS k
                      FROM _csv_bad_numbered) AS u,
                     (SELECT ?::VARCHAR[] AS names) AS h
            )
            GROUP BY _row_number, error_type
        )
        GROUP BY _row_number
        """,
        [keys, names],
    )
    _drop_csv_tables(conn)
    return names


def _drop_csv_tables(conn: duckdb.DuckDBPyConnection) -> None:
    for table in _CSV_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def _csv_options(columns: str, strict: bool, keep_empty: bool) -> str:
    """read_csv options: no sniffing (so the header fixes the columns and a
    broken row cannot change how the file is read), RFC 4180 quoting."""
    options = f"""
        header = true, auto_detect = false, columns = {columns},
        delim = ',', quote = '"', escape = '"', encoding = 'utf-8',
        strict_mode = {str(strict).lower()}, null_padding = false, max_line_size = {MAX_LINE_BYTES}
    """
    if keep_empty:
        options += f", nullstr = '{_NO_NULL_STRING}', allow_quoted_nulls = false"
    return options


def _name_of(column_name: str | None, names: list[str]) -> str | None:
    if column_name and column_name.startswith("c") and column_name[1:].isdigit():
        index = int(column_name[1:])
        if 1 <= index <= len(names):
            return names[index - 1]
    return None


def _csv_number_rows(conn: duckdb.DuckDBPyConnection, blanks: str | None) -> None:
    """`_csv_good_numbered` / `_csv_bad_numbered`: every record's data row number.

    DuckDB gives a rejected record its line (records counted from the header,
    blank lines included) but gives good records none; they come in file
    order, so the k-th good record is the k-th record that is neither rejected
    nor blank. `blanks` names a table of the blank lines' record numbers (or
    None when there are none to take into account).
    """
    conn.execute(
        f"""
        CREATE TEMP TABLE _csv_bad_numbered AS
        SELECT b.*, b.line - 1 - {f'(SELECT count(*) FROM {blanks} AS x WHERE x.line < b.line)' if blanks else '0'} AS _row_number
        FROM _csv_bad AS b
        """
    )
    # Good record k sits at data row k + j, j = the number of rejected rows before it:
    # the largest j with r_j - j < k, where r_1 < r_2 < ... are the rejected rows.
    conn.execute(
        """
        CREATE TEMP TABLE _csv_good_numbered AS
        WITH good AS (SELECT rowid - (SELECT min(rowid) FROM _csv_good) + 1 AS k, * FROM _csv_good),
             bad AS (
                 SELECT _row_number - row_number() OVER (ORDER BY _row_number) AS gap_before,
                        row_number() OVER (ORDER BY _row_number) AS j
                 FROM _csv_bad_numbered
             ),
             steps AS (SELECT gap_before, max(j) AS j FROM bad GROUP BY gap_before)
        SELECT good.k + coalesce(steps.j, 0) AS _row_number, good.* EXCLUDE (k)
        FROM good ASOF LEFT JOIN steps ON good.k > steps.gap_before
        ORDER BY _row_number
        """
    )


def _csv_blank_records(conn: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """Find the blank lines (by DuckDB record number) of a file that has rejected rows.

    DuckDB skips blank lines but counts them in a rejected record's `line`.
    A second, one-column reading of the file yields every record, blank lines
    included (as null), with the same record boundaries. Its non-null values
    are the first fields of the good records, in order, which pins every good
    record to its record number; the nulls left over are the blank lines.
    DuckDB also starts a rejected record's text with the blank lines just
    before it, which pins those. Where a run of nulls still mixes blank lines
    and records whose first field is empty, the records are taken to come
    first (the one case where a row number can be off). If the two readings
    do not line up, no correction is made and row numbers count blank lines.
    """
    try:
        conn.execute(
            f"""
            CREATE TEMP TABLE _csv_records_src AS
            SELECT * FROM read_csv(?, {_csv_options("{'v': 'VARCHAR'}", strict=False, keep_empty=False)})
            """,
            [source],
        )
    except duckdb.Error:
        conn.execute("DROP TABLE IF EXISTS _csv_records_src")
        return None
    conn.execute(
        """
        CREATE TEMP TABLE _csv_records AS
        SELECT rowid - (SELECT min(rowid) FROM _csv_records_src) + 2 AS line, v FROM _csv_records_src
        """
    )
    conn.execute("DROP TABLE _csv_records_src")
    conn.execute(
        """
        CREATE TEMP TABLE _csv_blank_lines AS
        WITH known_blanks AS (
            SELECT DISTINCT line - unnest(range(1, blank_lines_before + 1)) AS line
            FROM _csv_bad WHERE blank_lines_before > 0
        ),
        open_records AS (
            -- records neither rejected nor known to be blank: the good ones and other blank lines
            SELECT line, v, count(v) OVER (ORDER BY line) AS anchor
            FROM _csv_records
            WHERE line NOT IN (SELECT line FROM _csv_bad) AND line NOT IN (SELECT line FROM known_blanks)
        ),
        nulls AS (
            SELECT line, anchor, row_number() OVER (PARTITION BY anchor ORDER BY line) AS t
            FROM open_records WHERE v IS NULL
        ),
        good AS (
            SELECT nullif(c1, '') AS f, count(nullif(c1, '')) OVER (ORDER BY rowid) AS anchor FROM _csv_good
        ),
        good_nulls AS (SELECT anchor, count(*) AS n FROM good WHERE f IS NULL GROUP BY anchor)
        SELECT nulls.line FROM nulls LEFT JOIN good_nulls USING (anchor)
        WHERE nulls.t > coalesce(good_nulls.n, 0)
        UNION ALL
        SELECT line FROM known_blanks
        """
    )
    consistent = conn.execute(
        """
        SELECT (SELECT count(*) FROM _csv_records)
               = (SELECT count(*) FROM _csv_good) + (SELECT count(*) FROM _csv_bad)
                 + (SELECT count(*) FROM _csv_blank_lines)
           AND (SELECT count(*) FROM _csv_bad)
               = (SELECT count(*) FROM _csv_records WHERE line IN (SELECT line FROM _csv_bad))
        """
    ).fetchone()[0]
    conn.execute("DROP TABLE _csv_records")
    if not consistent:
        conn.execute("DROP TABLE _csv_blank_lines")
        return None
    return "_csv_blank_lines"


# --- Parquet ---------------------------------------------------------------------------------


def _read_parquet(conn: duckdb.DuckDBPyConnection, source: str, check_names) -> list[str]:
    conn.execute("DROP TABLE IF EXISTS _landing_source")
    conn.execute("CREATE TEMP TABLE _landing_source AS SELECT * FROM read_parquet(?, file_row_number = true)", [source])
    described = [row[0] for row in conn.execute("DESCRIBE _landing_source").fetchall()]
    names = described[:-1]  # file_row_number comes last
    if not names:
        raise FileRejected("the Parquet file has no columns")
    check_names(names)
    cols = _positional(len(names))
    values = [f"TRY_CAST(#{i} AS VARCHAR)" for i in range(1, len(names) + 1)]
    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_read AS
        SELECT #{len(described)} + 1 AS _row_number,
               to_json(map(?::VARCHAR[], [{', '.join(values)}])) AS _raw_row,
               NULL::VARCHAR AS _problem
               {''.join(f', {v} AS {c}' for v, c in zip(values, cols))}
        FROM _landing_source
        """,
        [raw_keys(names)],
    )
    conn.execute("DROP TABLE _landing_source")
    return names


# --- JSON lines ------------------------------------------------------------------------------


def _read_jsonl(conn: duckdb.DuckDBPyConnection, source: str, check_names) -> list[str]:
    """One JSON object per line; line N is row N. A line that is not a JSON
    object is kept, as a row with a problem, never skipped."""
    for table in ("_jsonl_lines", "_jsonl_keys"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    try:
        conn.execute(
            """
            CREATE TEMP TABLE _jsonl_lines AS
            SELECT _row_number, line,
                   CASE WHEN json_type(valid) = 'OBJECT' THEN valid END AS obj,
                   CASE WHEN valid IS NULL THEN 'line is not valid JSON'
                        WHEN json_type(valid) <> 'OBJECT' THEN 'line is JSON but not an object (' || lower(json_type(valid)) || ')'
                   END AS _problem
            FROM (
                SELECT *, CASE WHEN json_valid(line) THEN line END AS valid
                FROM (
                    SELECT generate_subscripts(lines, 1) AS _row_number,
                           rtrim(unnest(lines), chr(13)) AS line
                    FROM (SELECT string_split(ltrim(content, chr(65279)), chr(10)) AS lines FROM read_text(?))
                )
                WHERE trim(line, ' ' || chr(9) || chr(13)) <> ''
            )
            """,
            [source],
        )
    except duckdb.InvalidInputException as error:
        if "UTF-8" in str(error) or "utf-8" in str(error):
            raise FileRejected("not UTF-8 encoded: re-export the file as UTF-8") from None
        raise
    lines, objects, first_bad = conn.execute(
        "SELECT count(*), count(obj), min(_row_number) FILTER (WHERE obj IS NULL) FROM _jsonl_lines"
    ).fetchone()
    if lines and not objects:
        raise FileRejected(f"not JSON lines: no line is a JSON object (line {first_bad} is not)")
    names = [
        row[0]
        for row in conn.execute(
            """
            SELECT k FROM (SELECT _row_number, generate_subscripts(json_keys(obj), 1) AS i, unnest(json_keys(obj)) AS k
                           FROM _jsonl_lines WHERE obj IS NOT NULL)
            GROUP BY k ORDER BY min(_row_number), min(i)
            """
        ).fetchall()
    ]
    check_names(names)
    cols = _positional(len(names))
    pointers = ["/" + name.replace("~", "~0").replace("/", "~1") for name in names]
    extract = "".join(f", json_extract_string(obj, ?) AS {c}" for c in cols)
    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_read AS
        SELECT _row_number,
               CASE WHEN obj IS NOT NULL THEN obj::JSON ELSE to_json(line) END AS _raw_row,
               coalesce(_problem, CASE WHEN len(json_keys(obj)) <> len(list_distinct(json_keys(obj)))
                   THEN 'the object repeats a key: ' || array_to_string(list_distinct(list_filter(
                       json_keys(obj), lambda k, i: list_position(json_keys(obj), k) < i)), ', ') END) AS _problem
               {extract}
        FROM _jsonl_lines
        """,
        pointers,
    )
    conn.execute("DROP TABLE _jsonl_lines")
    return names

"""Reading one landing file, as text, for the loader.

A reader returns a `Landing`: the file's column names by position (`names[i]`
is `c{i+1}`, exactly as they appear in the file) and `rows`, the SQL text of a
relation that yields every row of the file that could be split into fields:

    _row_number  BIGINT   the row's place in the file (see below)
    c1 .. cN     VARCHAR  the values of the file's N columns, untrimmed
    _obj         VARCHAR  (JSON lines only) the line's JSON object

The loader scans `rows` a few times (to find repeated keys, to find the rows to
quarantine, to load the others), so a reader makes it cheap to scan and never
holds a whole file in memory: a CSV file is read once, in file order, into a
Parquet file in a scratch folder together with each record's number (the only
step that must follow the file's order, so the only single-threaded one), and
every later scan reads that file in parallel; a Parquet landing file is
scanned as it is. `raw_row` is the SQL expression of a row as it was in the
file (a JSON object, values as text) over the columns `raw_columns`; the
loader evaluates it only for the rows it quarantines. `raw_row_of(positions)`
is the same object restricted to some of the file's columns (the loader
stores the columns that match no contract column with each loaded row).

Rows that cannot even be split into fields (a ragged CSV record, a JSONL line
that is not an object) are not in `rows`: they are in the temporary table
`_landing_problems` (_row_number, _raw_row JSON, _problem), with why.

Columns are referenced by position in all SQL, so a column name (or JSON key)
is never written into a statement: names travel as bound (named) parameters,
and so do file paths. DuckDB expands glob characters (`*`, `?`, `[`) even in a
bound path, so paths are glob-escaped too and checked to name exactly the one
file (`duckdb_path`).

All row work happens in DuckDB (read_csv, read_parquet, read_text); the only
bytes Python reads are the CSV header record (to get the column names exactly
as written, duplicates included, which DuckDB would rename) and, for a
compressed file, its bytes as they stream through the decompressor
(`decompress`: gzip from the standard library; zstd with the `zstandard`
package, else the `zstd` command) into a plain copy in the scratch folder,
which is then read exactly as the plain file would be.

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
  loader.py), otherwise both are kept; in a raw row's JSON object (the
  quarantined row, or the extra columns kept with a loaded row) the second
  `x` is called `x (2)` so the object keeps every value.
- **JSONL**: a line that is not JSON, or JSON but not an object, is
  quarantined; a file where no line is a JSON object is not JSONL and fails.
  Keys are the union over the file's objects, in order of first appearance.
  (A JSONL file is still read whole into memory, unlike CSV and Parquet.)
- **Compressed files** (`.csv.gz`, `.jsonl.zst`, `.parquet.gz`...) load like
  their plain form: same rows, row numbers, quarantine and reasons. A stream
  that is not gzip / zstd, is truncated or has trailing garbage fails as a
  whole (`not a valid gzip file: ...`, `not a valid zstd file: ...`): part of
  an export is not the export. Several concatenated streams (`cat a.gz b.gz`)
  are one file. A stream that holds nothing fails like a 0-byte file
  (`empty file (0 bytes once decompressed)`). No zstd decompressor on the
  machine is CannotReadNow, not a fault of the file.
- **Not the file's fault.** Out of memory, an interrupt, a full disk while
  writing the scratch copy, a file that disappears mid-read: these are raised
  as they are (or as OSError), never turned into FileRejected, so the loader
  records them as a transient `error` (errors.is_transient) and tries again
  next run.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import os
import re
import shutil
import subprocess
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import duckdb

from baton.lib.extract.errors import CannotReadNow, FileRejected, is_transient

MAX_LINE_BYTES = 16 * 1024 * 1024  # one CSV record, raised from DuckDB's 2 MB default
HEADER_LIMIT_BYTES = 1024 * 1024
_BOM = b"\xef\xbb\xbf"
# Only used so that an empty CSV field reads as '' (not null) and `_raw_row`
# keeps the original text; blank still becomes null when values are cleaned.
_NO_NULL_STRING = "\x1f\x1ebaton:no-null\x1e\x1f"
# The CSV file's records, numbered, in the scratch folder (snappy: fast to write and to scan).
STAGE_FILE = "rows.parquet"
_CSV_TABLES = (
    "_csv_rejects", "_csv_reject_scans", "_csv_bad", "_csv_bad_numbered", "_csv_records",
    "_csv_blank_lines", "_csv_offsets",
)
_JSONL_TABLES = ("_jsonl_lines",)
# Every temporary table a reader may leave behind (the loader drops them when the file is done).
TEMP_TABLES = ("_landing_problems", *_CSV_TABLES, *_JSONL_TABLES)
_GLOB_CHARS = {"[": "[[]", "*": "[*]", "?": "[?]"}


@dataclass
class Landing:
    """One landing file as the loader sees it (see the module docstring)."""

    names: list[str]
    rows: str
    row_count: int
    raw_row: str
    raw_columns: tuple[str, ...]
    params: dict[str, object] = field(default_factory=dict)
    # The SQL of a row's JSON object holding only the columns at these (1-based) positions, keyed
    # as in `raw_row`; NULL when there are none (JSON lines: when the row has none of those keys).
    subset_row: Callable[[Sequence[int]], str] = lambda positions: "NULL::JSON"

    def raw_row_of(self, positions: Sequence[int]) -> str:
        return self.subset_row(positions) if positions else "NULL::JSON"


def duckdb_path(conn: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The path as DuckDB's file readers must be given it: absolute (no
    `scheme://` reading) and glob-escaped, checked to match only this file."""
    absolute = os.path.abspath(path)
    escaped = "".join(_GLOB_CHARS.get(ch, ch) for ch in absolute)
    matches = [row[0] for row in conn.execute("SELECT file FROM glob(?)", [escaped]).fetchall()]
    if not matches and not os.path.lexists(absolute):
        # Gone since it was found (moved away mid-run): nothing to hold against the file.
        raise FileNotFoundError(errno.ENOENT, "the file disappeared while being loaded", absolute)
    if matches != [absolute]:
        raise FileRejected(f"file name cannot be read safely by DuckDB (it matches {len(matches)} files)")
    return escaped


def read(
    conn: duckdb.DuckDBPyConnection,
    path: Path,
    fmt: str,
    scratch: Path,
    check_names: Callable[[list[str]], object] = lambda names: None,
) -> Landing:
    """Read the file; `scratch` is an empty folder the reader may write to
    (the caller removes it once the file is loaded).

    `check_names` sees the column names as soon as they are known, before the
    rows are read, and may reject the file (missing required column...)."""
    for table in TEMP_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    source = duckdb_path(conn, path)
    if fmt == "csv":
        return _read_csv(conn, path, source, scratch, check_names)
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


def _raw_row_object(names: list[str]) -> tuple[str, dict[str, object]]:
    """The JSON object of a row's text values c1..cN, keyed by `raw_keys(names)` (bound parameters)."""
    return _object_of(range(1, len(names) + 1)), _raw_key_params(names)


def _raw_key_params(names: list[str]) -> dict[str, object]:
    return {f"raw_key_{i}": key for i, key in enumerate(raw_keys(names), start=1)}


def _object_of(positions: Sequence[int]) -> str:
    """The JSON object of the text values of the columns c<i> at `positions` (keys: `$raw_key_<i>`)."""
    return f"json_object({', '.join(f'$raw_key_{i}, c{i}' for i in positions)})"


def _no_problems(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE TEMP TABLE _landing_problems (_row_number BIGINT, _raw_row JSON, _problem VARCHAR)")


# --- compressed files ------------------------------------------------------------------------

_CHUNK = 1 << 20


def decompress(path: Path, compression: str, scratch: Path) -> Path:
    """Stream-decompress `path` (`gzip` or `zstd`) into the scratch folder and
    return the plain copy, which is then read like any plain landing file.

    A broken stream (not gzip / zstd, truncated, trailing garbage) is the
    file's fault: FileRejected. A failure to write the copy (a full disk) is
    an OSError, and a missing zstd decompressor is CannotReadNow: neither is
    held against the file."""
    target = scratch / "decompressed"
    with target.open("wb") as sink:
        if compression == "gzip":
            _gunzip(path, sink)
        elif compression == "zstd":
            decompressors = _zstd_decompressors()
            if not decompressors:
                raise CannotReadNow(
                    "cannot read .zst files here: no zstd decompressor; install the Python package zstandard"
                )
            decompressors[0](path, sink)
        else:
            raise FileRejected(f"unsupported compression: {compression}")
    if target.stat().st_size == 0:
        raise FileRejected("empty file (0 bytes once decompressed)")
    return target


def _gunzip(path: Path, sink: BinaryIO) -> None:
    try:
        with gzip.open(path, "rb") as source:
            shutil.copyfileobj(source, sink, _CHUNK)
    except gzip.BadGzipFile as error:  # an OSError, but about the bytes: caught before any other
        raise FileRejected(f"not a valid gzip file: {error}") from None
    except EOFError:
        raise FileRejected("not a valid gzip file: the compressed data ends early (a truncated file?)") from None
    except zlib.error as error:
        raise FileRejected(f"not a valid gzip file: {error}") from None


def _zstd_decompressors() -> list[Callable[[Path, BinaryIO], None]]:
    """The ways to decompress zstd on this machine, best first: the Python
    package `zstandard`, else the `zstd` command."""
    found: list[Callable[[Path, BinaryIO], None]] = []
    try:
        import zstandard  # noqa: F401
    except ImportError:
        pass
    else:
        found.append(_unzstd_with_module)
    if shutil.which("zstd"):
        found.append(_unzstd_with_command)
    return found


def _unzstd_with_module(path: Path, sink: BinaryIO) -> None:
    import zstandard

    # One decompression object per frame (an export may hold several); a frame
    # still open when the input ends is a truncated file, which stream_reader
    # and copy_stream would pass off as a shorter one. A call returns all the
    # output of its input, hence small reads: 64 KiB x the compression ratio.
    decompressor = zstandard.ZstdDecompressor()
    frame, started = decompressor.decompressobj(), False
    try:
        with path.open("rb") as source:
            for data in iter(lambda: source.read(64 * 1024), b""):
                while data:
                    sink.write(frame.decompress(data))
                    started = True
                    if not frame.eof:
                        break
                    data = frame.unused_data
                    frame, started = decompressor.decompressobj(), False
    except zstandard.ZstdError as error:
        raise FileRejected(f"not a valid zstd file: {error}") from None
    if started and not frame.eof:
        raise FileRejected("not a valid zstd file: the compressed data ends early (a truncated file?)")


def _unzstd_with_command(path: Path, sink: BinaryIO) -> None:
    sink.flush()
    done = subprocess.run(["zstd", "-d", "-c", "-q", "--", str(path)], stdout=sink, stderr=subprocess.PIPE)
    if done.returncode:
        lines = [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        message = lines[-1] if lines else f"zstd exited with status {done.returncode}"
        message = re.sub(rf"^(zstd:\s*)?{re.escape(str(path))}\s*:\s*", "", message)
        if "write error" in message.lower():
            raise OSError(f"cannot write the decompressed copy: {message}")
        raise FileRejected(f"not a valid zstd file: {message}")


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


def _read_csv(conn: duckdb.DuckDBPyConnection, path: Path, source: str, scratch: Path, check_names) -> Landing:
    names = _csv_header(path)
    check_names(names)
    cols = _positional(len(names))
    columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in cols) + "}"
    options = _csv_options(columns, strict=True, keep_empty=True)
    stage = str(scratch / STAGE_FILE)
    try:
        # The one pass over the CSV text. `row_number() OVER ()` makes DuckDB
        # read the file in order (on one thread), so `_k` is the good
        # record's place among the file's good records.
        (good_count,) = conn.execute(
            f"""
            COPY (
                SELECT row_number() OVER () AS _k, {', '.join(cols)}
                FROM read_csv($source, {options}, store_rejects = true, rejects_table = '_csv_rejects',
                              rejects_scan = '_csv_reject_scans', rejects_limit = 0, rejects_line_size_limit = 0)
            ) TO $stage (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 30000)
            """,
            {"source": source, "stage": stage},
        ).fetchone()
    except duckdb.Error as error:
        message = str(error).strip().splitlines()[0]
        if isinstance(error, duckdb.IOException) and stage in message:
            # Writing the scratch copy failed (a full disk...): nothing to hold against the file.
            raise OSError(f"cannot write the scratch copy of the file: {message}") from None
        if is_transient(error):  # out of memory, interrupted...: not the file's fault either
            raise
        raise FileRejected(f"cannot be read as CSV: {message}") from None
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

    raw_row, params = _raw_row_object(names)
    params["stage"] = stage = duckdb_path(conn, Path(stage))  # the scratch folder's path may hold glob characters
    select = ", ".join(f"s.{c}" for c in cols)
    if not conn.execute("SELECT count(*) FROM _csv_bad").fetchone()[0]:
        _no_problems(conn)
        rows = f"SELECT s._k AS _row_number, {select} FROM read_parquet($stage) AS s"
        return Landing(names, rows, good_count, raw_row, tuple(cols), params, _object_of)

    blanks = _csv_blank_records(conn, source, stage, good_count)
    _csv_number_bad_rows(conn, blanks)
    n = len(cols)
    conn.execute(
        f"""
        CREATE TEMP TABLE _landing_problems AS
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
                     (SELECT $names::VARCHAR[] AS names) AS h
            )
            GROUP BY _row_number, error_type
        )
        GROUP BY _row_number
        """,
        {"names": names},
    )
    width = _csv_offsets(conn, good_count)
    # Good record k is data row k + j, j = the number of rejected rows before it (see _csv_offsets).
    rows = f"""
        SELECT s._k + coalesce(list_filter(o.steps, lambda p: p.gap_before < s._k)[-1].j, o.base_j) AS _row_number,
               {select}
        FROM read_parquet($stage) AS s JOIN _csv_offsets AS o ON o.bucket = s._k // {width}
    """
    return Landing(names, rows, good_count, raw_row, tuple(cols), params, _object_of)


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


def _csv_number_bad_rows(conn: duckdb.DuckDBPyConnection, blanks: str | None) -> None:
    """`_csv_bad_numbered`: the rejected records with their data row number.

    DuckDB gives a rejected record its line: records counted from the header,
    blank lines included. `blanks` names a table of the blank lines' record
    numbers (or None when there are none to take into account)."""
    conn.execute(
        f"""
        CREATE TEMP TABLE _csv_bad_numbered AS
        SELECT b.*, b.line - 1 - {f'(SELECT count(*) FROM {blanks} AS x WHERE x.line < b.line)' if blanks else '0'} AS _row_number
        FROM _csv_bad AS b
        """
    )


def _csv_offsets(conn: duckdb.DuckDBPyConnection, good_count: int) -> int:
    """`_csv_offsets`: what turns the k-th good record into its data row number.

    DuckDB numbers only the good records (`_k`, in file order). Good record k
    sits at data row k + j, j = the number of rejected rows before it: the
    largest j with r_j - j < k, where r_1 < r_2 < ... are the rejected rows'
    numbers. Each step (`gap_before` = r_j - j, j) is few, the good records
    many, so the steps are grouped into buckets of `width` consecutive k: a
    record finds its bucket with an equality join, then takes the last step of
    the bucket below it, else the bucket's `base_j` (the last step of the
    buckets before). Returns `width`.
    """
    (bad_count,) = conn.execute("SELECT count(*) FROM _csv_bad_numbered").fetchone()
    width = max(1, -(-good_count // max(bad_count, 1)))  # about one step per bucket
    conn.execute(
        f"""
        CREATE TEMP TABLE _csv_offsets AS
        WITH bad AS (
            SELECT _row_number - row_number() OVER (ORDER BY _row_number) AS gap_before,
                   row_number() OVER (ORDER BY _row_number) AS j
            FROM _csv_bad_numbered
        ),
        steps AS (SELECT gap_before, max(j) AS j FROM bad GROUP BY gap_before),
        buckets AS (SELECT range AS bucket FROM range(0, {good_count // width + 1})),
        grouped AS (
            SELECT gap_before // {width} AS bucket, list(struct_pack(gap_before := gap_before, j := j) ORDER BY gap_before) AS steps
            FROM steps GROUP BY ALL
        ),
        base AS (
            SELECT buckets.bucket, coalesce(steps.j, 0) AS base_j
            FROM buckets ASOF LEFT JOIN steps ON buckets.bucket * {width} > steps.gap_before
        )
        SELECT base.bucket, base.base_j, coalesce(grouped.steps, []) AS steps
        FROM base LEFT JOIN grouped USING (bucket)
        """
    )
    return width


def _csv_blank_records(conn: duckdb.DuckDBPyConnection, source: str, stage: str, good_count: int) -> str | None:
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

    Only the nulls and the rejected records' lines of that reading are kept
    (plus its last record, for the count): how many non-null records come
    before a null follows from its line and the nulls before it.
    """
    conn.execute(
        """
        CREATE TEMP TABLE _csv_blank_lines AS
        SELECT DISTINCT line - unnest(range(1, blank_lines_before + 1)) AS line
        FROM _csv_bad WHERE blank_lines_before > 0
        """
    )
    try:
        conn.execute(
            f"""
            CREATE TEMP TABLE _csv_records AS
            SELECT line, v IS NULL AS is_null, is_last,
                   line IN (SELECT line FROM _csv_bad) OR line IN (SELECT line FROM _csv_blank_lines) AS excluded
            FROM (
                SELECT line, v, lead(line) OVER () IS NULL AS is_last
                FROM (
                    SELECT row_number() OVER () + 1 AS line, v
                    FROM read_csv($source, {_csv_options("{'v': 'VARCHAR'}", strict=False, keep_empty=False)})
                )
            )
            WHERE v IS NULL OR is_last OR line IN (SELECT line FROM _csv_bad) OR line IN (SELECT line FROM _csv_blank_lines)
            """,
            {"source": source},
        )
    except duckdb.Error as error:
        if is_transient(error):
            raise
        conn.execute("DROP TABLE _csv_blank_lines")
        conn.execute("DROP TABLE IF EXISTS _csv_records")
        return None
    conn.execute(
        """
        INSERT INTO _csv_blank_lines
        WITH counted AS (
            -- records before `line`: line - 2 (records start at line 2, after the header)
            SELECT line, is_null, excluded,
                   line - 2 - count(*) FILTER (WHERE is_null) OVER before
                            - count(*) FILTER (WHERE excluded AND NOT is_null) OVER before AS anchor
            FROM _csv_records
            WHERE is_null OR excluded
            WINDOW before AS (ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        ),
        nulls AS (
            -- the nulls among the records neither rejected nor known to be blank, by the number of
            -- non-null such records before them (`anchor`)
            SELECT line, anchor, row_number() OVER (PARTITION BY anchor ORDER BY line) AS t
            FROM counted WHERE is_null AND NOT excluded
        ),
        good_nulls AS (
            -- good records with an empty first field, by the number of good records with one before them
            SELECT anchor, count(*) AS n
            FROM (SELECT _k - row_number() OVER (ORDER BY _k) AS anchor FROM read_parquet($stage) WHERE nullif(c1, '') IS NULL)
            GROUP BY anchor
        )
        SELECT nulls.line FROM nulls LEFT JOIN good_nulls USING (anchor)
        WHERE nulls.t > coalesce(good_nulls.n, 0)
        """,
        {"stage": stage},
    )
    consistent = conn.execute(
        """
        SELECT coalesce((SELECT max(line) - 1 FROM _csv_records WHERE is_last), 0)
               = $good_count + (SELECT count(*) FROM _csv_bad) + (SELECT count(*) FROM _csv_blank_lines)
           AND (SELECT count(*) FROM _csv_bad)
               = (SELECT count(*) FROM _csv_records WHERE line IN (SELECT line FROM _csv_bad))
        """,
        {"good_count": good_count},
    ).fetchone()[0]
    conn.execute("DROP TABLE _csv_records")
    if not consistent:
        conn.execute("DROP TABLE _csv_blank_lines")
        return None
    return "_csv_blank_lines"


# --- Parquet ---------------------------------------------------------------------------------


def _read_parquet(conn: duckdb.DuckDBPyConnection, source: str, check_names) -> Landing:
    names = [column[0] for column in conn.execute("SELECT * FROM read_parquet($source) LIMIT 0", {"source": source}).description]
    if not names:
        raise FileRejected("the Parquet file has no columns")
    check_names(names)
    n = len(names)
    row_count = conn.execute("SELECT count(*) FROM read_parquet($source)", {"source": source}).fetchone()[0]
    _no_problems(conn)
    # Positional references: the file's own column names never appear in SQL text.
    values = "".join(f", TRY_CAST(#{i} AS VARCHAR) AS c{i}" for i in range(1, n + 1))
    rows = f"SELECT #{n + 1} + 1 AS _row_number{values} FROM read_parquet($source, file_row_number = true)"
    raw_row, params = _raw_row_object(names)
    params["source"] = source
    return Landing(names, rows, row_count, raw_row, tuple(_positional(n)), params, _object_of)


# --- JSON lines ------------------------------------------------------------------------------


def _read_jsonl(conn: duckdb.DuckDBPyConnection, source: str, check_names) -> Landing:
    """One JSON object per line; line N is row N. A line that is not a JSON
    object is kept, as a row with a problem, never skipped."""
    try:
        conn.execute(
            """
            CREATE TEMP TABLE _jsonl_lines AS
            SELECT _row_number, CASE WHEN obj IS NULL THEN line END AS line, obj,
                   CASE WHEN valid IS NULL THEN 'line is not valid JSON'
                        WHEN obj IS NULL THEN 'line is JSON but not an object (' || lower(json_type(valid)) || ')'
                        WHEN len(json_keys(obj)) <> len(list_distinct(json_keys(obj)))
                        THEN 'the object repeats a key: ' || array_to_string(list_distinct(list_filter(
                            json_keys(obj), lambda k, i: list_position(json_keys(obj), k) < i)), ', ')
                   END AS _problem
            FROM (
                SELECT *, CASE WHEN json_type(valid) = 'OBJECT' THEN valid END AS obj
                FROM (
                    SELECT *, CASE WHEN json_valid(line) THEN line END AS valid
                    FROM (
                        SELECT generate_subscripts(lines, 1) AS _row_number,
                               rtrim(unnest(lines), chr(13)) AS line
                        FROM (SELECT string_split(ltrim(content, chr(65279)), chr(10)) AS lines FROM read_text($source))
                    )
                    WHERE trim(line, ' ' || chr(9) || chr(13)) <> ''
                )
            )
            """,
            {"source": source},
        )
    except duckdb.InvalidInputException as error:
        if "UTF-8" in str(error) or "utf-8" in str(error):
            raise FileRejected("not UTF-8 encoded: re-export the file as UTF-8") from None
        raise
    lines, objects, first_bad, row_count = conn.execute(
        "SELECT count(*), count(obj), min(_row_number) FILTER (WHERE obj IS NULL), count(*) FILTER (WHERE _problem IS NULL) "
        "FROM _jsonl_lines"
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
    conn.execute(
        """
        CREATE TEMP TABLE _landing_problems AS
        SELECT _row_number, CASE WHEN obj IS NOT NULL THEN obj::JSON ELSE to_json(line) END AS _raw_row, _problem
        FROM _jsonl_lines WHERE _problem IS NOT NULL
        """
    )
    pointers = {f"pointer_{i}": "/" + name.replace("~", "~0").replace("/", "~1") for i, name in enumerate(names, start=1)}
    extract = "".join(f", json_extract_string(obj, $pointer_{i}) AS c{i}" for i in range(1, len(names) + 1))
    rows = f"SELECT _row_number, obj AS _obj{extract} FROM _jsonl_lines WHERE _problem IS NULL"
    return Landing(names, rows, row_count, "_obj::JSON", ("_obj",), {**pointers, **_raw_key_params(names)}, _jsonl_object_of)


def _jsonl_object_of(positions: Sequence[int]) -> str:
    """The JSON object of the keys at `positions` that the line's object has, with their JSON
    values as given (a key given as null stays, an absent key stays absent); NULL when it has none."""
    entries = ", ".join(f"{{'k': $raw_key_{i}, 'v': json_extract(_obj, $pointer_{i})}}" for i in positions)
    return (
        f"nullif(to_json(map_from_entries(list_filter([{entries}], lambda e: e.v IS NOT NULL)))::VARCHAR, '{{}}')::JSON"
    )

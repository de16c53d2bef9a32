"""Loading landing files into the warehouse's `raw` schema.

Every file is loaded in one DuckDB transaction: its good rows go to
`raw.<entity>`, its bad rows to `audit.quarantine` with a reason, and one row
to `audit.load_ledger`. `raw.<entity>` is a view over a Parquet lake beside
the warehouse file (lake.py): the file's typed rows are written as
`raw/<entity>/file_id=<n>/part-0.parquet` under a temporary name, renamed
when they balance, and count only once the ledger row commits (the view reads
the files the ledger records `loaded`; a rolled-back load deletes its folder,
the next run sweeps what a crash left). A crash mid-file therefore leaves no
trace that counts and the file is simply loaded by the next run. All row work
happens inside DuckDB (read_csv / read_parquet / read_text, COPY TO Parquet);
Python only builds the SQL.

Large files stream: no step holds a whole file's rows in memory (see
`_load_rows` and readers.py). A CSV file is read once, in order, into a
numbered scratch copy (Parquet) in DuckDB's temp_directory (else TMPDIR),
deleted when the file is done; rows are written to raw in no particular
order, `_row_number` says where each came from. A compressed file
(`.gz`, `.zst`) is first stream-decompressed into the same scratch folder
and read from there, so it loads exactly like its plain form (same rows, row
numbers, quarantine); the ledger keeps its own path and the hash of its own
(compressed) bytes.

Values are trimmed (blank is null) and parsed here, once: downstream models
read typed columns and never re-parse text.

What `load_entity` says about each entry of the landing folder (FileLoad.status;
the ledger records the same words, except `unchanged`, which is not recorded):

- `loaded`: new content, read and committed (rows read = loaded + quarantined);
- `duplicate`: the same content hash was loaded before (under any name);
- `unchanged`: this path with this content has a settled ledger row already
  (loaded, duplicate, or skipped by hand): nothing to do, nothing reported;
- `failed`: a fault of the file itself (see below): loads nothing. It is
  recorded once and then reported again, `repeated=True`, on every run while
  the same content sits at the same path, until it is fixed (new content
  loads), removed, or acknowledged with `skip_file` (`baton skip FILE`,
  ledger status `skipped`), after which that content is `unchanged`;
- `error`: the load could not be done now for a reason that says nothing
  about the file (out of memory, a full disk, an I/O error, a lock or write
  conflict, an interruption, no zstd decompressor, a bug in Baton): rolled
  back, recorded with the reason, the other files still load, and the next
  run tries the file again. If not even that ledger row can be written, the
  error is raised (the step fails, nothing is recorded for the file);
- `deferred`: the file may still be being written: modified less than
  `settle_seconds` ago (not read at all), or its size, time or inode changed
  between the stat before hashing and the stat after reading (rolled back);
  recorded, and the next run tries again;
- `ignored`: not a data file (landing.py: a hidden file, a sub-folder, `.txt`,
  `.xlsx`, `.zip`, a `.gz` of no known format...): never read, recorded once
  (content_hash `ignored:<path>:<size>:<mtime_ns>`, no hashing), then
  reported again, `repeated=True`, every run.

Ledger statuses loaded, duplicate, failed, ignored and skipped are terminal:
the file's identity (path + content) has its verdict. error and deferred are
not: the next run tries that file again.

A file is known without reading it when a terminal ledger row has its path,
size, modification time, inode and change time (ctime): hashing every file of
a landing folder that keeps its history would cost more each night. A copy
that keeps the name, size and mtime (`cp -p`, `rsync -t`) cannot keep the
inode and the ctime, so it is hashed, and new content loads. Rows recorded
before those columns existed (NULL) fall back to the hash once.

What happens to each kind of hostile input (readers.py has the reading side:
encodings, ragged rows, quotes, row numbers, empty files, JSONL):

- a file that cannot be read at all (not UTF-8, 0 bytes, not Parquet, no JSON
  object in a .jsonl, a broken or truncated .gz / .zst, a header without a
  required column or naming a contract column twice, a link leading outside
  the landing folder, a symbolic link loop, a link to nothing) is recorded
  `failed` with its reason and loads nothing; the other files still load;
- a transient failure is `error`, never `failed` (above): DuckDB's out of
  memory, interrupt and transaction errors, I/O errors that are not about the
  file's bytes, any OSError (errors.is_transient);
- a row that breaks the contract is quarantined with a reason naming the
  field: `<column>: required value is missing`, `<column>: not a valid number:
  <value>` (`1,200`, `12.5k`, `$1,000`, `n/a`, `1e400` are never guessed),
  `<column>: not a valid ISO 8601 date/time: <value>` (2025-02-30, month 13,
  hour 25, an offset beyond +-23:59 such as `+25:00`, `+05:60`, `+9999`, which
  DuckDB's cast would otherwise turn into a shifted time), `event_type:
  unknown event type: <value>`, `neither lead_id nor
  email is given`, `closed_at: a closed deal needs closed_at`, and, for an
  earlier row whose key repeats later in the same file, `superseded by row N
  of the same file (same key)`, and, for an entity whose records are
  immutable (engagement events), a row whose key was loaded from an earlier
  file, `event_id: already loaded from <file> row N; events are immutable,
  the first loaded version counts` (so raw never holds such a key twice);
- timestamps with an offset (`+02:00`, `+0200`, `+02`, `Z`; hours 00-23,
  minutes 00-59) are converted to UTC and stored as naive TIMESTAMP; without
  an offset they are UTC already;
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from baton.lib.extract import lake, readers
from baton.lib.extract.entities import CLOSED_STAGES, ENTITIES, EVENT_TYPES, Entity, Kind
from baton.dev.faults import crash_point
from baton.lib.sqltext import quote_ident, quote_literal
from baton.lib.extract.errors import FileRejected, is_transient
from baton.lib.extract.landing import LandingFile, content_hash, discover
from baton.lib.extract.mappings import USER_FOLDER, Mapping, Mappings, load_mappings
from baton.lib.settings import mappings_dir

__all__ = ["TERMINAL", "FileLoad", "FileRejected", "ensure_warehouse", "load_entity", "skip_file"]

log = logging.getLogger(__name__)

# ISO 8601 date, optional time, optional offset (Z, +hh, +hhmm, +hh:mm; hours 00-23, minutes 00-59).
_ISO_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?\s*([Zz]|[+-]([01]\d|2[0-3])(:?[0-5]\d)?)?"
)
_INTEGER = r"[+-]?\d+(\.0*)?"
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"

EMPTY_FILE = "empty file (0 bytes)"

# Ledger statuses that settle a file's identity (path + content); `error` and `deferred` do not.
TERMINAL = ("loaded", "duplicate", "failed", "ignored", "skipped")
_TERMINAL_SQL = "(" + ", ".join(quote_literal(status) for status in TERMINAL) + ")"
# The last bound parameter of a verdict lookup: the mappings fingerprint (NULL: any).
_SAME_MAPPINGS = "(status <> 'failed' OR coalesce(mappings_fingerprint, '') = coalesce(?, mappings_fingerprint, ''))"
_NOT_THE_FILE = "not a fault of the file: the next run tries it again"

# White space trimmed from every value (blank is null): RE2's \s (tab, LF, FF, CR, space) plus
# NBSP and BOM; and the same characters as code points.
_BLANK = "[\\s\\x{a0}\\x{feff}]"
_BLANK_CODES = "[9, 10, 12, 13, 32, 160, 65279]"
_SCRATCH_PREFIX = "baton-extract-"
_TEMP_TABLES = ("_landing_repeated_keys", "_landing_loaded", "_landing_flagged", "_landing_rejected")

METADATA_COLUMNS = lake.METADATA_COLUMNS


@dataclass(frozen=True)
class FileLoad:
    entity: str
    path: str
    status: str  # loaded | duplicate | unchanged | failed | error | deferred | ignored | skipped
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    # True when this failure (or ignored entry) was recorded by an earlier run and is only reported again.
    repeated: bool = False


@dataclass(frozen=True)
class FileStat:
    """What identifies a file's version without reading it."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStat:
        st = path.stat()
        # st_ino is unsigned 64-bit (overlayfs sets the top bits): stored as its two's complement in a BIGINT.
        inode = st.st_ino - (1 << 64) if st.st_ino >= 1 << 63 else st.st_ino
        return cls(st.st_size, st.st_mtime_ns, inode, st.st_ctime_ns)


class _ChangedWhileRead(Exception):
    pass


def ensure_warehouse(conn: duckdb.DuckDBPyConnection, lake_folder: Path | None = None) -> Path:
    """Create the audit tables if they do not exist yet, and the raw views over the warehouse's
    Parquet lake (lake.py: by default in the warehouse file's folder; `lake_folder` puts it
    elsewhere). Raw tables of earlier versions move to the lake. Returns the lake folder."""
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
    # Added after the first release: warehouses built before them get the columns, NULL in old rows
    # (which then fall back to the content hash once, see _known_by_size_and_time).
    conn.execute("ALTER TABLE audit.load_ledger ADD COLUMN IF NOT EXISTS file_mtime_ns BIGINT")
    conn.execute("ALTER TABLE audit.load_ledger ADD COLUMN IF NOT EXISTS file_inode BIGINT")
    conn.execute("ALTER TABLE audit.load_ledger ADD COLUMN IF NOT EXISTS file_ctime_ns BIGINT")
    # The import mapping a file was read through (NULL: contract-shaped), and a fingerprint of the
    # entity's mappings when the verdict was given (a failed file is read again when they change).
    conn.execute("ALTER TABLE audit.load_ledger ADD COLUMN IF NOT EXISTS mapping VARCHAR")
    conn.execute("ALTER TABLE audit.load_ledger ADD COLUMN IF NOT EXISTS mappings_fingerprint VARCHAR")
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
    return lake.attach(conn, lake_folder, before_upgrade=lambda entity: _add_headcount_intervals(conn, entity))


def _add_headcount_intervals(conn: duckdb.DuckDBPyConnection, entity: Entity) -> None:
    """Raw tables created before employee counts could be ranges get the interval columns, filled
    from the plain number every earlier row holds (a plain number n is the interval [n, n]); run on
    a raw table of an earlier version before it moves to the lake."""
    present = {
        name
        for (name,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?",
            [entity.name],
        ).fetchall()
    }
    for column in entity.columns:
        if column.kind is not Kind.HEADCOUNT or f"{column.name}_min" in present:
            continue
        number, low, high = (quote_ident(name) for name, _ in column.kind.raw_columns(column.name))
        conn.execute(f"ALTER TABLE raw.{entity.name} ADD COLUMN {low} BIGINT")
        conn.execute(f"ALTER TABLE raw.{entity.name} ADD COLUMN {high} BIGINT")
        conn.execute(f"UPDATE raw.{entity.name} SET {low} = {number}, {high} = {number}")


def load_entity(
    conn: duckdb.DuckDBPyConnection,
    entity_name: str,
    landing_dir: Path,
    progress: Callable[[str], None] = log.info,
    settle_seconds: float = 0.0,
    mappings: Mappings | None = None,
) -> list[FileLoad]:
    """Load every new file of one entity and account for every other entry of
    its landing folder (see the module docstring for the statuses). A file
    modified less than `settle_seconds` ago is deferred to the next run.
    `mappings` are the import mappings in force (default: the landing folder's
    `_mappings/`, `BATON_MAPPINGS` and the presets; raises MappingError)."""
    entity = ENTITIES[entity_name]
    if mappings is None:
        mappings = load_mappings(landing_dir, mappings_dir())
    lake_folder = ensure_warehouse(conn)
    lake.sweep(conn, lake_folder, entity.name)
    _remove_stale_scratch(conn)
    results = []
    for landing_file in discover(landing_dir, entity.name):
        result = _load_one(conn, entity, landing_file, settle_seconds, mappings)
        if result.status != "unchanged":
            progress(_describe(result))
        results.append(result)
    return results


def skip_file(conn: duckdb.DuckDBPyConnection, path: Path, who: str) -> str:
    """Acknowledge a failed file (`baton skip FILE`): its latest ledger row must
    be `failed` or `error`; a `skipped` row with the same identity (path,
    content hash, size, times) is added, so that version of the file is
    `unchanged` from now on, while a new version loads normally. Returns a
    one-line message; raises ValueError when the file has no such row."""
    ensure_warehouse(conn)
    stored = _ledger_path(conn, Path(path))
    row = conn.execute(
        "SELECT file_id, file_path, status, reason FROM audit.load_ledger WHERE file_path = ? ORDER BY file_id DESC LIMIT 1",
        [stored],
    ).fetchone()
    if row is None:
        raise ValueError(f"not a failed file in the ledger: {path} (the ledger has no row for it)")
    file_id, file_path, status, reason = row
    if status not in ("failed", "error"):
        raise ValueError(f"not a failed file in the ledger: {file_path} (its latest status is {status})")
    at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    had = "failed" if status == "failed" else "an error"
    note = f"skipped by {who} at {at}; it had {had}: {reason}"
    conn.execute(
        """
        INSERT INTO audit.load_ledger (file_id, entity, file_path, file_name, content_hash, file_bytes, rows_read,
                                       rows_loaded, rows_quarantined, loaded_at, status, reason, file_mtime_ns,
                                       file_inode, file_ctime_ns)
        SELECT nextval('audit.file_id_seq'), entity, file_path, file_name, content_hash, file_bytes, 0, 0, 0,
               now()::TIMESTAMP, 'skipped', ?, file_mtime_ns, file_inode, file_ctime_ns
        FROM audit.load_ledger WHERE file_id = ?
        """,
        [note, file_id],
    )
    return f"skipped {file_path} (it had {had}: {reason}); this version is no longer reported, a new one will load"


def _ledger_path(conn: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The ledger's spelling of `path`: as given, absolute, through the real folders (a landing folder
    reached through a link), or the ledger path that leads to the same file (a path given resolved)."""
    given = [str(path), os.path.abspath(path), os.path.join(os.path.realpath(path.parent), path.name)]
    known = [p for (p,) in conn.execute("SELECT DISTINCT file_path FROM audit.load_ledger").fetchall()]
    for candidate in given:
        if candidate in known:
            return candidate
    folders: dict[str, str] = {}
    for stored in known:
        folder = os.path.dirname(stored)
        if folder not in folders:
            folders[folder] = os.path.realpath(folder)
        if os.path.join(folders[folder], os.path.basename(stored)) in given:
            return stored
    real = os.path.realpath(path)
    return next((stored for stored in known if os.path.realpath(stored) == real), str(path))


def _describe(result: FileLoad) -> str:
    text = f"{result.entity}: {Path(result.path).name}: {result.status}"
    if result.status == "loaded":
        text += f", read {result.rows_read}, loaded {result.rows_loaded}, quarantined {result.rows_quarantined}"
    if result.repeated:
        text += " (again, as recorded by an earlier run)"
    return text + (f": {result.reason}" if result.reason else "")


def _load_one(
    conn: duckdb.DuckDBPyConnection, entity: Entity, landing_file: LandingFile, settle_seconds: float, mappings: Mappings
) -> FileLoad:
    path = str(landing_file.path)
    if landing_file.ignored is not None:
        return _ignore(conn, entity, landing_file)
    if landing_file.refusal is not None:
        return _refuse(conn, entity, path, landing_file.refusal)
    try:
        stat = FileStat.of(landing_file.path)
    except OSError as error:
        return _unreadable(conn, entity, path, None, error)
    # A file that failed is read again once the entity's mappings change (one may now read it).
    fingerprint = mappings.fingerprint(entity.name)
    known = _known_by_size_and_time(conn, entity, path, stat, fingerprint)
    if known is not None:
        return _again(entity, path, *known)
    age = (time.time_ns() - stat.mtime_ns) / 1e9
    if settle_seconds > 0 and age < settle_seconds:
        return _defer(conn, entity, path, stat, _unsettled(age, settle_seconds))
    try:
        digest = content_hash(landing_file.path)
    except OSError as error:
        return _unreadable(conn, entity, path, stat, error)

    known = _latest_verdict(conn, entity, path, digest, fingerprint)
    if known is not None:
        # Touched but not changed (or recorded before file times were): remember its times now.
        conn.execute(
            f"""
            UPDATE audit.load_ledger SET file_mtime_ns = ?, file_inode = ?, file_ctime_ns = ?
            WHERE entity = ? AND file_path = ? AND content_hash = ? AND status IN {_TERMINAL_SQL}
            """,
            [stat.mtime_ns, stat.inode, stat.ctime_ns, entity.name, path, digest],
        )
        return _again(entity, path, *known)
    (loaded_before,) = conn.execute(
        "SELECT count(*) > 0 FROM audit.load_ledger WHERE entity = ? AND content_hash = ? AND status = 'loaded'",
        [entity.name, digest],
    ).fetchone()
    if loaded_before:
        reason = "same content as a file already loaded"
        _record(conn, entity, path, digest, stat, "duplicate", reason)
        return FileLoad(entity.name, path, "duplicate", reason=reason)
    if stat.size == 0:
        _record(conn, entity, path, digest, stat, "failed", EMPTY_FILE)
        return FileLoad(entity.name, path, "failed", reason=EMPTY_FILE)
    return _read_and_load(conn, entity, landing_file, digest, stat, mappings)


def _read_and_load(
    conn: duckdb.DuckDBPyConnection, entity: Entity, landing_file: LandingFile, digest: str, stat: FileStat,
    mappings: Mappings, plans: list[tuple[list[str], ColumnPlan]] | None = None,
) -> FileLoad:
    """Read and load one file in one transaction. `plans` (if given) receives the file's column
    names and how they map, as soon as they are known (`baton check-landing` shows them)."""
    path = str(landing_file.path)
    fingerprint = mappings.fingerprint(entity.name)
    plans = [] if plans is None else plans

    def check_names(found: list[str]) -> None:
        plans.append((found, plan_columns(entity, found, fmt, path, mappings)))

    lake_folder = lake.root(conn)
    file_id = None
    scratch = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-", dir=_scratch_root(conn)))
    # Row order is carried in `_row_number`, never in the order rows are written: DuckDB may then
    # stream into its sinks (the scratch file, raw, quarantine) without holding rows back for order.
    previous_order = conn.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]
    conn.execute("SET preserve_insertion_order = false")
    conn.execute("BEGIN TRANSACTION")
    try:
        file_id = conn.execute("SELECT nextval('audit.file_id_seq')").fetchone()[0]
        fmt = landing_file.format
        source = landing_file.path
        if landing_file.compression:
            source = readers.decompress(landing_file.path, landing_file.compression, scratch)
        landing = readers.read(conn, source, fmt, scratch, check_names)
        plan = plan_columns(entity, landing.names, fmt, path, mappings)
        counts, staged = _load_rows(conn, entity, landing, plan, path, file_id, lake_folder)
        if _changed(landing_file.path, stat):
            raise _ChangedWhileRead()
        # The Parquet file takes its name, then the ledger row commits: until then it does not count.
        crash_point(f"extract:before_lake_rename:{entity.name}")
        staged.publish()
        crash_point(f"extract:after_lake_write:{entity.name}")
        mapping = plan.mapping.name if plan.mapping else None
        _record(conn, entity, path, digest, stat, "loaded", None, counts, file_id, mapping, fingerprint)
        crash_point(f"extract:before_commit:{entity.name}")
        conn.execute("COMMIT")
    except Exception as error:  # noqa: BLE001 - one file must not stop the others
        _rollback(conn)
        if file_id is not None:
            lake.discard(lake_folder, entity.name, file_id)
        if isinstance(error, duckdb.FatalException):  # the database itself is gone: nothing more to do
            raise
        status, reason = _verdict(entity, path, error)
        if status == "failed" and _changed(landing_file.path, stat):
            # Read while being written: the half-written file's faults are not the export's.
            status, reason = "deferred", "changed while being read"
        if status == "deferred":
            digest = f"deferred:{path}:{stat.size}:{stat.mtime_ns}"
        # Raises when not even this row can be written (still out of memory): the step fails with
        # nothing recorded for the file, and the next run loads it anyway.
        mapping = plans[-1][1].mapping.name if plans and plans[-1][1].mapping else None
        _record(conn, entity, path, digest, stat, status, reason, mapping=mapping, fingerprint=fingerprint)
        return FileLoad(entity.name, path, status, reason=reason)
    except BaseException:
        _rollback(conn)
        if file_id is not None:
            lake.discard(lake_folder, entity.name, file_id)
        raise
    finally:
        for table in (*readers.TEMP_TABLES, *_TEMP_TABLES):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"SET preserve_insertion_order = {'true' if previous_order else 'false'}")
        shutil.rmtree(scratch, ignore_errors=True)
    return FileLoad(entity.name, path, "loaded", *counts)


def _verdict(entity: Entity, path: str, error: Exception) -> tuple[str, str]:
    """(ledger status, reason) of a file whose load raised `error`."""
    if isinstance(error, _ChangedWhileRead):
        return "deferred", "changed while being read"
    if isinstance(error, FileRejected):
        return "failed", _readable(error)
    if is_transient(error):
        return "error", f"{_readable(error)}; {_NOT_THE_FILE}"
    if isinstance(error, duckdb.Error):  # DuckDB could not parse the file's bytes
        return "failed", _readable(error)
    # A bug of ours is no verdict on the file either: loud in the log, and tried again.
    log.exception("%s: unexpected error while loading %s", entity.name, path)
    return "error", f"unexpected error: {_readable(error)}; {_NOT_THE_FILE}"


def _rollback(conn: duckdb.DuckDBPyConnection) -> None:
    """Roll back the file's transaction; DuckDB has already ended it when COMMIT itself failed."""
    try:
        conn.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass


def _changed(path: Path, before: FileStat) -> bool:
    """Whether the file is no longer the one stat'ed before it was hashed (rewritten, appended
    to, replaced, moved away)."""
    try:
        after = FileStat.of(path)
    except OSError:
        return True
    return (after.size, after.mtime_ns, after.inode) != (before.size, before.mtime_ns, before.inode)


def _unsettled(age: float, settle_seconds: float) -> str:
    if age < 0:
        return (
            f"modified {-age:.0f} s in the future by this machine's clock (clock skew?); "
            f"loaded once it is {settle_seconds:g} s old"
        )
    return f"modified {age:.0f} s ago (less than the {settle_seconds:g} s settle time); loaded next run"


def _again(entity: Entity, path: str, status: str, reason: str | None) -> FileLoad:
    """What a file with a terminal ledger row is this run: a failure or an ignored entry is
    reported again (nothing new recorded); anything else is unchanged, silently."""
    if status in ("failed", "ignored"):
        return FileLoad(entity.name, path, status, reason=reason, repeated=True)
    return FileLoad(entity.name, path, "unchanged")


def _ignore(conn: duckdb.DuckDBPyConnection, entity: Entity, landing_file: LandingFile) -> FileLoad:
    path = str(landing_file.path)
    try:
        st = os.lstat(path)  # never follow what is not read
        marker = f"ignored:{path}:folder" if landing_file.path.is_dir() else f"ignored:{path}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        marker = f"ignored:{path}"
    known = _latest_verdict(conn, entity, path, marker)
    if known is not None:
        return _again(entity, path, *known)
    _record(conn, entity, path, marker, None, "ignored", landing_file.ignored)
    return FileLoad(entity.name, path, "ignored", reason=landing_file.ignored)


def _refuse(conn: duckdb.DuckDBPyConnection, entity: Entity, path: str, refusal: str) -> FileLoad:
    digest = "refused:" + path
    known = _latest_verdict(conn, entity, path, digest)
    # Refused for another reason than last time (a dangling link that now loops...): a new verdict.
    if known is not None and not (known[0] == "failed" and known[1] != refusal):
        return _again(entity, path, *known)
    _record(conn, entity, path, digest, None, "failed", refusal)
    return FileLoad(entity.name, path, "failed", reason=refusal)


def _unreadable(conn: duckdb.DuckDBPyConnection, entity: Entity, path: str, stat: FileStat | None, error: OSError) -> FileLoad:
    """The file could not even be stat'ed or hashed: an I/O problem, tried again next run (unless skipped)."""
    digest = "unreadable:" + path
    known = _latest_verdict(conn, entity, path, digest)
    if known is not None and known[0] == "skipped":
        return FileLoad(entity.name, path, "unchanged")
    reason = f"cannot read the file: {error.strerror or error}; {_NOT_THE_FILE}"
    _record(conn, entity, path, digest, stat, "error", reason)
    return FileLoad(entity.name, path, "error", reason=reason)


def _defer(conn: duckdb.DuckDBPyConnection, entity: Entity, path: str, stat: FileStat, reason: str) -> FileLoad:
    _record(conn, entity, path, f"deferred:{path}:{stat.size}:{stat.mtime_ns}", stat, "deferred", reason)
    return FileLoad(entity.name, path, "deferred", reason=reason)


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
    lake.remove_folders_of_dead_processes(Path(_scratch_root(conn) or tempfile.gettempdir()), _SCRATCH_PREFIX)


def _known_by_size_and_time(
    conn: duckdb.DuckDBPyConnection, entity: Entity, path: str, stat: FileStat, fingerprint: str | None = None
) -> tuple[str, str | None] | None:
    """(status, reason) of the latest terminal ledger row of this path whose size, modification
    time, inode and change time all match the file's: that row's content, not hashed again.

    Hashing every file of a landing folder that keeps its history costs more each night (2.2 GB at
    1M leads: ~1.5 s). Size and mtime alone can be kept by a copy of other content (`cp -p`,
    `rsync -t`); the inode and ctime cannot (a write or a rename sets the ctime to now)."""
    return conn.execute(
        f"""
        SELECT status, reason FROM audit.load_ledger
        WHERE entity = ? AND file_path = ? AND file_bytes = ? AND file_mtime_ns = ? AND file_inode = ?
          AND file_ctime_ns = ? AND status IN {_TERMINAL_SQL} AND {_SAME_MAPPINGS}
        ORDER BY file_id DESC LIMIT 1
        """,
        [entity.name, path, stat.size, stat.mtime_ns, stat.inode, stat.ctime_ns, fingerprint],
    ).fetchone()


def _latest_verdict(
    conn: duckdb.DuckDBPyConnection, entity: Entity, path: str, digest: str, fingerprint: str | None = None
) -> tuple[str, str | None] | None:
    """(status, reason) of the latest terminal ledger row of this path with this content. With a
    mappings `fingerprint`, a `failed` row given under other mappings does not count."""
    return conn.execute(
        f"""
        SELECT status, reason FROM audit.load_ledger
        WHERE entity = ? AND file_path = ? AND content_hash = ? AND status IN {_TERMINAL_SQL} AND {_SAME_MAPPINGS}
        ORDER BY file_id DESC LIMIT 1
        """,
        [entity.name, path, digest, fingerprint],
    ).fetchone()


def _record(
    conn: duckdb.DuckDBPyConnection,
    entity: Entity,
    path: str,
    digest: str,
    stat: FileStat | None,
    status: str,
    reason: str | None = None,
    counts: tuple[int, int, int] = (0, 0, 0),
    file_id: int | None = None,
    mapping: str | None = None,
    fingerprint: str | None = None,
) -> None:
    size, mtime_ns, inode, ctime_ns = (stat.size, stat.mtime_ns, stat.inode, stat.ctime_ns) if stat else (None,) * 4
    conn.execute(
        """
        INSERT INTO audit.load_ledger (file_id, entity, file_path, file_name, content_hash, file_bytes, rows_read,
                                       rows_loaded, rows_quarantined, loaded_at, status, reason, file_mtime_ns,
                                       file_inode, file_ctime_ns, mapping, mappings_fingerprint)
        VALUES (coalesce(?, nextval('audit.file_id_seq')), ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            file_id, entity.name, path, Path(path).name, digest, size, *counts, status, reason, mtime_ns, inode,
            ctime_ns, mapping, fingerprint,
        ],
    )


def _readable(error: BaseException) -> str:
    text = str(error).strip()
    first_line = text.splitlines()[0] if text else type(error).__name__
    return first_line[:500]


# --- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnPlan:
    """How a file's columns become the entity's contract columns."""

    # Contract column -> the 1-based positions of the file's columns that hold it.
    sources: dict[str, list[int]]
    # The mapping the file is read through (CONTRACT s8), or None for a contract-shaped file.
    mapping: Mapping | None = None

    def label(self, column: str) -> str:
        """How a reason names a column: with the export column (or the constant) a mapping reads it from."""
        if self.mapping is None:
            return column
        if column in self.mapping.constants:
            return f"{column} (constant of mapping {self.mapping.name})"
        export = self.mapping.columns.get(column)
        return f"{column} (export column {export})" if export and self.sources.get(column) else column


def plan_columns(
    entity: Entity, names: list[str], fmt: str, path: str, mappings: Mappings | None = None
) -> ColumnPlan:
    """Which of the file's columns hold which contract column (see ColumnPlan).

    A file whose header holds every `detect` column of one of the entity's
    mappings is read through the first such mapping: each contract column it
    lists comes from that export column (absent: NULL), a constant from the
    mapping, and every other contract column from a header column of its own
    name that the mapping does not already read. Otherwise names match the
    contract's, trimmed and case-insensitively. A CSV or Parquet file that
    names a required column nowhere, or any contract column twice, is
    rejected as a whole: which of two `email` columns is the email is not ours
    to guess. In JSON lines keys vary from object to object, so a column may
    come under several spellings; a row that gives two of them is quarantined
    instead.
    """
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(names, start=1):
        positions.setdefault(name.strip().lower(), []).append(index)
    mapping = mappings.detect(entity.name, names) if mappings is not None and names else None
    if mapping is None:
        sources = {c: positions.get(c, []) for c in entity.column_names}
    else:
        mapped = {c: positions.get(export.strip().lower(), []) for c, export in mapping.columns.items()}
        used = {i for found in mapped.values() for i in found}
        sources = {
            c: mapped[c] if c in mapping.columns
            else [] if c in mapping.constants
            else [i for i in positions.get(c, []) if i not in used]
            for c in entity.column_names
        }
    plan = ColumnPlan(sources, mapping)
    if fmt != "jsonl" or names:
        given = set(mapping.constants) if mapping else set()
        missing = [c for c in entity.required if not sources[c] and c not in given]
        if missing:
            raise FileRejected(_missing_reason(entity, names, fmt, path, missing, mapping, mappings))
    if fmt != "jsonl":
        for column, found in sources.items():
            if len(found) > 1:
                spelled = ", ".join(f"{i} ('{_shown(names[i - 1])}')" for i in found)
                raise FileRejected(f"{Path(path).name}: duplicated column {column}: header columns {spelled} all name it")
    return plan


def _missing_reason(
    entity: Entity, names: list[str], fmt: str, path: str, missing: list[str], mapping: Mapping | None,
    mappings: Mappings | None,
) -> str:
    shown = ", ".join(_shown(n) for n in names) if names else "nothing"
    where = "keys" if fmt == "jsonl" else "header"
    if mapping is not None:
        lacking = [f"{c} ({_shown(mapping.columns[c])})" if c in mapping.columns else c for c in missing]
        return (
            f"{Path(path).name}: read through mapping {mapping.name}, but no value for the required column(s) "
            f"{', '.join(lacking)} ({where} has: {shown})"
        )
    reason = f"{Path(path).name}: missing required column(s) {', '.join(missing)} ({where} has: {shown})"
    if fmt == "csv" and len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
        reason += "; the file must be comma-separated"
    tried = mappings.for_entity(entity.name) if mappings is not None else ()
    if tried:
        listed = "; ".join(f"{m.name} (detect: {', '.join(_shown(d) for d in m.detect)})" for m in tried)
        reason += f"; no mapping matched the header, tried: {listed}"
    else:
        reason += f"; no mapping exists for {entity.name} (add one in the landing folder's {USER_FOLDER}/)"
    return reason


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
    conn: duckdb.DuckDBPyConnection, entity: Entity, landing: readers.Landing, plan: ColumnPlan, path: str, file_id: int,
    lake_folder: Path,
) -> tuple[tuple[int, int, int], lake.Staged]:
    """Good rows -> the file's Parquet in the lake (staged: not yet under its name), bad rows ->
    audit.quarantine; returns (rows read, loaded, quarantined) and the staged Parquet file.

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
    3. every other row, typed, into the file's Parquet file in the lake
       (lake.py), with `_raw_row` holding only the file's columns that match
       no contract column (as JSON text).
    """
    names = landing.names
    sources = plan.sources
    mapping = plan.mapping
    params: dict[str, object] = dict(landing.params)  # the file's own names only ever travel as parameters

    def bind(prefix: str, value: object) -> str:
        """A bound parameter holding `value` (mapping settings are text of the user's, never SQL)."""
        name = f"{prefix}_{len(params)}"
        params[name] = value
        return f"${name}"

    cleaned, mapped_values, reasons, given_twice = [], [], [], []
    for column in entity.columns:
        found = sources[column.name]
        if mapping is not None and column.name in mapping.constants:
            value = f"{bind('constant', mapping.constants[column.name])}::VARCHAR"
        elif not found:
            value = "NULL::VARCHAR"
        elif len(found) == 1:
            value = _clean(f"c{found[0]}")
        else:  # JSON lines only: the same column under several keys
            value = f"coalesce({', '.join(_clean(f'c{i}') for i in found)})"
            given = " + ".join(f"({_clean(f'c{i}')} IS NOT NULL)::INTEGER" for i in found)
            keys = ", ".join(names[i - 1] for i in found)
            given_twice.append(f"CASE WHEN {given} > 1 THEN {bind('given_twice', f'{column.name}: given more than once (keys {keys})')}::VARCHAR END")
        cleaned.append(f"{value} AS {quote_ident(column.name)}")
        if mapping is not None and mapping.values.get(column.name):
            mapped_values.append(f"{_mapped_value_sql(quote_ident(column.name), mapping.value_map(column.name), bind)} AS {quote_ident(column.name)}")
    if given_twice:
        cleaned.append(f"nullif(concat_ws('; ', {', '.join(given_twice)}), '') AS _given_twice")
        reasons.append("_given_twice")

    typed = []
    for column in entity.columns:
        name = quote_ident(column.name)
        label = bind("label", plan.label(column.name))
        formats = mapping.formats.get(column.name) if mapping is not None else None
        zone = mapping.timezone if mapping is not None and mapping.timezone not in (None, "UTC", "Etc/UTC") else None
        if column.kind in (Kind.TIMESTAMP, Kind.DATE) and (formats or zone):
            parsed = _time_sql(
                column.kind, name, [(bind("format", f), "%z" in f or "%Z" in f) for f in formats or ()], zone and bind("zone", zone)
            )
        else:
            parsed = _typed_sql(column.kind, name)
        if column.kind is Kind.HEADCOUNT:
            typed += [(raw, sql) for sql, (raw, _) in zip(_headcount_sql(name), column.kind.raw_columns(column.name))]
        else:
            typed.append((column.name, parsed))
        if column.required:
            reasons.append(f"CASE WHEN {name} IS NULL THEN {label} || ': required value is missing' END")
        if column.kind in (Kind.INTEGER, Kind.NUMBER, Kind.TIMESTAMP, Kind.DATE, Kind.HEADCOUNT):
            expected = {
                Kind.INTEGER: "whole number",
                Kind.NUMBER: "number",
                Kind.HEADCOUNT: "whole number or range",
            }.get(column.kind, "ISO 8601 date/time")
            if formats:
                expected = "date/time in the format(s) " + " or ".join(formats)
            reasons.append(
                f"CASE WHEN {name} IS NOT NULL AND ({parsed}) IS NULL "
                f"THEN {label} || {bind('expected', f': not a valid {expected}: ')} || {name} END"
            )
        if column.kind is Kind.EVENT_TYPE:
            allowed = ", ".join(quote_literal(t) for t in EVENT_TYPES)
            reasons.append(
                f"CASE WHEN {name} IS NOT NULL AND ({parsed}) NOT IN ({allowed}) "
                f"THEN {label} || ': unknown event type: ' || {name} END"
            )
    if entity.one_of:
        all_missing = " AND ".join(f"{quote_ident(c)} IS NULL" for c in entity.one_of)
        reasons.append(f"CASE WHEN {all_missing} THEN 'neither {' nor '.join(entity.one_of)} is given' END")
    if "stage" in entity.column_names and "closed_at" in entity.column_names:
        closed = ", ".join(quote_literal(s) for s in CLOSED_STAGES)
        reasons.append(
            f"CASE WHEN ({_typed_sql(Kind.STAGE, 'stage')}) IN ({closed}) AND closed_at IS NULL "
            f"THEN {bind('label', plan.label('closed_at'))} || ': a closed deal needs closed_at' END"
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
    source_rows = landing.rows
    # A row's identity in this file: its number, and with a split column the record's place in it.
    item, same_row = "", "q._row_number = r._row_number"
    split = [(column, sep) for column, sep in (mapping.split.items() if mapping is not None else ()) if sources[column]]
    if split:
        source_rows = _split_rows_sql(landing.rows, [(sources[column][0], bind("split", sep)) for column, sep in split])
        item, same_row = ", _item", "q._row_number = r._row_number AND q._item = r._item"
    rows = f"SELECT _row_number{item}, {raw_columns}, {', '.join(cleaned)} FROM ({source_rows})"
    if mapped_values:
        rows = f"SELECT * REPLACE ({', '.join(mapped_values)}) FROM ({rows})"

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
        SELECT _row_number{item}, {raw_columns}, {record_key} AS _record_key, _reasons
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
        SELECT _row_number{item}, {raw_columns}, _reason FROM (
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
    # Written as the raw view's columns, in its order and (stored) types: lake.columns.
    known = {i for found in sources.values() for i in found}
    extra_row = landing.raw_row_of([i for i in range(1, len(names) + 1) if i not in known])
    values = dict(typed)
    values.update(
        _record_key=record_key, _file_id="$file_id", _source_file="$source_file", _row_number="_row_number",
        _raw_row=extra_row, _loaded_at="now()",
    )
    stored = ", ".join(
        f"CAST({values[name]} AS {lake.stored_type(sql_type)}) AS {quote_ident(name)}" for name, sql_type in lake.columns(entity)
    )
    select = f"""
        SELECT {stored}
        FROM ({rows}) AS r
        WHERE NOT EXISTS (SELECT 1 FROM _landing_rejected AS q WHERE {same_row})
        """
    load_params = {**params, "file_id": file_id, "source_file": path}
    used = {name: value for name, value in load_params.items() if re.search(rf"\${re.escape(name)}\b", select)}
    staged = lake.stage(conn, lake_folder, entity.name, file_id, select, used)
    rows_loaded = staged.rows
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
    row_count = landing.row_count
    if split:  # each record of a split row counts as a row read
        (row_count,) = _execute(conn, f"SELECT count(*) FROM ({source_rows})", params).fetchone()
    rows_read = row_count + problems
    if rows_loaded + rows_quarantined != rows_read:  # cannot happen; never commit a file that does not balance
        raise RuntimeError(f"read {rows_read} rows but loaded {rows_loaded} and quarantined {rows_quarantined}")
    return (rows_read, rows_loaded, rows_quarantined), staged


def _records_noun(entity: Entity) -> str:
    """What an entity's records are called in a reason: `engagement_events` -> `events`."""
    return entity.name.rsplit("_", 1)[-1]


def _execute(conn: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> duckdb.DuckDBPyConnection:
    """Run `sql` with those of the named parameters it uses (DuckDB refuses unused ones)."""
    used = {name: value for name, value in params.items() if re.search(rf"\${re.escape(name)}\b", sql)}
    return conn.execute(sql, used) if used else conn.execute(sql)


def _mapped_value_sql(value: str, table: tuple[list, list, list, list], bind: Callable[[str, object], str]) -> str:
    """A values map applied to a trimmed value: an exact match first, else a case-insensitive one;
    a value the map does not list passes unchanged, one it maps to null becomes null."""
    exact_keys, exact_targets, folded_keys, folded_targets = (bind("values", list(part)) for part in table)
    exact = f"list_position({exact_keys}::VARCHAR[], {value})"
    folded = f"list_position({folded_keys}::VARCHAR[], lower({value}))"
    return (
        f"CASE WHEN {exact} > 0 THEN ({exact_targets}::VARCHAR[])[{exact}] "
        f"WHEN {folded} > 0 THEN ({folded_targets}::VARCHAR[])[{folded}] ELSE {value} END"
    )


def _split_rows_sql(rows: str, split: list[tuple[int, str]]) -> str:
    """The file's rows with one row per listed value of each split column (position, bound separator):
    values trimmed, blanks and repeats dropped, sorted; a row listing nothing stays one row with
    NULL there. `_item` numbers the records of a row."""
    lists = ", ".join(
        f"""coalesce(nullif(list_distinct(list_filter(list_transform(string_split(c{position}, {separator}::VARCHAR),
            lambda x: trim(x)), lambda x: x <> '')), []), [NULL::VARCHAR]) AS _items_{position}"""
        for position, separator in split
    )
    # list_distinct keeps no order: sorted, so a file always gives the same records
    ordered = ", ".join(
        f"list_sort(_items_{p}) AS _items_{p}" for p, _ in split
    )
    unnests = ", ".join(f"unnest(_items_{p}) AS c{p}" for p, _ in split)
    drop = ", ".join(f"_items_{p}" for p, _ in split)
    replaced = ", ".join(f"c{p}" for p, _ in split)
    return f"""
        SELECT * EXCLUDE ({drop}), row_number() OVER (PARTITION BY _row_number ORDER BY {replaced}) AS _item FROM (
            SELECT * EXCLUDE ({replaced}, {drop}), {unnests}, {drop} FROM (
                SELECT * REPLACE ({ordered}) FROM (SELECT *, {lists} FROM ({rows}))
            )
        )
    """


def _time_sql(kind: Kind, name: str, formats: list[tuple[str, bool]], zone: str | None) -> str:
    """A mapped date/time column: the bound strptime `formats` (parameter, has %z) tried in order,
    else ISO 8601; a time without an offset is in the bound `zone` (else UTC); the result in UTC.
    A date stays the date written."""
    if formats:
        attempts = []
        for fmt, with_offset in formats:
            attempt = f"try_strptime({name}, {fmt}::VARCHAR)"
            if with_offset:
                # A TIMESTAMPTZ, turned into UTC by the session's time zone. Python's %z reads a
                # trailing `Z` as +00:00, DuckDB's does not: give it the offset spelled out.
                zulu = f"try_strptime(regexp_replace({name}, '[Zz]$', '+00:00'), {fmt}::VARCHAR)"
                attempts.append(f"coalesce({attempt}, {zulu})::TIMESTAMP")
            elif zone and kind is Kind.TIMESTAMP:
                attempts.append(f"timezone({zone}::VARCHAR, {attempt})::TIMESTAMP")
            else:
                attempts.append(attempt)
        value = f"coalesce({', '.join(attempts)})"
    else:
        with_offset = f"regexp_extract({name}, '^{_ISO_TIMESTAMP}$', 4) <> ''"
        value = (
            f"CASE WHEN regexp_full_match({name}, '{_ISO_TIMESTAMP}') THEN CASE WHEN {with_offset} "
            f"THEN TRY_CAST(upper({name}) AS TIMESTAMPTZ)::TIMESTAMP "
            f"ELSE timezone({zone}::VARCHAR, TRY_CAST({name} AS TIMESTAMP))::TIMESTAMP END END"
        ) if zone and kind is Kind.TIMESTAMP else _typed_sql(kind, name)
    return f"({value})::DATE" if kind is Kind.DATE else value


# A whole number of a range: digits, or digits grouped by thousands (`10,001`).
_RANGE_NUMBER = r"(\d{1,3}(,\d{3})+|\d+)"
_RANGE = rf"{_RANGE_NUMBER}\s*-\s*{_RANGE_NUMBER}"
_OPEN_RANGE = rf"{_RANGE_NUMBER}\s*\+"


def _headcount_sql(name: str) -> tuple[str, str, str]:
    """(number, low, high) of an employee count (CONTRACT s8): a plain number n is n, [n, n]; a range
    `A-B` (A <= B) is NULL, [A, B]; `A+` is NULL, [A, NULL]; anything else is NULL, NULL, NULL."""
    number = _typed_sql(Kind.INTEGER, name)

    def bound(index: int, pattern: str) -> str:
        return f"TRY_CAST(replace(regexp_extract({name}, '^{pattern}$', {index}), ',', '') AS BIGINT)"

    low_of_range, high_of_range = bound(1, _RANGE), bound(3, _RANGE)
    is_range = f"(regexp_full_match({name}, '{_RANGE}') AND {low_of_range} <= {high_of_range})"
    is_open = f"regexp_full_match({name}, '{_OPEN_RANGE}')"
    low = f"CASE WHEN {is_range} THEN {low_of_range} WHEN {is_open} THEN {bound(1, _OPEN_RANGE)} ELSE {number} END"
    high = f"CASE WHEN {is_range} THEN {high_of_range} WHEN {is_open} THEN NULL ELSE {number} END"
    return number, low, high


def _typed_sql(kind: Kind, name: str) -> str:
    if kind is Kind.HEADCOUNT:
        # NULL only when the value is neither a number nor a range (the low bound is always set)
        return _headcount_sql(name)[1]
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

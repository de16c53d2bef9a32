"""Raw as a Parquet lake: each loaded file's typed rows, one Parquet file per landing file.

Layout, beside the warehouse file (`<warehouse folder>` is the folder that
holds `baton.duckdb`; a warehouse held in memory gets a temporary folder):

    <warehouse folder>/raw/_baton_lake              which warehouse owns this lake (its lake id)
    <warehouse folder>/raw/<entity>/file_id=<n>/part-0.parquet

Plain Parquet (zstd), hive-style `file_id=<n>` folders, one per landing file
whose ledger status is `loaded`, holding exactly the columns of `raw.<entity>`
in Spark-readable types: VARCHAR, BIGINT, DOUBLE, DATE, TIMESTAMP (microseconds,
no time zone: `isAdjustedToUTC = false`), and `_raw_row` as JSON text
(VARCHAR). `_file_id` is stored too and equals the folder's id.

Writing one file (loader._read_and_load, inside the file's DuckDB transaction):
`COPY (typed rows) TO <folder>/.tmp-<uuid>` (`stage`), then, when the rows
balance and the landing file did not change while read, fsync it, rename it to
`part-0.parquet` and fsync the folders (`Staged.publish`); only then the
quarantine and ledger rows commit. A load that rolls back (failed, error,
deferred) deletes its folder (`discard`). So a crash can leave only a folder
whose file id has no `loaded` ledger row; the next run sweeps it (`sweep`,
with every stale `.tmp-*`) and loads the file again (the crashed transaction's
id may be handed out again: `stage` empties such a folder first).

Reading: on DuckDB `raw.<entity>` is a view (`view_sql`) over
`read_parquet('<lake>/raw/<entity>/*/*.parquet', hive_partitioning = true)`,
`_file_id` taken from the folder name (so a filter on it skips whole files
without opening them), UNION ALL an empty typed relation (so it also works
with no file at all: `allow_empty`), restricted to the file ids the ledger
records `loaded` for the entity: a folder left by a crash is never counted,
even before the sweep. Its columns and types are those of the raw tables of
earlier versions, so dbt reads it unchanged. Every file's footer is read for
the row estimate (`maximum_files_for_stats`), which keeps DuckDB's join
orders (and ABM's date filter pushed into the scan) as they were on tables.

The view holds the lake's absolute path (DuckDB resolves a relative one
against the reader's working folder or `file_search_path`, which dbt, BI
tools and the DuckDB shell do not share). Moving the warehouse therefore
means moving its `raw/` folder alongside; the extract then points the views
at the new place (`attach`). A warehouse file copied or moved alone, whose
old lake is still where it was, gets that lake's loaded files linked (or
copied) into its own folder; one whose lake is gone fails with a message
saying where it was. Two warehouses cannot share a folder: the
`_baton_lake` marker names the owner and another warehouse refuses to use it,
unless that owner's file no longer exists (deleted to start again): then its
files belong to no `loaded` row of the new ledger, so the view never reads
them and the sweep deletes them.

Warehouses built before the lake (raw tables) are upgraded once, by
`attach`: each file id's rows are exported to its folder, then the table is
replaced by the view in one transaction (a crash in between redoes it).
"""

from __future__ import annotations

import atexit
import errno
import logging
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from baton.lib.extract.entities import ENTITIES, Entity
from baton.lib.sqltext import quote_ident, quote_literal

__all__ = [
    "METADATA_COLUMNS", "LakeError", "Staged", "attach", "columns", "discard", "file_folder", "root", "stage",
    "stored_type", "sweep", "view_sql",
]

log = logging.getLogger(__name__)

METADATA_COLUMNS = (
    ("_record_key", "VARCHAR"),
    ("_file_id", "BIGINT"),
    ("_source_file", "VARCHAR"),
    ("_row_number", "BIGINT"),
    ("_raw_row", "JSON"),
    ("_loaded_at", "TIMESTAMP"),
)
PART = "part-0.parquet"
MARKER = "_baton_lake"
TMP_PREFIX = ".tmp-"
# zstd, read by Spark and every Parquet reader. 20M events: 185 MB (snappy 587 MB, the DuckDB table
# of earlier versions 670 MB), written in 10.2 s (snappy 9.4 s), a full scan 1.3 s (snappy 1.2 s,
# the DuckDB table 1.1 s). Files written with another codec stay readable.
COPY_OPTIONS = "FORMAT parquet, COMPRESSION zstd"
_FOLDER = re.compile(r"file_id=(\d+)")
_GLOB_CHARS = {"[": "[[]", "*": "[*]", "?": "[?]"}
# Recorded in the view's comment: a view of another version (or another place) is replaced.
_VIEW_VERSION = "baton lake view 2"
# The files whose footers DuckDB reads to estimate a scan's rows. By default it extrapolates from the
# first file of the glob: `file_id=13` (a nightly drop of 2,740 events) sorts before `file_id=7` (the
# first load, 2M), the estimate came out 250 times too small and ABM's date filter was no longer
# pushed into the scan (2.5 s instead of 0.2 s at S). Reading every footer costs ~0.1 ms a file.
_FILES_FOR_STATS = 1_000_000
_TEMPORARY_PREFIX = "baton-lake-"
_temporary: set[str] = set()


class LakeError(RuntimeError):
    """The lake cannot be used as it is (another warehouse's, or gone): nothing is written."""


def columns(entity: Entity) -> tuple[tuple[str, str], ...]:
    """(name, SQL type) of `raw.<entity>`, in order: the typed columns, then the metadata."""
    return (*entity.raw_columns, *METADATA_COLUMNS)


def stored_type(sql_type: str) -> str:
    """The Parquet column's type: JSON is stored as its text."""
    return "VARCHAR" if sql_type == "JSON" else sql_type


def file_folder(lake: Path, entity: str, file_id: int) -> Path:
    return lake / "raw" / entity / f"file_id={file_id}"


def root(conn: duckdb.DuckDBPyConnection) -> Path:
    """The lake folder of this warehouse (`attach` must have run)."""
    row = conn.execute("SELECT root FROM audit.lake").fetchone()
    if row is None:
        raise LakeError("the warehouse has no lake yet (ensure_warehouse was not called)")
    return Path(row[0])


# --- writing one file ------------------------------------------------------------------------


@dataclass
class Staged:
    """A file's Parquet, written under a temporary name in its folder; `publish` makes it count
    (once the ledger row commits)."""

    tmp: Path
    folder: Path
    rows: int

    def publish(self) -> None:
        _fsync(self.tmp)
        os.replace(self.tmp, self.folder / PART)
        _fsync(self.folder)
        _fsync(self.folder.parent)
        _fsync(self.folder.parent.parent)


def stage(
    conn: duckdb.DuckDBPyConnection, lake: Path, entity: str, file_id: int, select_sql: str, params: dict[str, object]
) -> Staged:
    """`COPY (select_sql) TO <lake>/raw/<entity>/file_id=<id>/.tmp-<uuid>` (bound `params`)."""
    folder = file_folder(lake, entity, file_id)
    if folder.exists():  # a crash's leftover under an id DuckDB hands out again: never a loaded file's
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tmp = folder / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    sql = f"COPY ({select_sql}) TO {quote_literal(str(tmp))} ({COPY_OPTIONS})"
    cursor = conn.execute(sql, params) if params else conn.execute(sql)
    (rows,) = cursor.fetchone()
    return Staged(tmp, folder, rows)


def discard(lake: Path, entity: str, file_id: int) -> None:
    """Remove a file's folder (its load rolled back)."""
    shutil.rmtree(file_folder(lake, entity, file_id), ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:  # some file systems cannot fsync a folder
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def sweep(conn: duckdb.DuckDBPyConnection, lake: Path, entity: str) -> list[Path]:
    """Delete what a crash left in the entity's lake folder: every `file_id=<n>` folder whose id the
    ledger does not record `loaded` for this entity, and every stale `.tmp-*` file. Returns them."""
    base = lake / "raw" / entity
    if not base.is_dir():
        return []
    loaded = {
        file_id
        for (file_id,) in conn.execute(
            "SELECT file_id FROM audit.load_ledger WHERE entity = ? AND status = 'loaded'", [entity]
        ).fetchall()
    }
    removed = []
    for stale in base.parent.glob(f"{TMP_PREFIX}*"):  # a marker being written
        stale.unlink(missing_ok=True)
        removed.append(stale)
    for folder in sorted(base.iterdir()):
        match = _FOLDER.fullmatch(folder.name)
        if match is None or not folder.is_dir() or folder.is_symlink():
            continue
        if int(match.group(1)) not in loaded:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            continue
        for stale in folder.glob(f"{TMP_PREFIX}*"):
            stale.unlink(missing_ok=True)
            removed.append(stale)
    if removed:
        log.warning("%s: removed %d lake entries no loaded file owns (left by a crash): %s", entity, len(removed),
                    ", ".join(str(p) for p in removed[:5]))
    return removed


# --- the view --------------------------------------------------------------------------------


def _glob_escaped(path: Path) -> str:
    return "".join(_GLOB_CHARS.get(ch, ch) for ch in str(path))


def view_sql(entity: Entity, lake: Path) -> str:
    """The query of `raw.<entity>`: the loaded files' rows, typed as the raw tables were."""
    pattern = quote_literal(_glob_escaped(lake / "raw" / entity.name) + "/*/*.parquet")
    cols = columns(entity)
    # `_file_id` is the folder's (hive partition `file_id`): filters on it prune whole files.
    select = ", ".join(
        "file_id AS _file_id" if name == "_file_id" else f"{quote_ident(name)}::{sql_type} AS {quote_ident(name)}"
        for name, sql_type in cols
    )
    empty = ", ".join(
        f"NULL::{stored_type(sql_type)} AS {quote_ident(name)}" for name, sql_type in cols if name != "_file_id"
    )
    return f"""SELECT {select}
FROM (
    SELECT * FROM read_parquet(
        {pattern}, hive_partitioning = true, hive_types = {{'file_id': BIGINT}}, allow_empty = true,
        maximum_files_for_stats = {_FILES_FOR_STATS}
    )
    UNION ALL BY NAME
    SELECT NULL::BIGINT AS file_id, {empty} WHERE false
)
WHERE file_id IN (SELECT file_id FROM audit.load_ledger WHERE entity = {quote_literal(entity.name)} AND status = 'loaded')"""


def _view_comment(lake: Path) -> str:
    return f"{_VIEW_VERSION}: {lake}"


def _relation_kind(conn: duckdb.DuckDBPyConnection, name: str) -> tuple[str | None, str | None]:
    """('BASE TABLE' | 'VIEW' | None, the view's comment) of raw.<name>."""
    row = conn.execute(
        "SELECT table_type FROM information_schema.tables"
        " WHERE table_catalog = current_database() AND table_schema = 'raw' AND table_name = ?",
        [name],
    ).fetchone()
    if row is None:
        return None, None
    comment = None
    if row[0] == "VIEW":
        found = conn.execute(
            "SELECT comment FROM duckdb_views()"
            " WHERE database_name = current_database() AND schema_name = 'raw' AND view_name = ?",
            [name],
        ).fetchone()
        comment = found[0] if found else None
    return row[0], comment


def _create_view(conn: duckdb.DuckDBPyConnection, entity: Entity, lake: Path) -> None:
    conn.execute(f"CREATE OR REPLACE VIEW raw.{quote_ident(entity.name)} AS {view_sql(entity, lake)}")
    conn.execute(f"COMMENT ON VIEW raw.{quote_ident(entity.name)} IS {quote_literal(_view_comment(lake))}")


# --- which lake, upgrades --------------------------------------------------------------------


def _database_folder(conn: duckdb.DuckDBPyConnection) -> Path | None:
    (path,) = conn.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    if not path or path == ":memory:":
        return None
    return Path(os.path.abspath(path)).parent


def _temporary_lake() -> Path:
    """A lake folder for a warehouse held in memory, removed when this process ends (and, if it
    was killed, by the next process that makes one)."""
    remove_folders_of_dead_processes(Path(tempfile.gettempdir()), _TEMPORARY_PREFIX)
    if not _temporary:
        atexit.register(_remove_temporary)
    folder = tempfile.mkdtemp(prefix=f"{_TEMPORARY_PREFIX}{os.getpid()}-")
    _temporary.add(folder)
    return Path(folder)


def remove_folders_of_dead_processes(root: Path, prefix: str) -> None:
    """Remove the folders `<root>/<prefix><pid>-...` whose process no longer runs: a killed
    process skips its own clean-up. Another live process's folders are left alone."""
    for folder in root.glob(f"{prefix}*"):
        pid = folder.name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except OSError:  # alive, owned by another user
            pass


def _remove_temporary() -> None:
    for folder in list(_temporary):
        shutil.rmtree(folder, ignore_errors=True)
        _temporary.discard(folder)


def _read_marker(lake: Path) -> tuple[str | None, str | None]:
    """(lake id, owner: the warehouse file that wrote it) of the lake's marker."""
    try:
        lines = (lake / "raw" / MARKER).read_text().splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    return (lines[0].strip() or None) if lines else None, (lines[1].strip() or None) if len(lines) > 1 else None


def _marker(lake: Path) -> str | None:
    return _read_marker(lake)[0]


def _write_marker(lake: Path, lake_id: str, owner: str) -> None:
    folder = lake / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{TMP_PREFIX}{uuid.uuid4().hex}"
    tmp.write_text(
        f"{lake_id}\n{owner}\n"
        "The Parquet lake of the Baton warehouse on the line above (lake id on the first line): one warehouse per folder.\n"
    )
    _fsync(tmp)
    os.replace(tmp, folder / MARKER)
    _fsync(folder)


def _loaded_files(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    return conn.execute(
        "SELECT entity, file_id FROM audit.load_ledger WHERE status = 'loaded' ORDER BY file_id"
    ).fetchall()


def _adopt(conn: duckdb.DuckDBPyConnection, old: Path, lake: Path, lake_id: str) -> None:
    """The warehouse is in a new place without its lake: link (or copy) the loaded files of its old
    lake, if that is still where it was and still its own; else say where it was."""
    loaded = [(e, i) for e, i in _loaded_files(conn) if e in ENTITIES]
    missing = [(e, i) for e, i in loaded if not (file_folder(lake, e, i) / PART).exists()]
    if not missing:
        return
    if _marker(old) != lake_id:
        raise LakeError(
            f"the warehouse was moved without its Parquet lake: {len(missing)} loaded file(s) are not under "
            f"{lake / 'raw'} (they were under {old / 'raw'}, which is gone or now another warehouse's); "
            f"move that raw/ folder beside the warehouse file"
        )
    for entity, file_id in missing:
        source = file_folder(old, entity, file_id) / PART
        if not source.exists():
            raise LakeError(f"{entity} file {file_id} has no Parquet file under {old / 'raw'} nor {lake / 'raw'}")
        target = file_folder(lake, entity, file_id)
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        try:
            os.link(source, tmp)  # the files are never changed once written: sharing them is safe
        except OSError:
            shutil.copyfile(source, tmp)
        Staged(tmp, target, 0).publish()
    log.warning("took %d loaded file(s) of the lake %s into %s", len(missing), old, lake)


def _upgrade_table(conn: duckdb.DuckDBPyConnection, entity: Entity, lake: Path) -> None:
    """raw.<entity> is a table (a warehouse of an earlier version): export each file id's rows to its
    folder, then replace the table by the view in one transaction."""
    names = ", ".join(
        f"{quote_ident(name)}::{stored_type(sql_type)} AS {quote_ident(name)}" for name, sql_type in columns(entity)
    )
    file_ids = [i for (i,) in conn.execute(f"SELECT DISTINCT _file_id FROM raw.{quote_ident(entity.name)} ORDER BY 1").fetchall()]
    # a loaded file of 0 rows has a folder too, as it would have had if loaded now
    file_ids = sorted(set(file_ids) | {
        i for (i,) in conn.execute(
            "SELECT file_id FROM audit.load_ledger WHERE entity = ? AND status = 'loaded'", [entity.name]
        ).fetchall()
    })
    for file_id in file_ids:
        if file_id is None:
            continue
        staged = stage(
            conn, lake, entity.name, file_id,
            f"SELECT {names} FROM raw.{quote_ident(entity.name)} WHERE _file_id = $file_id", {"file_id": file_id},
        )
        staged.publish()
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute(f"DROP TABLE raw.{quote_ident(entity.name)}")
        _create_view(conn, entity, lake)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    log.warning("%s: raw table of %d file(s) moved to the Parquet lake %s", entity.name, len(file_ids), lake / "raw")


def attach(conn: duckdb.DuckDBPyConnection, lake: Path | None, before_upgrade=None) -> Path:
    """Decide the warehouse's lake, claim it, upgrade raw tables, and (re)create the raw views.

    `lake` overrides where the lake goes (a scratch folder for `baton check-landing`); by default
    it is the warehouse file's folder, or a temporary folder for a warehouse held in memory.
    `before_upgrade(entity)` runs on a raw table before it is exported (the table's own upgrades).
    """
    conn.execute("CREATE TABLE IF NOT EXISTS audit.lake (lake_id VARCHAR NOT NULL, root VARCHAR NOT NULL)")
    recorded = conn.execute("SELECT lake_id, root FROM audit.lake").fetchone()
    if lake is None:
        folder = _database_folder(conn)
        if folder is not None:
            lake = folder
        elif recorded is not None:
            lake = Path(recorded[1])
        else:
            lake = _temporary_lake()
    lake = Path(os.path.abspath(lake))
    lake_id = recorded[0] if recorded else uuid.uuid4().hex
    (path,) = conn.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    owner = os.path.abspath(path) if path and path != ":memory:" else "in memory"
    found, found_owner = _read_marker(lake)
    if found is not None and found != lake_id:
        if found_owner and found_owner != owner and os.path.exists(found_owner):
            raise LakeError(
                f"{lake / 'raw'} holds the Parquet lake of another Baton warehouse ({found_owner}): "
                "give each warehouse its own folder"
            )
        # Its warehouse is gone (deleted to start again, or replaced by this one): its files were
        # loaded by no row of this ledger, so the view never reads them and each entity's sweep
        # deletes them.
        log.warning("%s: the lake of a warehouse that no longer exists (%s); taken over", lake / "raw", found_owner)
        found = None
    if recorded is not None and Path(recorded[1]) != lake and found is None:
        _adopt(conn, Path(recorded[1]), lake, lake_id)
    if found is None:
        _write_marker(lake, lake_id, owner)
    if recorded is None:
        conn.execute("INSERT INTO audit.lake VALUES (?, ?)", [lake_id, str(lake)])
    elif Path(recorded[1]) != lake:
        conn.execute("UPDATE audit.lake SET root = ?", [str(lake)])
    for entity in ENTITIES.values():
        kind, comment = _relation_kind(conn, entity.name)
        if kind == "BASE TABLE":
            if before_upgrade is not None:
                before_upgrade(entity)
            _upgrade_table(conn, entity, lake)
        elif kind is None or comment != _view_comment(lake):
            _create_view(conn, entity, lake)
    return lake

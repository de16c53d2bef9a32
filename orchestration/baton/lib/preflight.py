"""Checks a run makes before it writes anything: the landing folder, the warehouse
and serving paths, and who else holds the warehouse file open.

Each problem is one line naming the path and the setting behind it, never a
traceback: `baton run` prints it and exits 2, a scheduled run fails its first
step with it.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path

import duckdb

# Bytes 8-11 of every DuckDB database file, whatever its storage version.
DUCKDB_MAGIC = b"DUCK"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class SettingsError(Exception):
    """A setting points at something Baton cannot use; nothing was written."""


class WarehouseLocked(Exception):
    """Another process kept the warehouse file open for longer than the run may wait."""


def check_landing(landing: Path) -> None:
    setting = "BATON_LANDING_DIR"
    if not landing.exists():
        raise SettingsError(f"landing folder {landing} does not exist ({setting}); nothing was written")
    if not landing.is_dir():
        raise SettingsError(f"landing folder {landing} is not a folder ({setting}); nothing was written")
    try:
        with os.scandir(landing) as entries:
            next(entries, None)
    except OSError as error:
        raise SettingsError(
            f"landing folder {landing} cannot be read: {error.strerror or error} ({setting}); nothing was written"
        ) from None


def describe_file(path: Path) -> str:
    """What a file that is not a DuckDB database looks like, for the error message."""
    with path.open("rb") as handle:
        head = handle.read(512)
    if not head:
        return "an empty file (0 bytes)"
    if head.startswith(b"SQLite format 3\x00"):
        return "a SQLite database"
    if head.startswith(b"PAR1"):
        return "a Parquet file"
    if head.startswith((b"PK\x03\x04", b"\x1f\x8b", b"\x28\xb5\x2f\xfd")):
        return "a compressed archive"
    try:
        head.decode("utf-8")
        return "a text file"
    except UnicodeDecodeError:
        return "some other file"


def is_duckdb_file(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(12)[8:12] == DUCKDB_MAGIC


def check_database_path(path: Path, what: str, setting: str) -> None:
    """`path` must be a DuckDB database file, or not exist in a folder Baton can write to."""
    try:
        if path.exists() or path.is_symlink():
            if not path.is_file():
                raise SettingsError(f"{what} {path} is not a file ({setting}); nothing was written")
            if not is_duckdb_file(path):
                raise SettingsError(
                    f"{what} {path} is {describe_file(path)}, not a DuckDB database ({setting}): "
                    "point the setting at a new path or at a Baton warehouse; nothing was written"
                )
            return
        folder = path.parent
        ancestor = folder
        while not ancestor.exists():
            ancestor = ancestor.parent
        if not ancestor.is_dir():
            raise SettingsError(f"{what} {path} cannot be created: {ancestor} is a file, not a folder ({setting}); nothing was written")
        folder.mkdir(parents=True, exist_ok=True)
        # Permission bits say nothing for root or on special file systems (/proc): try for real.
        with tempfile.TemporaryFile(dir=folder, prefix=".baton-probe-"):
            pass
    except SettingsError:
        raise
    except OSError as error:
        raise SettingsError(
            f"{what} {path} cannot be written: {error.strerror or error} ({setting}); nothing was written"
        ) from None


def check_paths(landing: Path, warehouse: Path, serving: Path) -> None:
    from baton.lib import engine

    try:
        engine.check_requirements()  # a wrong BATON_ENGINE, or Spark without pyspark / Java
    except engine.EngineError as error:
        raise SettingsError(f"{error}; nothing was written") from None
    check_landing(landing)
    check_database_path(warehouse, "warehouse", "BATON_DUCKDB_PATH")
    check_database_path(serving, "serving copy", "BATON_SERVING_PATH")


def lock_holder(error: BaseException) -> str:
    """'PID 123 (duckdb /data/baton.duckdb)' from DuckDB's lock error, or its text when it names nobody."""
    match = _LOCK_HOLDER.search(str(error))
    if not match:
        return str(error).splitlines()[0]
    pid = match["pid"]
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\x00", b" ").decode(errors="replace")
    except OSError:
        command = ""
    command = " ".join(command.split())  # one line, whatever the command line holds
    if len(command) > 120:
        command = command[:117] + "..."
    return f"PID {pid} ({command or match['program']})"


def is_lock_error(error: BaseException) -> bool:
    return isinstance(error, duckdb.IOException) and "lock" in str(error).lower()


def wait_for_warehouse(path: Path, deadline: float, serving: Path | None = None, say=None) -> None:
    """Wait until no other process holds DuckDB's lock on `path`, at most until `deadline`
    (time.monotonic()); then raise WarehouseLocked naming the holder."""
    announced = False
    while True:
        try:
            duckdb.connect(str(path)).close()
            return
        except duckdb.IOException as error:
            if not is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(locked_message(path, error, serving)) from None
            if not announced and say is not None:
                say(f"{path} is held open by {lock_holder(error)}; waiting for it (BATON_LOCK_WAIT_SECONDS)")
                announced = True
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def locked_message(path: Path, error: BaseException, serving: Path | None) -> str:
    reader_hint = f"BI tools and the DuckDB CLI belong on the serving copy {serving}" if serving else (
        "BI tools and the DuckDB CLI belong on the serving copy (BATON_SERVING_PATH)"
    )
    return (
        f"the warehouse {path} is held open by {lock_holder(error)}, still after the "
        f"BATON_LOCK_WAIT_SECONDS wait; close it and run again. {reader_hint}, never on the warehouse"
    )

"""Opening the warehouse: DuckDB connections with Baton's settings, and the lock that lets one
run write at a time (plain code: the Dagster resource in defs/resources.py uses it, and so do
`baton rules diff` and `baton skip`)."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import IO

import duckdb

from baton.lib import settings
from baton.lib.preflight import WarehouseLocked, is_lock_error, lock_holder, locked_message

log = logging.getLogger(__name__)


def connect(path: str | Path, read_only: bool = False, deadline: float | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with Baton's session settings (UTC; optional memory/thread/temp limits).

    While another process holds DuckDB's file lock it waits, until `deadline`
    (time.monotonic(); default: BATON_LOCK_WAIT_SECONDS from now), then raises
    WarehouseLocked naming the holder.
    """
    if deadline is None:
        deadline = time.monotonic() + settings.lock_wait_seconds()
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if not is_lock_error(error):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(locked_message(Path(path), error, settings.serving_path())) from None
            log.warning(f"{path} is held open by {lock_holder(error)}; waiting for it")
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    conn.execute("SET TimeZone = 'UTC'")
    for setting, env_var in (
        ("memory_limit", "BATON_DUCKDB_MEMORY_LIMIT"),
        ("threads", "BATON_DUCKDB_THREADS"),
        ("temp_directory", "BATON_DUCKDB_TEMP_DIR"),
    ):
        value = os.environ.get(env_var)
        if value:
            conn.execute(f"SET {setting} = ?", [value])
    return conn


@contextmanager
def exclusive_lock(lock_path: Path, waiting_message: str, poll_seconds: float = 1.0) -> Iterator[IO[str]]:
    """Hold an exclusive advisory lock on `lock_path`, waiting (and saying so) while another process has it.
    The kernel releases it when the holder dies, so a killed run never leaves it stuck."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+")
    try:
        announced = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not announced:
                    log.warning(waiting_message)
                    announced = True
                time.sleep(poll_seconds)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield handle
    finally:
        handle.close()


def writer_lock(warehouse: Path) -> AbstractContextManager[IO[str]]:
    """The lock every writer of `warehouse` holds (a run, `baton rules diff`, `baton skip`):
    `<warehouse>.lock`, waited for while another holds it."""
    return exclusive_lock(Path(f"{warehouse}.lock"), f"a Baton run is writing {warehouse}; waiting for it to finish")

"""The warehouse resource: DuckDB connections, and one writer at a time.

DuckDB lets a single process write a database file. Every Baton run (the
nightly schedule, a run launched from the UI, `baton run`) takes an exclusive
lock on `<warehouse>.lock` when its first step starts and keeps it until the
run ends, so a second run waits for the first instead of failing on DuckDB's
file lock halfway through.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import dagster as dg
import duckdb
from pydantic import PrivateAttr

log = logging.getLogger(__name__)


def connect(path: str | Path, read_only: bool = False, lock_wait_seconds: float = 300.0) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with Baton's session settings (UTC; optional memory/thread/temp limits).

    Waits while another process holds DuckDB's file lock: after a crash an
    orphaned dbt process may still be finishing its statement.
    """
    deadline = time.monotonic() + lock_wait_seconds
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            log.warning(f"{path} is locked by another process; retrying ({error})")
            time.sleep(1.0)
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


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file; holds the single-writer lock for the whole run."""

    database: str

    _lock: object = PrivateAttr(default=None)

    @property
    def lock_path(self) -> Path:
        return Path(self.database + ".lock")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._lock = exclusive_lock(self.lock_path, f"another Baton run is writing {self.database}; waiting for it to finish")
        self._lock.__enter__()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = connect(self.database)
        try:
            yield conn
        finally:
            conn.close()

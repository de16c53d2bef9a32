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

from . import settings
from .preflight import SettingsError, WarehouseLocked, check_paths, is_lock_error, lock_holder, locked_message, wait_for_warehouse

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


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file; holds the single-writer lock for the whole run.

    Before the first step writes anything it checks the paths (preflight.py)
    and waits for any other process holding DuckDB's file lock; every
    connection of the run then shares one bounded wait (BATON_LOCK_WAIT_SECONDS
    in total, not per step), after which the step fails naming the holder.
    """

    database: str

    _lock: object = PrivateAttr(default=None)
    _deadline: float | None = PrivateAttr(default=None)

    @property
    def lock_path(self) -> Path:
        return Path(self.database + ".lock")

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            check_paths(settings.landing_dir(), Path(self.database), settings.serving_path())
        except SettingsError as error:
            raise dg.Failure(description=str(error)) from None
        self._lock = exclusive_lock(self.lock_path, f"another Baton run is writing {self.database}; waiting for it to finish")
        self._lock.__enter__()
        self._deadline = time.monotonic() + settings.lock_wait_seconds()
        try:
            wait_for_warehouse(Path(self.database), self._deadline, settings.serving_path(), context.log.warning)
        except WarehouseLocked as error:
            raise dg.Failure(description=str(error)) from None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None

    def wait_until_free(self) -> None:
        """Wait (within the run's budget) until no other process holds the warehouse: dbt
        fails at once on DuckDB's lock instead of waiting."""
        try:
            wait_for_warehouse(Path(self.database), self._run_deadline(), settings.serving_path(), log.warning)
        except WarehouseLocked as error:
            raise dg.Failure(description=str(error)) from None

    def _run_deadline(self) -> float:
        if self._deadline is None:
            self._deadline = time.monotonic() + settings.lock_wait_seconds()
        return self._deadline

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            conn = connect(self.database, deadline=self._run_deadline())
        except WarehouseLocked as error:
            raise dg.Failure(description=str(error)) from None
        try:
            yield conn
        finally:
            conn.close()

"""The warehouse as a Dagster resource: one writer at a time (lib/warehouse.py opens it).

DuckDB lets a single process write a database file. Every Baton run (the
nightly schedule, a run launched from the UI, `baton run`) takes an exclusive
lock on `<warehouse>.lock` when its first step starts and keeps it until the
run ends, so a second run waits for the first instead of failing on DuckDB's
file lock halfway through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from baton.lib import settings
from baton.lib.preflight import SettingsError, WarehouseLocked, check_paths, wait_for_warehouse
from baton.lib.extract.mappings import MappingError, load_mappings
from baton.lib.warehouse import connect, writer_lock

log = logging.getLogger(__name__)


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

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        try:
            check_paths(settings.landing_dir(), Path(self.database), settings.serving_path())
            # a bad mapping file stops the run before any asset writes (CONTRACT s8)
            load_mappings(settings.landing_dir(), settings.mappings_dir())
        except (SettingsError, MappingError) as error:
            raise dg.Failure(description=str(error)) from None
        self._lock = writer_lock(Path(self.database))
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

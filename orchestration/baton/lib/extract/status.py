"""What the last run found in the landing folder, file by file (`audit.landing_status`).

The ledger is history: one row per file version ever seen. This table is the
present: each entity's files as the latest extract saw them, so the serving
step and the run summary can tell whether tonight's landing folder loaded
whole. A file that failed stays `failed` here every night until it is fixed,
removed or skipped (`baton skip`).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from baton.lib.extract.loader import FileLoad

# Statuses that mean the landing folder did not load whole: the serving copy is not replaced.
BLOCKING_STATUSES = ("failed", "error")
# Statuses a person should hear about in the run summary.
REPORTED_STATUSES = (*BLOCKING_STATUSES, "deferred", "ignored")


def record_landing_status(conn: duckdb.DuckDBPyConnection, entity: str, loads: Iterable[FileLoad]) -> None:
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS audit.landing_status (
            entity VARCHAR NOT NULL, file_path VARCHAR NOT NULL, status VARCHAR NOT NULL,
            reason VARCHAR, checked_at TIMESTAMP NOT NULL
        )
        """
    )
    conn.execute("BEGIN TRANSACTION")
    conn.execute("DELETE FROM audit.landing_status WHERE entity = ?", [entity])
    rows = [(entity, load.path, load.status, load.reason) for load in loads]
    if rows:
        conn.executemany(
            "INSERT INTO audit.landing_status VALUES (?, ?, ?, ?, now()::TIMESTAMP)", rows
        )
    conn.execute("COMMIT")


def blocking_problems(conn: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str | None]]:
    """(entity, file path, status, reason) of the files that failed or hit an error in the last extract."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'audit' AND table_name = 'landing_status'"
    ).fetchone()[0]
    if not exists:
        return []
    return conn.execute(
        "SELECT entity, file_path, status, reason FROM audit.landing_status WHERE status IN (SELECT unnest(?)) ORDER BY entity, file_path",
        [list(BLOCKING_STATUSES)],
    ).fetchall()

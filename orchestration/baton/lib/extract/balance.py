"""Nothing lost: every file's rows read = rows loaded + rows quarantined, checked
against what is actually stored (not just the ledger's own arithmetic): the rows
`raw.<entity>` reads from the file's Parquet folder in the lake (lake.py; a loaded
file whose folder is gone counts 0 stored rows) and its rows in audit.quarantine."""

from __future__ import annotations

import duckdb

from baton.lib.extract.entities import ENTITIES


def rows_balance_problems(conn: duckdb.DuckDBPyConnection, entity: str) -> list[str]:
    if entity not in ENTITIES:
        raise KeyError(entity)
    rows = conn.execute(
        f"""
        WITH stored AS (SELECT _file_id AS file_id, count(*) AS n FROM raw.{entity} GROUP BY ALL),
             quarantined AS (SELECT file_id, count(*) AS n FROM audit.quarantine WHERE entity = ? GROUP BY ALL)
        SELECT ledger.file_path, ledger.rows_read, ledger.rows_loaded, ledger.rows_quarantined,
               coalesce(stored.n, 0), coalesce(quarantined.n, 0)
        FROM audit.load_ledger AS ledger
        LEFT JOIN stored USING (file_id)
        LEFT JOIN quarantined USING (file_id)
        WHERE ledger.entity = ?
          AND (ledger.rows_read <> ledger.rows_loaded + ledger.rows_quarantined
               OR coalesce(stored.n, 0) <> ledger.rows_loaded
               OR coalesce(quarantined.n, 0) <> ledger.rows_quarantined)
        ORDER BY ledger.file_id
        """,
        [entity, entity],
    ).fetchall()
    return [
        f"{path}: read {read}, ledger says loaded {loaded} + quarantined {quarantined}, "
        f"stored {stored} in raw + {in_quarantine} in quarantine"
        for path, read, loaded, quarantined, stored, in_quarantine in rows
    ]

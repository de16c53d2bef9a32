"""Landing freshness: has a new export file arrived recently?

A nightly export that silently stops is the quiet failure of a pipeline like
this one: every run succeeds and the numbers slowly go stale. The check warns
when an entity's newest loaded file is older than BATON_FRESHNESS_DAYS days.
"""

from __future__ import annotations

import datetime as dt
import os

import duckdb

DEFAULT_FRESHNESS_DAYS = 2.0


def freshness_days() -> float:
    value = os.environ.get("BATON_FRESHNESS_DAYS")
    return float(value) if value else DEFAULT_FRESHNESS_DAYS


def newest_file_age_days(conn: duckdb.DuckDBPyConnection, entity: str, now: dt.datetime) -> float | None:
    """Days since the entity's newest successfully loaded file; None when none ever was."""
    newest = conn.execute(
        "SELECT max(loaded_at) FROM audit.load_ledger WHERE entity = ? AND status = 'loaded'", [entity]
    ).fetchone()[0]
    if newest is None:
        return None
    return (now - newest).total_seconds() / 86400

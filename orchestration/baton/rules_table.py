"""The validated rules as the one-row table `config.rules` that dbt models read.

Values travel as bound parameters, never formatted into SQL text, so an
industry named `'; DROP TABLE x` is just an industry.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from .rules import Rules

COLUMN_TYPES = {
    "rules_version": "VARCHAR",
    "rules_path": "VARCHAR",
    "as_of_date": "DATE",
    "sal_rules": "VARCHAR[]",
    "finance_job_function": "VARCHAR",
    "job_function_names": "VARCHAR[]",
    "job_function_keywords": "VARCHAR[][]",
    "company_size_min_exclusive": "DOUBLE",
    "company_size_max_inclusive": "DOUBLE",
    "industries": "VARCHAR[]",
    "marketing_sources_include": "VARCHAR[]",
    "marketing_sources_exclude": "VARCHAR[]",
    "influence_lookback_days": "DOUBLE",
    "time_decay_half_life_days": "DOUBLE",
    "abm_window_days": "INTEGER",
    "undetermined_share_max": "DOUBLE",
}


def write_rules_table(conn: duckdb.DuckDBPyConnection, rules: Rules, as_of: dt.date) -> None:
    row = rules.as_config_row(as_of)
    if set(row) != set(COLUMN_TYPES):
        raise RuntimeError(f"config.rules columns out of step with Rules.as_config_row: {sorted(set(row) ^ set(COLUMN_TYPES))}")
    columns = ", ".join(f"{name} {sql_type}" for name, sql_type in COLUMN_TYPES.items())
    placeholders = ", ".join(f"CAST(? AS {sql_type})" for sql_type in COLUMN_TYPES.values())
    conn.execute("BEGIN TRANSACTION")
    conn.execute("CREATE SCHEMA IF NOT EXISTS config")
    conn.execute(f"CREATE OR REPLACE TABLE config.rules ({columns})")
    conn.execute(f"INSERT INTO config.rules VALUES ({placeholders})", [row[name] for name in COLUMN_TYPES])
    conn.execute("COMMIT")

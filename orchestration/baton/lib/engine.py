"""The engine that builds the models: DuckDB (the embedded default) or Spark (docs/scale-out.md).

`BATON_ENGINE=duckdb|spark` is the one setting. It picks the dbt target the
models are built with; everything else of Baton (the extract step, the load
ledger, the checks, the serving copy, the report) stays in the DuckDB
warehouse file. On Spark:

- before dbt: `prepare_spark_inputs(conn)` writes what Spark reads besides the
  raw Parquet lake (`<warehouse folder>/raw/<entity>/file_id=<n>/*.parquet`,
  written by the extract step): the run's `config.rules` row as Parquet under
  `<warehouse folder>/config/rules/`. dbt's on-run-start hook
  (`register_lake_tables`, dbt_project/macros/cross_db.sql) names both as
  Spark tables.
- after dbt: `publish_spark_marts(conn)` copies the marts Spark wrote (Parquet
  under `<warehouse folder>/spark/warehouse/marts.db/`, or BATON_SPARK_MARTS_DIR)
  into the warehouse file's `marts` schema, the tables the serving copy,
  metrics, checks and report read. The copy is value for value (Parquet keeps
  every type the marts use).

Plain Python: nothing here imports Dagster or pyspark (DuckDB needs neither).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import duckdb

from baton.lib import settings
from baton.lib.extract import lake

ENGINES = ("duckdb", "spark")
DEFAULT_ENGINE = "duckdb"
# dbt targets of dbt_project/profiles.yml
DUCKDB_TARGET = "default"
SPARK_TARGET = "spark"
SPARK_TARGETS = ("spark", "spark_thrift", "databricks")


class EngineError(ValueError):
    """BATON_ENGINE (or a Spark setting) names something Baton cannot use."""


def engine() -> str:
    """`duckdb` (default) or `spark`, from BATON_ENGINE; anything else is an error."""
    value = os.environ.get("BATON_ENGINE", "").strip().lower() or DEFAULT_ENGINE
    if value not in ENGINES:
        raise EngineError(f"BATON_ENGINE must be one of {', '.join(ENGINES)} (default {DEFAULT_ENGINE}), got {value!r}")
    return value


def is_spark() -> bool:
    return engine() == "spark"


def dbt_target() -> str:
    """The dbt target (profiles.yml output) the models are built with: `default` on
    DuckDB; on Spark `spark` (a local session), or the cluster output BATON_DBT_TARGET names."""
    if not is_spark():
        return DUCKDB_TARGET
    target = os.environ.get("BATON_DBT_TARGET", "").strip() or SPARK_TARGET
    if target not in SPARK_TARGETS:
        raise EngineError(f"BATON_DBT_TARGET must be one of {', '.join(SPARK_TARGETS)} with BATON_ENGINE=spark, got {target!r}")
    return target


def lake_dir() -> Path | str:
    """The warehouse folder (the lake's root: raw/, config/) as Spark sees it, where the
    local session also keeps its tables: BATON_LAKE_DIR (a path, or a URL a cluster reads,
    e.g. s3a://bucket/baton), else the warehouse folder itself. Baton writes through its own
    path; only dbt on Spark reads through this one."""
    value = os.environ.get("BATON_LAKE_DIR", "").strip()
    if not value:
        return settings.duckdb_path().parent
    return value if "://" in value else Path(value).resolve()


def dbt_environment() -> dict[str, str]:
    """Variables dbt needs beside Baton's own (profiles.yml, the on-run-start hook)."""
    return {"BATON_LAKE_DIR": str(lake_dir())} if is_spark() else {}


def pin_engine_environment() -> None:
    """Put `dbt_environment()` into os.environ (dbt, run by dagster-dbt, inherits it)."""
    engine()  # a wrong BATON_ENGINE fails here, before anything runs
    os.environ.update(dbt_environment())


def missing_requirements() -> list[str]:
    """What this machine lacks to build on the chosen engine (nothing for DuckDB)."""
    if not is_spark():
        return []
    missing = []
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        missing.append('pyspark and dbt-spark: pip install -e ".[spark]"')
    elif dbt_target() != SPARK_TARGET and importlib.util.find_spec("pyhive") is None:
        missing.append(f'PyHive, which dbt-spark uses for the {dbt_target()} target: pip install -e ".[spark]"')
    if dbt_target() == SPARK_TARGET and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("Java 17 (a local Spark session runs in a JVM): java is not on PATH and JAVA_HOME is unset")
    try:
        spark_marts_dir()  # checked before the build, not when publishing after it
    except EngineError as error:
        missing.append(f"BATON_SPARK_MARTS_DIR: {error}")
    return missing


def check_requirements() -> None:
    missing = missing_requirements()
    if missing:
        raise EngineError("BATON_ENGINE=spark needs " + "; ".join(missing))


# ------------------------------------------------------------------ inputs of Spark


def write_rules_parquet(conn: duckdb.DuckDBPyConnection, folder: Path | None = None) -> Path:
    """The run's `config.rules` (one row, written by the config/rules asset) as
    `<lake>/config/rules/rules.parquet`, for Spark. Replaces the previous run's."""
    target = (folder or lake.root(conn)) / "config" / "rules"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    path = target / "rules.parquet"
    conn.execute(f"COPY (SELECT * FROM config.rules) TO '{_sql_path(path)}' (FORMAT parquet)")
    return path


def write_empty_entities(conn: duckdb.DuckDBPyConnection, folder: Path | None = None) -> list[str]:
    """Spark cannot declare a table over a folder without a Parquet file: an entity with no
    loaded file yet (an optional one, say) gets one empty file carrying its columns, under
    `file_id=0`, an id no load uses (the DuckDB view reads loaded ids only, and the next
    extract sweeps it). Returns those entities."""
    root = (folder or lake.root(conn)) / "raw"
    written = []
    for (entity,) in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' ORDER BY 1"
    ).fetchall():
        target = root / entity
        if any(target.glob("file_id=*/*.parquet")):
            continue
        (target / "file_id=0").mkdir(parents=True, exist_ok=True)
        conn.execute(
            f"COPY (SELECT * FROM raw.{entity} LIMIT 0) TO '{_sql_path(target / 'file_id=0' / 'part-0.parquet')}' (FORMAT parquet)"
        )
        written.append(entity)
    return written


def prepare_spark_inputs(conn: duckdb.DuckDBPyConnection) -> None:
    """Before `dbt build` on Spark: config/rules as Parquet beside the raw lake the extract
    wrote, and an empty file for each entity with no loaded file yet."""
    write_rules_parquet(conn)
    write_empty_entities(conn)


# ------------------------------------------------------------------ the marts Spark built


def spark_marts_dir() -> Path:
    """The folder of the marts' Parquet tables, as this machine reads them: BATON_SPARK_MARTS_DIR,
    else the local session's `<BATON_LAKE_DIR>/spark/warehouse/marts.db`."""
    value = os.environ.get("BATON_SPARK_MARTS_DIR", "").strip()
    if value:
        return Path(value).resolve()
    seen_by_spark = lake_dir()
    if isinstance(seen_by_spark, str):
        raise EngineError(
            f"BATON_LAKE_DIR is a URL ({seen_by_spark}): set BATON_SPARK_MARTS_DIR to the folder "
            "of Spark's `marts` database as this machine reads it (a mount of the bucket)"
        )
    return seen_by_spark / "spark" / "warehouse" / "marts.db"


def mart_names(manifest: dict | None = None) -> list[str]:
    """The models of the `marts` schema, from the dbt manifest."""
    if manifest is None:
        manifest = json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))
    return sorted(
        node["alias"] or node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    )


def read_marts_sql(name: str, folder: Path | None = None) -> str:
    """A DuckDB query of one mart as Spark wrote it."""
    return f"SELECT * FROM {spark_table_sql('marts', name, folder)}"


def spark_table_sql(schema: str, name: str, marts_folder: Path | None = None) -> str:
    """A DuckDB table expression reading one table Spark built, from its Parquet files:
    `<schema>.db/<name>/` beside the marts' folder (Spark keeps every database of its
    warehouse under one folder)."""
    marts = marts_folder or spark_marts_dir()
    table = (marts if schema == "marts" else marts.parent / f"{schema}.db") / name
    if not table.is_dir():
        raise EngineError(f"no table {schema}.{name} from Spark at {table} (did dbt build on Spark run?)")
    return f"read_parquet('{_sql_path(table)}/*.parquet')"


def publish_spark_marts(conn: duckdb.DuckDBPyConnection, names: list[str] | None = None, folder: Path | None = None) -> list[str]:
    """Copy the marts Spark built into the warehouse file's `marts` schema (one
    transaction: readers see last night's marts or tonight's, never a mix)."""
    names = names if names is not None else mart_names()
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts")
        for name in names:
            conn.execute(f"CREATE OR REPLACE TABLE marts.{name} AS {read_marts_sql(name, folder)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return names


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")

"""Choosing the engine (baton.lib.engine, docs/scale-out.md): one setting, checked
before anything runs. The builds on Spark themselves are tests/test_spark.py."""

from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path

import pytest

from baton.lib import engine
from conftest import baton_env, run_baton


@pytest.fixture(autouse=True)
def _no_engine_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATON_ENGINE", "BATON_DBT_TARGET", "BATON_LAKE_DIR", "BATON_SPARK_MARTS_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_duckdb_is_the_default_and_needs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # not even pyspark
    assert (engine.engine(), engine.dbt_target(), engine.missing_requirements()) == ("duckdb", "default", [])
    assert engine.dbt_environment() == {}


@pytest.mark.parametrize(
    ("settings", "target"),
    [
        ({"BATON_ENGINE": "spark"}, "spark"),
        ({"BATON_ENGINE": " Spark "}, "spark"),
        ({"BATON_ENGINE": "spark", "BATON_DBT_TARGET": "spark_thrift"}, "spark_thrift"),
        ({"BATON_ENGINE": "spark", "BATON_DBT_TARGET": "databricks"}, "databricks"),
        ({"BATON_ENGINE": "duckdb", "BATON_DBT_TARGET": "spark_thrift"}, "default"),  # the target is for Spark only
    ],
)
def test_one_setting_picks_the_dbt_target(monkeypatch: pytest.MonkeyPatch, settings: dict, target: str) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert engine.dbt_target() == target


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"BATON_ENGINE": "snowflake"}, "BATON_ENGINE must be one of duckdb, spark (default duckdb), got 'snowflake'"),
        ({"BATON_ENGINE": "spark", "BATON_DBT_TARGET": "default"}, "BATON_DBT_TARGET must be one of spark, spark_thrift, databricks"),
    ],
)
def test_a_wrong_setting_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch, settings: dict, message: str) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(engine.EngineError, match=message.replace("(", r"\(").replace(")", r"\)")):
        engine.dbt_target()


def test_spark_names_each_missing_requirement(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_ENGINE", "spark")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert engine.missing_requirements() == [
        'pyspark and dbt-spark: pip install -e ".[spark]"',
        "Java 17 (a local Spark session runs in a JVM): java is not on PATH and JAVA_HOME is unset",
    ]
    # a cluster runs its own JVM; its targets need PyHive instead
    monkeypatch.setenv("BATON_DBT_TARGET", "spark_thrift")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "pyhive" else object())
    assert engine.missing_requirements() == ['PyHive, which dbt-spark uses for the spark_thrift target: pip install -e ".[spark]"']
    with pytest.raises(engine.EngineError, match="BATON_ENGINE=spark needs PyHive"):
        engine.check_requirements()


def test_baton_run_with_a_wrong_engine_stops_before_writing_anything(tmp_path: Path) -> None:
    env = baton_env(tmp_path / "home", BATON_ENGINE="postgres", BATON_DUCKDB_PATH=str(tmp_path / "w" / "warehouse.duckdb"))
    completed = run_baton(env)
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "BATON_ENGINE must be one of duckdb, spark" in completed.stderr and "nothing was written" in completed.stderr
    assert not (tmp_path / "w").exists()


def test_spark_tables_are_read_from_the_folders_of_sparks_warehouse(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BATON_ENGINE", "spark")
    monkeypatch.setenv("BATON_LAKE_DIR", str(tmp_path))
    warehouse = tmp_path / "spark" / "warehouse"
    (warehouse / "marts.db" / "fct_leads").mkdir(parents=True)
    (warehouse / "intermediate.db" / "int_persons").mkdir(parents=True)
    assert engine.spark_table_sql("marts", "fct_leads") == f"read_parquet('{warehouse}/marts.db/fct_leads/*.parquet')"
    assert engine.spark_table_sql("intermediate", "int_persons") == f"read_parquet('{warehouse}/intermediate.db/int_persons/*.parquet')"
    with pytest.raises(engine.EngineError, match=r"no table intermediate\.int_lead_changes from Spark at .*did dbt build on Spark run\?"):
        engine.spark_table_sql("intermediate", "int_lead_changes")
    # a cluster's marts, mounted elsewhere: the other databases are beside them
    monkeypatch.setenv("BATON_SPARK_MARTS_DIR", str(tmp_path / "mount" / "marts.db"))
    (tmp_path / "mount" / "intermediate.db" / "int_persons").mkdir(parents=True)
    assert engine.spark_table_sql("intermediate", "int_persons") == f"read_parquet('{tmp_path}/mount/intermediate.db/int_persons/*.parquet')"


def test_spark_reads_the_lake_through_its_url_baton_writes_it_through_its_own_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A cluster sees the warehouse folder at a URL (BATON_LAKE_DIR=s3a://...): dbt is told that
    URL, while Baton writes config/rules and the empty entity files into the lake it keeps
    (the warehouse folder), and reads the marts from BATON_SPARK_MARTS_DIR, which must be set."""
    import duckdb

    from baton.lib.extract.loader import ensure_warehouse

    monkeypatch.setenv("BATON_ENGINE", "spark")
    monkeypatch.setenv("BATON_LAKE_DIR", "s3a://bucket/baton")
    assert engine.dbt_environment() == {"BATON_LAKE_DIR": "s3a://bucket/baton"}
    with pytest.raises(engine.EngineError, match="BATON_LAKE_DIR is a URL .*set BATON_SPARK_MARTS_DIR"):
        engine.spark_marts_dir()
    # said before anything runs, not after the build when publishing
    with pytest.raises(engine.EngineError, match="needs BATON_SPARK_MARTS_DIR: BATON_LAKE_DIR is a URL .*set BATON_SPARK_MARTS_DIR"):
        engine.check_requirements()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as conn:
        ensure_warehouse(conn)
        conn.execute("CREATE SCHEMA config")
        conn.execute("CREATE TABLE config.rules AS SELECT 'icp-1' AS version, DATE '2026-11-15' AS as_of_date")
        engine.prepare_spark_inputs(conn)
        assert conn.execute(f"SELECT * FROM '{tmp_path}/config/rules/rules.parquet'").fetchall() == [
            ("icp-1", datetime.date(2026, 11, 15))
        ]
        # no file loaded yet: one empty file per entity, carrying its columns, so Spark can declare the table
        leads = tmp_path / "raw" / "leads" / "file_id=0" / "part-0.parquet"
        assert conn.execute(f"SELECT count(*) FROM '{leads}'").fetchone() == (0,)
        assert [c[0] for c in conn.execute(f"DESCRIBE SELECT * FROM read_parquet('{leads}', hive_partitioning = false)").fetchall()] == [
            c[0] for c in conn.execute("DESCRIBE raw.leads").fetchall()
        ]
    monkeypatch.setenv("BATON_SPARK_MARTS_DIR", str(tmp_path / "mount" / "marts.db"))
    assert engine.spark_marts_dir() == tmp_path / "mount" / "marts.db"


@pytest.mark.slow
def test_baton_run_on_duckdb_needs_neither_java_nor_pyspark(tmp_path: Path) -> None:
    """The shipped sample builds with no java on PATH, no JAVA_HOME, and a pyspark and a
    PyHive that fail when imported (the test environment has the real ones installed)."""
    import sys

    poisoned = tmp_path / "poisoned"
    for package in ("pyspark", "pyhive"):
        (poisoned / package).mkdir(parents=True)
        (poisoned / package / "__init__.py").write_text(f"raise ImportError('{package} was imported by a DuckDB run')\n")
    env = baton_env(tmp_path, PYTHONPATH=str(poisoned), PATH=str(Path(sys.executable).parent))
    env.pop("JAVA_HOME", None)
    completed = run_baton(env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    assert "succeeded" in completed.stdout + completed.stderr

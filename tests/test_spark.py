"""The same models on Spark give the same marts as on DuckDB (docs/scale-out.md).

For the shipped sample and for one generated landing (`baton generate --leads 500`):
`baton run` builds the warehouse on DuckDB (the default engine); then the same
dbt project is built on Spark (`dbt build --target spark`, a local session)
from the same raw Parquet lake and config/rules, and the marts Spark wrote are
compared with DuckDB's, value for value: every column of every mart has the
same type and every value the same bits (a DOUBLE by its IEEE 754 pattern),
but for the time-decay attribution columns, which may differ in their last
bits (see TOLERANT_COLUMNS). On the sample the build includes every data test
and unit test, so they run on Spark too.

Needs the `spark` extra and Java 17 (`pip install -e ".[dev,spark]"`;
scripts/test.sh installs both extras). Without them this test FAILS, saying
what is missing: it is never skipped.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import REPO_ROOT, baton_env, run_baton
from marts_hash import encode_row, encode_value

pytestmark = pytest.mark.slow

DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))

# 2^(-d/h), the time_decay model's raw weight, is `pow`: DuckDB calls the C
# library's, Spark Java's StrictMath.pow (fdlibm). Neither is correctly rounded
# in every case, and they disagree in the last bit for some arguments (measured:
# 42 of 400 touch weights on the sample, each 1 ulp apart). Every value computed
# from them (the weights, the credited amounts, their sums per campaign) may
# then differ by a few ulps. Everything else is IEEE arithmetic (+ - * / and
# the ascending-order sums of fixed_order_sum), which both engines round alike:
# bit for bit.
TOLERANT_COLUMNS = ("time_decay",)
MAX_ULPS = 16


def _require_spark() -> None:
    missing = []
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        missing.append('pyspark and dbt-spark (pip install -e ".[dev,spark]")')
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("Java 17 (java on PATH or JAVA_HOME)")
    if missing:
        pytest.fail("the Spark engine test needs " + " and ".join(missing) + ": it is not skipped", pytrace=False)


def _build_on_spark(warehouse: Path, env: dict[str, str], *, unit_tests: bool) -> Path:
    """dbt build on a local Spark session over the warehouse's lake; the marts
    Spark wrote, copied into a DuckDB file of their own."""
    spark_env = {**env, "BATON_ENGINE": "spark", "BATON_DUCKDB_PATH": str(warehouse), "BATON_LAKE_DIR": str(warehouse.parent)}
    prepare = subprocess.run(
        [sys.executable, "-c", "import duckdb, sys; from baton.lib import engine; "
         "conn = duckdb.connect(sys.argv[1]); engine.prepare_spark_inputs(conn); conn.close()", str(warehouse)],
        env=spark_env, capture_output=True, text=True, timeout=300,
    )
    assert prepare.returncode == 0, prepare.stderr[-3000:]
    target_path = warehouse.parent / "dbt-target-spark"
    command = [DBT, "build", "--target", "spark", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
               "--target-path", str(target_path), "--log-path", str(warehouse.parent / "logs")]
    if not unit_tests:
        command += ["--exclude", "resource_type:unit_test"]
    build = subprocess.run(command, env=spark_env, cwd=DBT_PROJECT, capture_output=True, text=True, timeout=1800)
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-3000:]
    assert " ERROR=0 " in build.stdout and " SKIP=0 " in build.stdout, build.stdout[-3000:]
    marts = warehouse.parent / "spark_marts.duckdb"
    publish = subprocess.run(
        [sys.executable, "-c", "import duckdb, json, sys; from baton.lib import engine; "
         "manifest = json.load(open(sys.argv[2])); conn = duckdb.connect(sys.argv[1]); "
         "print(engine.publish_spark_marts(conn, engine.mart_names(manifest))); conn.close()",
         str(marts), str(target_path / "manifest.json")],
        env=spark_env, capture_output=True, text=True, timeout=300,
    )
    assert publish.returncode == 0, publish.stderr[-3000:]
    return marts


def _ulps_apart(a: float, b: float) -> int:
    def ordered(x: float) -> int:
        bits = struct.unpack(">q", struct.pack(">d", x))[0]
        return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF)
    return abs(ordered(a) - ordered(b))


def _assert_same_marts(duckdb_warehouse: Path, spark_marts: Path) -> dict[str, int]:
    """Every mart: the same columns and types, the same rows; bit-identical values
    but in TOLERANT_COLUMNS (at most MAX_ULPS apart). Returns the number of values
    that differ at all, per mart, for the failure message and the docs."""
    differing: dict[str, int] = {}
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as left, duckdb.connect(str(spark_marts), read_only=True) as right:
        tables = [name for (name,) in left.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
        assert tables and tables == [name for (name,) in right.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1").fetchall()]
        for table in tables:
            schema = [left.execute(f"DESCRIBE marts.{table}").fetchall(), right.execute(f"DESCRIBE marts.{table}").fetchall()]
            assert [row[:2] for row in schema[0]] == [row[:2] for row in schema[1]], f"{table}: columns or types differ"
            columns = [row[0] for row in schema[0]]
            exact = [i for i, name in enumerate(columns) if not any(part in name for part in TOLERANT_COLUMNS)]
            tolerant = [i for i in range(len(columns)) if i not in exact]
            sides = []
            for conn in (left, right):
                rows = conn.execute(f"SELECT * FROM marts.{table}").fetchall()
                sides.append(sorted(rows, key=lambda row: encode_row(row[i] for i in exact)))
            assert len(sides[0]) == len(sides[1]), f"{table}: {len(sides[0])} rows on DuckDB, {len(sides[1])} on Spark"
            count = 0
            for duck_row, spark_row in zip(*sides):
                assert encode_row(duck_row[i] for i in exact) == encode_row(spark_row[i] for i in exact), (
                    f"{table}: a row differs\n  DuckDB {duck_row}\n  Spark  {spark_row}")
                for i in tolerant:
                    a, b = duck_row[i], spark_row[i]
                    if encode_value(a) == encode_value(b):
                        continue
                    count += 1
                    assert isinstance(a, float) and isinstance(b, float) and _ulps_apart(a, b) <= MAX_ULPS, (
                        f"{table}.{columns[i]}: {a!r} ({a.hex() if isinstance(a, float) else a}) on DuckDB, "
                        f"{b!r} ({b.hex() if isinstance(b, float) else b}) on Spark")
            differing[table] = count
    return differing


def test_the_sample_builds_the_same_marts_on_spark_as_on_duckdb(tmp_path: Path) -> None:
    _require_spark()
    env = baton_env(tmp_path)
    completed = run_baton(env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    spark_marts = _build_on_spark(warehouse, env, unit_tests=True)
    differing = _assert_same_marts(warehouse, spark_marts)
    print(f"values within {MAX_ULPS} ulps but not bit-identical: {differing}")


def test_a_generated_landing_builds_the_same_marts_on_spark_as_on_duckdb(tmp_path: Path) -> None:
    _require_spark()
    landing = tmp_path / "landing"
    env = baton_env(tmp_path, BATON_LANDING_DIR=str(landing))
    generated = run_baton(env, "generate", str(landing), "--leads", "500")
    assert generated.returncode == 0, generated.stderr[-3000:]
    completed = run_baton(env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    spark_marts = _build_on_spark(warehouse, env, unit_tests=False)
    differing = _assert_same_marts(warehouse, spark_marts)
    print(f"values within {MAX_ULPS} ulps but not bit-identical: {differing}")

"""The same models on Spark give the same marts as on DuckDB (docs/scale-out.md).

Each test runs `baton run` twice on the same landing folder, once on each
engine (BATON_ENGINE=duckdb, the default, and BATON_ENGINE=spark), into two
warehouses, and compares their marts value for value: every mart has the same
columns and types and the same rows, every DOUBLE with the same bits
(tests/marts_hash.py). The marts of the Spark run are those Spark built and
`baton run` published into its warehouse file, so the whole user path is
tested: the extract into the Parquet lake, dbt on Spark, publishing, the
serving copy and the report.

- the shipped sample on a local Spark session (the `spark` dbt target), then
  every dbt unit test of the project on Spark, then the what-if
  (`baton rules diff`) on the Spark build;
- a generated landing (500 leads) through a Spark Thrift server, the way a
  cluster is reached (the `spark_thrift` target; the server is pyspark's own,
  started here), over two nights: a full build without the optional entities
  and with a row to quarantine, then a nightly drop that brings them;
- the time-decay weights' 2^x (macros/exp2.sql) on 70,000 arguments in a Spark
  session and in DuckDB: the same bits.

Needs the `spark` extra and Java 17 (`pip install -e ".[dev,spark]"`;
scripts/test.sh installs both extras). Without them these tests FAIL, saying
what is missing: they are never skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import REPO_ROOT, baton_env, run_baton
from marts_hash import assert_same_tables, encode_value, table_digests
from test_exp2 import exp2_in_duckdb, exp2_sql, in_duckdb

pytestmark = pytest.mark.slow

DBT_PROJECT = REPO_ROOT / "dbt_project"
DBT = str(Path(sys.executable).with_name("dbt"))
SAMPLE_RULES = REPO_ROOT / "rules" / "default.yml"


def _require_spark() -> None:
    missing = []
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        missing.append('pyspark and dbt-spark (pip install -e ".[dev,spark]")')
    if importlib.util.find_spec("pyhive") is None:
        missing.append('PyHive, for the thrift target (pip install -e ".[dev,spark]")')
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing.append("Java 17 (java on PATH or JAVA_HOME)")
    if missing:
        pytest.fail("the Spark engine tests need " + " and ".join(missing) + ": they are not skipped", pytrace=False)


def _run(env: dict[str, str], *args: str) -> str:
    completed = run_baton(env, *args)
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    return completed.stdout + completed.stderr


def _assert_same_marts(duckdb_warehouse: Path, spark_warehouse: Path, what: str) -> None:
    duck, spark = table_digests(duckdb_warehouse, "marts"), table_digests(spark_warehouse, "marts")
    assert len(duck) >= 7 and duck["fct_leads"].row_count and duck["fct_deals"].row_count, duck
    assert_same_tables(duck, spark, what)


def test_the_sample_on_a_local_spark_session_equals_duckdb_and_passes_every_unit_test(
    built_warehouse: Path, tmp_path: Path
) -> None:
    _require_spark()
    env = baton_env(tmp_path, BATON_ENGINE="spark")
    output = _run(env)
    warehouse = tmp_path / "warehouse.duckdb"
    assert "dbt build: full" in output
    assert (tmp_path / "spark" / "warehouse" / "marts.db" / "fct_leads").is_dir(), "the marts were not built by Spark"
    _assert_same_marts(built_warehouse, warehouse, "the sample's marts on DuckDB and on Spark")
    # what BI reads: the serving copy is the one a DuckDB build publishes, and the report was written
    assert_same_tables(
        table_digests(built_warehouse.with_name("warehouse.serving.duckdb"), "marts"),
        table_digests(tmp_path / "warehouse.serving.duckdb", "marts"),
        "the serving copies of the DuckDB and the Spark builds",
    )
    assert (tmp_path / "report" / "index.html").is_file()

    # every unit test of the project, on Spark, over the tables the run built
    target = tmp_path / "dbt-target-unit"
    completed = subprocess.run(
        [DBT, "test", "--select", "test_type:unit", "--target", "spark", "--project-dir", str(DBT_PROJECT),
         "--profiles-dir", str(DBT_PROJECT), "--target-path", str(target), "--log-path", str(tmp_path / "logs")],
        env={**env, "BATON_DUCKDB_PATH": str(warehouse), "BATON_LAKE_DIR": str(tmp_path)},
        cwd=DBT_PROJECT, capture_output=True, text=True, timeout=1800,
    )
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    defined = [node for node in json.loads((target / "manifest.json").read_text())["unit_tests"]]
    results = [r for r in json.loads((target / "run_results.json").read_text())["results"] if r["unique_id"].startswith("unit_test.")]
    assert len(defined) > 50 and len(results) == len(defined)
    assert all(r["status"] == "pass" for r in results), [r["unique_id"] for r in results if r["status"] != "pass"]

    # the what-if reads the rule models' inputs from the tables Spark built: the same answer as on DuckDB
    proposed = tmp_path / "proposed.yml"
    proposed.write_text(
        SAMPLE_RULES.read_text(encoding="utf-8").replace("max_inclusive: 10000", "max_inclusive: 5000").replace('"icp-2026.1"', '"icp-proposed"'), encoding="utf-8"
    )
    assert proposed.read_text(encoding="utf-8") != SAMPLE_RULES.read_text(encoding="utf-8")
    on_spark = _run(env, "rules", "diff", str(proposed), "--out", str(tmp_path / "flips-spark.csv"))
    duck_env = baton_env(tmp_path / "duck-whatif", BATON_DUCKDB_PATH=str(built_warehouse))
    on_duckdb = _run(duck_env, "rules", "diff", str(proposed), "--out", str(tmp_path / "flips-duckdb.csv"))
    assert "Leads that flip: 0" not in on_duckdb, on_duckdb
    assert on_spark == on_duckdb.replace("flips-duckdb.csv", "flips-spark.csv")
    assert (tmp_path / "flips-spark.csv").read_bytes() == (tmp_path / "flips-duckdb.csv").read_bytes()


@pytest.fixture
def thrift_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """pyspark's Spark Thrift server (HiveThriftServer2) in local mode, configured as a
    cluster for Baton must be (docs/scale-out.md): UTC, TIMESTAMP_NTZ; its tables under
    `<folder>/spark/warehouse`. Adaptive query execution keeps Spark's default (on), as on
    a cluster; the local session turns it off for a unit test's sake (profiles.yml).
    Yields its port and that folder."""
    import pyspark

    folder = tmp_path / "lake"
    (folder / "spark").mkdir(parents=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spark_home = Path(pyspark.__file__).parent
    log = (tmp_path / "thrift-server.log").open("w")
    server = subprocess.Popen(
        [str(spark_home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
         "--name", "baton-test-thrift", "--master", "local[2]", "--driver-memory", "2g",
         "--conf", "spark.sql.session.timeZone=UTC", "--conf", "spark.sql.timestampType=TIMESTAMP_NTZ",
         "--conf", f"spark.sql.warehouse.dir={folder}/spark/warehouse", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.sql.shuffle.partitions=8",
         "--conf", f"spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName={folder}/spark/metastore_db;create=true",
         "--driver-java-options", f"-Dderby.system.home={folder}/spark",
         "--hiveconf", f"hive.server2.thrift.port={port}", "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
         "spark-internal"],
        env={**os.environ, "SPARK_HOME": str(spark_home)}, cwd=folder / "spark", stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while "HiveThriftServer2 started" not in (tmp_path / "thrift-server.log").read_text(errors="replace"):
            assert server.poll() is None, "the thrift server exited:\n" + (tmp_path / "thrift-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the thrift server did not start in 180 s"
            time.sleep(1)
        yield port, folder
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def test_a_generated_landing_through_a_spark_thrift_server_equals_duckdb_night_after_night(
    tmp_path: Path, thrift_server: tuple[int, Path]
) -> None:
    _require_spark()
    from baton.dev.generate import generate, generate_increment

    port, spark_folder = thrift_server
    generated, landing = tmp_path / "generated", tmp_path / "landing"
    generate(generated, 500, seed=7, progress=lambda _: None)
    generate_increment(generated, 500, 7, "2026-11-01", progress=lambda _: None)
    duck_folder = tmp_path / "duck"
    duck_folder.mkdir()
    duck_env = baton_env(duck_folder, BATON_LANDING_DIR=str(landing))
    spark_env = baton_env(
        spark_folder, BATON_LANDING_DIR=str(landing), BATON_ENGINE="spark", BATON_DBT_TARGET="spark_thrift",
        BATON_SPARK_HOST="127.0.0.1", BATON_SPARK_PORT=str(port),
    )
    # Night 1 has no campaigns and no target accounts yet (optional entities: Spark reads an
    # empty file for each) and a lead row to quarantine; night 2 brings the nightly drop and both.
    optional = ("campaigns", "target_accounts")
    nights = [
        ([p for p in generated.rglob("*_000[12].*") if p.parent.name not in optional], "2026-10-31"),
        ([p for p in generated.rglob("*") if p.is_file() and ("_0003." in p.name or p.parent.name in optional)], "2026-11-01"),
    ]
    for night, (files, as_of) in enumerate(nights, start=1):
        for source in sorted(files):
            target = landing / source.relative_to(generated)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
        if night == 1:
            with (landing / "leads" / "leads_0002.csv").open("a", encoding="utf-8") as leads:
                leads.write("L-BAD,bad@example.com,,,CFO,,,,,,webinar,,not a date\n")
        _run({**duck_env, "BATON_AS_OF": as_of})
        output = _run({**spark_env, "BATON_AS_OF": as_of})
        assert "dbt build: " in output and "published 8 tables" in output
        assert ("quarantined 1" in output) == (night == 1), output[-3000:]
        _assert_same_marts(
            duck_folder / "warehouse.duckdb", spark_folder / "warehouse.duckdb",
            f"night {night}: the marts built on DuckDB and through the Spark Thrift server",
        )
    assert (spark_folder / "spark" / "warehouse" / "marts.db" / "fct_leads").is_dir()


def test_exp2_gives_the_same_bits_on_spark_as_on_duckdb() -> None:
    """The time-decay weights' 2^x: + - * / only, so the same double on both engines
    (pow differs: DuckDB calls the C library's, Spark Java's StrictMath.pow)."""
    _require_spark()
    from pyspark.sql import SparkSession

    rng = random.Random(6)
    xs = [-(rng.randrange(0, 730 * 86_400_000_000) / 86_400_000_000) / 7 for _ in range(50_000)]
    xs += [rng.uniform(-1100, 1023) for _ in range(20_000)] + [float(k) for k in range(-1080, 1024)] + [None, 1023.5, -0.5, 0.5]
    spark = (
        SparkSession.builder.master("local[2]").appName("baton-exp2")
        .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").getOrCreate()
    )
    try:
        frame = spark.createDataFrame(list(enumerate(xs)), "i bigint, x double")
        frame.createOrReplaceTempView("t")
        rows = spark.sql(f"SELECT i, {exp2_sql('x')} AS y, pow(2, x) AS spark_pow FROM t ORDER BY i").collect()
    finally:
        spark.stop()
    on_spark = [row["y"] for row in rows]
    on_duckdb = exp2_in_duckdb(xs)
    differing = [(x, a, b) for x, a, b in zip(xs, on_duckdb, on_spark) if encode_value(a) != encode_value(b)]
    assert not differing, differing[:5]
    # the demonstration: Spark's own pow is not DuckDB's on some of these arguments
    with_pow = in_duckdb("pow(2, x)", xs)
    assert any(encode_value(a) != encode_value(row["spark_pow"]) for a, row in zip(with_pow, rows))

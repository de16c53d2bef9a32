"""Operational settings: DuckDB limits, the UI's bind address, freshness, retries."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from baton.cli import ui_command
from baton.lib.freshness import newest_file_age_days
from baton.lib.warehouse import connect
from conftest import REPO_ROOT, baton_env, run_baton


def test_duckdb_limits_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_DUCKDB_MEMORY_LIMIT", "1GB")
    monkeypatch.setenv("BATON_DUCKDB_THREADS", "1")
    monkeypatch.setenv("BATON_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    conn = connect(tmp_path / "w.duckdb")
    try:
        memory, threads, temp, tz = conn.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory'), current_setting('TimeZone')"
        ).fetchone()
    finally:
        conn.close()
    assert (threads, temp, tz) == (1, str(tmp_path / "spill"), "UTC")
    assert memory.replace(" ", "") in ("953.6MiB", "1.0GiB", "1GB", "953.6MB")


def test_dbt_keeps_building_after_a_model_spills_to_disk(tmp_path: Path) -> None:
    """dbt-duckdb runs the profile's `settings` again on every model's cursor, and DuckDB refuses
    to SET temp_directory once a query has spilled there: under a memory limit a large build
    failed at the model after the first spill. The limits are given once, as `config_options`."""
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "dbt_project" / "profiles.yml", project / "profiles.yml")
    (project / "dbt_project.yml").write_text('name: spill\nversion: "1.0.0"\nconfig-version: 2\nprofile: baton\n')
    # 1M shuffled rows with a 32-character string, sorted under a 64 MB limit: the sort spills
    # (with the old profile this test failed at `after_the_spill`, "Cannot switch temporary directory")
    (project / "models" / "spills.sql").write_text(
        "{{ config(materialized='table') }} select r, md5(r::varchar) as s from range(1000000) t(r) order by hash(r)"
    )
    (project / "models" / "after_the_spill.sql").write_text("select count(*) as n from {{ ref('spills') }}")
    spill = tmp_path / "spill"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BATON_", "DBT_"))}
    env.update(
        DO_NOT_TRACK="1",
        BATON_DUCKDB_PATH=str(tmp_path / "w.duckdb"),
        BATON_DUCKDB_MEMORY_LIMIT="64MB",
        BATON_DUCKDB_THREADS="1",
        BATON_DUCKDB_TEMP_DIR=str(spill),
    )
    dbt = str(Path(sys.executable).with_name("dbt"))
    completed = subprocess.run(
        [dbt, "run", "--project-dir", str(project), "--profiles-dir", str(project)],
        env=env, capture_output=True, text=True, timeout=300, cwd=project,
    )
    assert completed.returncode == 0, completed.stdout[-3000:]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT n FROM main.after_the_spill").fetchone() == (1000000,)


def test_ui_binds_to_localhost_unless_told_otherwise() -> None:
    command = ui_command("127.0.0.1", "3000")
    assert command[1:5] == ["dev", "-h", "127.0.0.1", "-p"]


def test_freshness_age_is_measured_from_the_newest_loaded_file(tmp_path: Path) -> None:
    conn = duckdb.connect(str(tmp_path / "w.duckdb"))
    conn.execute("CREATE SCHEMA audit")
    conn.execute("CREATE TABLE audit.load_ledger (entity VARCHAR, status VARCHAR, loaded_at TIMESTAMP)")
    conn.execute(
        "INSERT INTO audit.load_ledger VALUES ('leads', 'loaded', '2026-11-10 02:00'), ('leads', 'loaded', '2026-11-12 02:00'), "
        "('leads', 'failed', '2026-11-14 02:00')"
    )
    now = dt.datetime(2026, 11, 15, 2, 0)
    assert newest_file_age_days(conn, "leads", now) == pytest.approx(3.0)  # the failed file does not count
    assert newest_file_age_days(conn, "deals", now) is None


@pytest.mark.slow
def test_a_transient_extract_failure_is_retried(tmp_path: Path) -> None:
    marker = tmp_path / "failed-once"
    completed = run_baton(baton_env(tmp_path, BATON_FAIL_ONCE="extract:leads", BATON_FAIL_ONCE_MARKER=str(marker)))
    assert marker.exists(), "the injected failure did not happen"
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "injected transient failure" in completed.stdout + completed.stderr


@pytest.mark.slow
def test_baton_ui_serves_the_whole_asset_graph(tmp_path: Path) -> None:
    import json
    import signal
    import socket
    import subprocess
    import time
    import urllib.request

    from conftest import BATON

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = baton_env(tmp_path)
    log = (tmp_path / "ui.log").open("w")
    process = subprocess.Popen([BATON, "ui", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
        deadline, keys = time.monotonic() + 180, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    nodes = json.load(response)["data"]["assetNodes"]
                keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
                if keys:
                    break
            except (OSError, KeyError, TypeError, ValueError):
                time.sleep(1)
        assert keys, (tmp_path / "ui.log").read_text()[-3000:]
        assert {"config/rules", "raw/leads", "marts/fct_leads", "marts/fct_deals", "serving/marts"} <= keys
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # dagster dev and the code server it started, by our own pid
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()

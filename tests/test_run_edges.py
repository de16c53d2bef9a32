"""`baton run` at the boundary with the world: bad settings, a failed landing file, another
process holding the warehouse, and what a person sees while it runs (issue 10, items 1, 2,
4, 5, 11 and 12; docs/reliability.md has the guarantee each test proves)."""

from __future__ import annotations

import fcntl
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from baton import cli

from baton.lib import settings
from baton.lib.preflight import SettingsError, check_database_path, check_landing
from conftest import BATON, REPO_ROOT, baton_env, run_baton

EXIT_FILES_FAILED = 3


def last_line(completed: subprocess.CompletedProcess[str]) -> str:
    return completed.stderr.strip().splitlines()[-1]


def assert_one_line_error(completed: subprocess.CompletedProcess[str], *words: str) -> None:
    assert completed.returncode == 2, completed.stderr[-3000:]
    assert "Traceback" not in completed.stderr, completed.stderr[-3000:]
    error_lines = [line for line in completed.stderr.splitlines() if line.startswith("[baton] error:")]
    assert len(error_lines) == 1, completed.stderr
    for word in words:
        assert word in error_lines[0], error_lines[0]


# --- 1. the landing folder ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_landing_folder_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    completed = run_baton(baton_env(tmp_path, BATON_LANDING_DIR="/nope"))
    assert_one_line_error(completed, "/nope", "does not exist", "BATON_LANDING_DIR")
    assert not (tmp_path / "warehouse.duckdb").exists()
    assert not (tmp_path / "warehouse.serving.duckdb").exists()


def test_a_landing_path_that_is_a_file_or_missing_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "landing.csv"
    a_file.write_text("lead_id\n")
    with pytest.raises(SettingsError, match="is not a folder"):
        check_landing(a_file)
    with pytest.raises(SettingsError, match="does not exist"):
        check_landing(tmp_path / "absent")
    check_landing(tmp_path)


# --- 4. the warehouse path ---------------------------------------------------------------------


@pytest.mark.slow
def test_a_csv_at_the_warehouse_path_stops_the_run_and_is_left_as_it_was(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_text("lead_id,email\nL-1,a@b.com\n")
    completed = run_baton(baton_env(tmp_path))
    assert_one_line_error(completed, str(warehouse), "a text file, not a DuckDB database", "BATON_DUCKDB_PATH")
    assert warehouse.read_text() == "lead_id,email\nL-1,a@b.com\n"
    assert not (tmp_path / "warehouse.serving.duckdb").exists()


def test_only_a_duckdb_file_or_nothing_is_accepted_at_a_database_path(tmp_path: Path) -> None:
    sqlite_file = tmp_path / "a.sqlite"
    sqlite3.connect(sqlite_file).execute("CREATE TABLE t (a)").connection.commit()
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    real = tmp_path / "real.duckdb"
    duckdb.connect(str(real)).close()
    with pytest.raises(SettingsError, match="a SQLite database, not a DuckDB database"):
        check_database_path(sqlite_file, "warehouse", "BATON_DUCKDB_PATH")
    with pytest.raises(SettingsError, match="an empty file"):
        check_database_path(empty, "warehouse", "BATON_DUCKDB_PATH")
    with pytest.raises(SettingsError, match="is not a file"):
        check_database_path(tmp_path, "warehouse", "BATON_DUCKDB_PATH")
    check_database_path(real, "warehouse", "BATON_DUCKDB_PATH")
    check_database_path(tmp_path / "new" / "folder" / "w.duckdb", "warehouse", "BATON_DUCKDB_PATH")
    assert (tmp_path / "new" / "folder").is_dir() and not any((tmp_path / "new" / "folder").iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("where", ["/proc/x/baton.duckdb", "under-a-file"])
def test_an_unwritable_warehouse_path_gives_one_line_not_a_traceback(tmp_path: Path, where: str) -> None:
    if where == "under-a-file":
        (tmp_path / "plain.txt").write_text("x")
        where = str(tmp_path / "plain.txt" / "baton.duckdb")
    completed = run_baton(baton_env(tmp_path, BATON_DUCKDB_PATH=where))
    assert_one_line_error(completed, where, "BATON_DUCKDB_PATH")


# --- 12. --help and flags ----------------------------------------------------------------------


def test_run_help_documents_every_setting_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for setting in settings.SETTINGS:
        assert setting.env_var in text and setting.default in text
    for flag in ("--landing", "--warehouse", "--as-of", "--rules", "--verbose"):
        assert flag in text
    assert "exit status" in text and "  3  " in text


def test_flags_override_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_LANDING_DIR", "/from/env")
    monkeypatch.setenv("BATON_AS_OF", "2020-01-01")
    monkeypatch.delenv("BATON_RULES", raising=False)
    parser_args = ["run", "--landing", str(tmp_path), "--as-of", "2026-11-15", "--warehouse", str(tmp_path / "w.duckdb"), "--rules", "rules/x.yml"]
    monkeypatch.setattr(cli, "run", lambda: 0)
    assert cli.main(parser_args) == 0
    assert settings.landing_dir() == tmp_path.resolve()
    assert settings.as_of_date().isoformat() == "2026-11-15"
    assert settings.duckdb_path() == (tmp_path / "w.duckdb").resolve()
    assert settings.rules_path() == Path("rules/x.yml").resolve()


# --- 2. a failed landing file ------------------------------------------------------------------


@pytest.mark.slow
def test_a_failed_file_fails_the_run_every_night_keeps_the_serving_copy_until_skipped(built_warehouse: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(REPO_ROOT / "seeds", landing)
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    serving = tmp_path / "warehouse.serving.duckdb"
    shutil.copy(built_warehouse.with_name("warehouse.serving.duckdb"), serving)
    serving_before, inode_before = serving.read_bytes(), serving.stat().st_ino
    bad = landing / "leads" / "leads_2026_11_21.csv"
    bad.write_text("id,mail\nX-1,x@y.com\n")  # a contract file's folder, another export's header
    env = baton_env(tmp_path, BATON_LANDING_DIR=str(landing), BATON_DUCKDB_PATH=str(warehouse))

    for night in (1, 2):
        completed = run_baton(env)
        assert completed.returncode == EXIT_FILES_FAILED, (night, completed.stderr[-3000:])
        summary = last_line(completed)
        assert "leads_2026_11_21.csv" in summary and "missing required column" in summary, summary
        assert "NOT replaced" in summary
        assert (serving.read_bytes(), serving.stat().st_ino) == (serving_before, inode_before), f"night {night} replaced it"

    skipped = run_baton(env, "skip", str(bad))
    assert skipped.returncode == 0, skipped.stderr
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        status, reason = conn.execute(
            "SELECT status, reason FROM audit.load_ledger WHERE file_name = 'leads_2026_11_21.csv' ORDER BY file_id DESC LIMIT 1"
        ).fetchone()
    assert status == "skipped" and "skipped by" in reason
    completed = run_baton(env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert serving.stat().st_ino != inode_before  # published again (a new file renamed over it)


def test_skip_refuses_a_file_that_did_not_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("BATON_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("BATON_LANDING_DIR", str(tmp_path))
    duckdb.connect(str(tmp_path / "w.duckdb")).close()
    assert cli.main(["skip", str(tmp_path / "nothing.csv")]) == 2
    assert "error:" in capsys.readouterr().err


# --- 5. another process holding the warehouse --------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time, duckdb
    conn = duckdb.connect(sys.argv[1])
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.close()
    """
)


def _hold(warehouse: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


@pytest.mark.slow
def test_a_process_holding_the_warehouse_fails_the_run_in_bounded_time_naming_it(built_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    holder = _hold(warehouse, 600)
    try:
        started = time.monotonic()
        completed = run_baton(baton_env(tmp_path, BATON_LOCK_WAIT_SECONDS="4"))
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert completed.returncode == 1, completed.stderr[-3000:]
    summary = last_line(completed)
    assert f"PID {holder.pid}" in summary and "serving copy" in summary, summary
    # 4 s of waiting for the whole run (not per step), plus start-up
    assert elapsed < 60, elapsed


@pytest.mark.slow
def test_a_reader_that_lets_go_within_the_wait_does_not_fail_the_run(built_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    holder = _hold(warehouse, 12)  # longer than the run's start-up: its first step finds the file held
    completed = run_baton(baton_env(tmp_path, BATON_LOCK_WAIT_SECONDS="60"))
    holder.wait()
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "held open by" in completed.stderr


def test_rules_diff_holds_the_runs_writer_lock_while_it_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    monkeypatch.setenv("BATON_DUCKDB_PATH", str(warehouse))
    seen = {}

    def evaluate(path, proposed, flips_csv=None):
        with open(str(warehouse) + ".lock", "a") as other:
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen["locked"] = False
            except BlockingIOError:
                seen["locked"] = True
        raise SystemExit(0)

    monkeypatch.setattr("baton.lib.whatif.evaluate", evaluate)
    with pytest.raises(SystemExit):
        cli.main(["rules", "diff", str(REPO_ROOT / "rules" / "default.yml")])
    assert seen == {"locked": True}


# --- 11. what a person sees while it runs ------------------------------------------------------


@pytest.mark.slow
def test_progress_lines_appear_as_each_step_ends_and_dbt_logs_to_a_file(tmp_path: Path) -> None:
    env = baton_env(tmp_path)
    process = subprocess.Popen([BATON, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen_at: dict[str, float] = {}
    lines = []
    for line in process.stderr:
        lines.append(line)
        for marker in ("step raw__leads: ok", "step baton_dbt_models: ok"):
            if marker in line:
                seen_at.setdefault(marker, time.monotonic())
    stdout = process.stdout.read()
    process.wait()
    ended = time.monotonic()
    assert process.returncode == 0, "".join(lines)[-3000:]
    # the extract's line was printed while dbt was still to run (seconds), not replayed at the end
    assert seen_at["step baton_dbt_models: ok"] - seen_at["step raw__leads: ok"] > 2, seen_at
    assert ended - seen_at["step raw__leads: ok"] > 2
    assert any("OK created" in line and "fct_leads" in line for line in lines)  # each model as it is built
    # dbt's own output is in the log file it names, not on the terminal
    assert "Running with dbt=" not in stdout + "".join(lines)
    logs = list((tmp_path / "logs").glob("dbt-*.log"))
    assert len(logs) == 1 and "Running with dbt=" in logs[0].read_text()
    assert str(tmp_path / "logs") in "".join(lines)
    assert "succeeded" in lines[-1]


# --- 6. a transient failure is not a verdict on the file ---------------------------------------


@pytest.mark.slow
def test_a_run_out_of_memory_records_errors_and_the_next_run_loads_every_file(built_warehouse: Path, tmp_path: Path) -> None:
    starved = run_baton(baton_env(tmp_path, BATON_DUCKDB_MEMORY_LIMIT="8MB"))
    assert starved.returncode != 0, starved.stderr[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        statuses = conn.execute("SELECT DISTINCT status FROM audit.load_ledger").fetchall()
    assert ("failed",) not in statuses and ("loaded",) not in statuses, statuses
    completed = run_baton(baton_env(tmp_path))
    assert completed.returncode == 0, completed.stderr[-3000:]
    query = "SELECT entity, file_name, rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger WHERE status = 'loaded' ORDER BY ALL"
    with duckdb.connect(str(warehouse), read_only=True) as conn, duckdb.connect(str(built_warehouse), read_only=True) as built:
        assert conn.execute(query).fetchall() == built.execute(query).fetchall()
        for mart in ("fct_leads", "fct_deals", "campaign_performance"):
            mart_query = f"SELECT * FROM marts.{mart} ORDER BY ALL"
            assert conn.execute(mart_query).fetchall() == built.execute(mart_query).fetchall(), mart


def test_a_bad_number_of_seconds_is_a_settings_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATON_LANDING_DIR", str(REPO_ROOT / "seeds"))
    monkeypatch.delenv("BATON_SETTLE_SECONDS", raising=False)
    assert settings.settle_seconds() == 0.0  # the shipped sample: nothing is being written into it
    monkeypatch.setenv("BATON_LANDING_DIR", "/data/landing")
    assert settings.settle_seconds() == settings.DEFAULT_SETTLE_SECONDS
    for bad in ("soon", "-1", "nan"):
        monkeypatch.setenv("BATON_LOCK_WAIT_SECONDS", bad)
        with pytest.raises(ValueError, match="BATON_LOCK_WAIT_SECONDS must be a number of seconds"):
            settings.lock_wait_seconds()

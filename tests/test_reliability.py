"""Reliability guarantees, each proven by really doing the fault: a second process
holding the serving copy, two runs at once, SIGKILL at several points.

See docs/reliability.md for the guarantee each test proves.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from baton.lib.serving import publish
from conftest import BATON, REPO_ROOT, baton_env, run_baton

pytestmark = pytest.mark.slow

MARTS = ("fct_leads", "lead_to_sal_monthly", "fct_deals")
EMAIL_SHAPED = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


def snapshot(path: Path, tables: tuple[str, ...] = MARTS) -> dict[str, list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return {t: conn.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for t in tables}


def ledger(path: Path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(
            "SELECT entity, file_name, status, rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger ORDER BY entity, file_name, status"
        ).fetchall()


def raw_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()]
        counts = {t: conn.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in tables}
        counts["quarantine"] = conn.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0]
        return counts


def add_new_lead(landing: Path) -> None:
    (landing / "leads" / "leads_2026_11_20.csv").write_text(
        "lead_id,email,job_title,employee_count,industry,lead_source,created_at\n"
        "N-1,new.one@northwindbank.com,CFO,,Banking,webinar,2026-11-14T08:00:00Z\n"
    )


# --- serving copy -------------------------------------------------------------------------------


READER = textwrap.dedent(
    """
    import sys, duckdb
    conn = duckdb.connect(sys.argv[1], read_only=True)
    print(conn.execute("SELECT count(*) FROM marts.fct_leads").fetchone()[0], flush=True)
    sys.stdin.readline()            # the test says when the run is over
    print(conn.execute("SELECT count(*) FROM marts.fct_leads").fetchone()[0], flush=True)
    conn.close()
    conn = duckdb.connect(sys.argv[1], read_only=True)
    print(conn.execute("SELECT count(*) FROM marts.fct_leads").fetchone()[0], flush=True)
    """
)


def test_bi_reader_holding_the_serving_copy_neither_blocks_the_run_nor_sees_it_half_done(built_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    serving = tmp_path / "warehouse.serving.duckdb"
    shutil.copy(built_warehouse.with_name("warehouse.serving.duckdb"), serving)
    landing = tmp_path / "landing"
    shutil.copytree(REPO_ROOT / "seeds", landing)
    add_new_lead(landing)

    reader = subprocess.Popen([sys.executable, "-c", READER, str(serving)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        before = int(reader.stdout.readline())
        completed = run_baton(baton_env(tmp_path, BATON_LANDING_DIR=str(landing)))
        assert completed.returncode == 0, completed.stderr[-3000:]
        reader.stdin.write("go\n")
        reader.stdin.flush()
        still_open, reopened = int(reader.stdout.readline()), int(reader.stdout.readline())
    finally:
        reader.kill()
    assert (still_open, reopened) == (before, before + 1)


def test_failed_publish_leaves_the_previous_serving_copy_untouched(built_warehouse: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, warehouse)
    serving = tmp_path / "warehouse.serving.duckdb"
    shutil.copy(built_warehouse.with_name("warehouse.serving.duckdb"), serving)
    before = snapshot(serving)
    landing = tmp_path / "landing"
    shutil.copytree(REPO_ROOT / "seeds", landing)
    add_new_lead(landing)

    crashed = run_baton(baton_env(tmp_path, BATON_LANDING_DIR=str(landing), BATON_CRASH_AT="publish:before_rename"))
    assert crashed.returncode == -signal.SIGKILL
    assert snapshot(serving) == before

    completed = run_baton(baton_env(tmp_path, BATON_LANDING_DIR=str(landing)))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert len(snapshot(serving)["fct_leads"]) == len(before["fct_leads"]) + 1
    assert not list(tmp_path.glob(".warehouse.serving.duckdb.*"))  # the killed run's half-written file is gone


def all_string_values(path: Path) -> list[str]:
    values = []
    with duckdb.connect(str(path), read_only=True) as conn:
        columns = conn.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ).fetchall()
        for schema, table, column in columns:
            values += [v for (v,) in conn.execute(f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL').fetchall()]
    return values


def test_serving_copy_has_no_email_or_name_by_default(built_warehouse: Path) -> None:
    serving = built_warehouse.with_name("warehouse.serving.duckdb")
    values = all_string_values(serving)
    assert values, "the serving copy should not be empty"
    assert [v for v in values if EMAIL_SHAPED.search(v)] == []
    with duckdb.connect(str(serving), read_only=True) as conn:
        columns = {r[0] for r in conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'fct_leads'").fetchall()}
    assert not columns & {"email", "email_hash", "first_name", "last_name"}


def test_keyed_email_hash_lets_bi_count_people_and_raw_pii_is_opt_in(warehouse_copy: Path, tmp_path: Path) -> None:
    with duckdb.connect(str(warehouse_copy)) as conn:
        publish(conn, tmp_path / "hashed.duckdb", pii_key="k1")
        publish(conn, tmp_path / "other_key.duckdb", pii_key="k2")
        publish(conn, tmp_path / "raw.duckdb", serve_pii=True)
        emails = conn.execute("SELECT count(DISTINCT email) FROM marts.fct_leads").fetchone()[0]
    assert [v for v in all_string_values(tmp_path / "hashed.duckdb") if EMAIL_SHAPED.search(v)] == []
    with duckdb.connect(str(tmp_path / "hashed.duckdb"), read_only=True) as h, duckdb.connect(str(tmp_path / "other_key.duckdb"), read_only=True) as o:
        hashed = h.execute("SELECT lead_id, email_hash FROM marts.fct_leads ORDER BY lead_id").fetchall()
        other = o.execute("SELECT lead_id, email_hash FROM marts.fct_leads ORDER BY lead_id").fetchall()
    assert len({h for _, h in hashed if h}) == emails  # one hash per person with an email
    assert all(a[1] != b[1] for a, b in zip(hashed, other) if a[1])  # the key matters
    assert any(EMAIL_SHAPED.search(v) for v in all_string_values(tmp_path / "raw.duckdb"))


# --- one writer at a time ----------------------------------------------------------------------


def test_two_runs_at_once_queue_on_the_lock_and_lose_nothing(built_warehouse: Path, tmp_path: Path) -> None:
    env = baton_env(tmp_path)
    first = subprocess.Popen([BATON, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen([BATON, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=600) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], [o[1][-2000:] for o in outputs]
    warehouse = tmp_path / "warehouse.duckdb"
    assert ledger(warehouse) == ledger(built_warehouse)  # every file loaded exactly once
    assert snapshot(warehouse) == snapshot(built_warehouse)
    assert any("waiting for it to finish" in err for _, err in outputs)


# --- crash safety -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "crash_at",
    [
        "extract:after_lake_write:engagement_events",  # its Parquet file renamed into the lake, no ledger row yet
        "extract:before_commit:engagement_events",
        "extract:after:deals",
        "extract:after:leads",
    ],
)
def test_killed_during_extract_next_run_completes_with_clean_marts(built_warehouse: Path, tmp_path: Path, crash_at: str) -> None:
    crashed = run_baton(baton_env(tmp_path, BATON_CRASH_AT=crash_at))
    assert crashed.returncode == -signal.SIGKILL
    completed = run_baton(baton_env(tmp_path))
    assert completed.returncode == 0, completed.stderr[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    assert ledger(warehouse) == ledger(built_warehouse)
    assert raw_counts(warehouse) == raw_counts(built_warehouse)
    assert snapshot(warehouse) == snapshot(built_warehouse)


def _kill_run_once_logged(env: dict[str, str], log_path: Path, text: str) -> None:
    """Start `baton run` and kill it (baton and its dbt child, as a machine crash would) as soon
    as its output shows `text`, e.g. the name of a model dbt is building."""
    with log_path.open("w") as log:
        process = subprocess.Popen([BATON, "run"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 300
        while text not in log_path.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert process.poll() is None, f"the run ended before its output showed {text!r}"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_killed_during_dbt_build_next_run_completes_with_clean_marts(built_warehouse: Path, tmp_path: Path) -> None:
    env = baton_env(tmp_path)
    _kill_run_once_logged(env, tmp_path / "run.log", "int_persons")
    completed = run_baton(env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    assert snapshot(warehouse) == snapshot(built_warehouse)
    assert ledger(warehouse) == ledger(built_warehouse)
    with duckdb.connect(str(tmp_path / "warehouse.serving.duckdb"), read_only=True) as conn:
        names = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()]
    assert not [n for n in names if "__dbt" in n]
    # the killed build was not recorded as complete: the next one was a full build again
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT mode FROM audit.dbt_builds").fetchall() == [("full",)]


def test_killed_during_an_incremental_build_next_run_recomputes_the_changes(
    built_warehouse: Path, warehouse_copy: Path, tmp_path: Path
) -> None:
    """The killed night's files are loaded, but its incremental build did not complete: the next
    night must rebuild the keys those files changed although it finds no new file."""
    landing = tmp_path / "landing"
    shutil.copytree(REPO_ROOT / "seeds", landing)
    # an older record for ana.story: the person's lead_id becomes S-099 in fct_leads and fct_deals
    (landing / "leads" / "leads_2026_11_20.csv").write_text(
        "lead_id,email,first_name,last_name,job_title,company_name,company_domain,employee_count,industry,"
        "country,lead_source,campaign_id,created_at\n"
        "S-099,ana.story@northwindbank.com,Ana,Story,CFO,,,,,US,webinar,C-01,2026-01-15T09:00:00Z\n"
    )
    env = baton_env(tmp_path, BATON_LANDING_DIR=str(landing), BATON_DUCKDB_PATH=str(warehouse_copy))
    _kill_run_once_logged(env, tmp_path / "run.log", "fct_leads")
    completed = run_baton(env)
    assert completed.returncode == 0, completed.stderr[-3000:]

    full_tmp = tmp_path / "full"
    full_tmp.mkdir()
    completed = run_baton(baton_env(full_tmp, BATON_LANDING_DIR=str(landing)))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert snapshot(warehouse_copy) == snapshot(full_tmp / "warehouse.duckdb")
    with duckdb.connect(str(warehouse_copy), read_only=True) as conn:
        assert conn.execute("SELECT lead_id FROM marts.fct_leads WHERE email = 'ana.story@northwindbank.com'").fetchall() == [
            ("S-099",)
        ]
        # the sample's complete build, then the run after the kill, which took the changes since the
        # sample's last loaded file (the killed night's file included)
        builds = conn.execute("SELECT mode, changes_since_file_id FROM audit.dbt_builds ORDER BY built_at").fetchall()
        last_sample_file = conn.execute(
            "SELECT max(file_id) FROM audit.load_ledger WHERE status = 'loaded' AND file_name <> 'leads_2026_11_20.csv'"
        ).fetchone()[0]
    assert [mode for mode, _ in builds] == ["full", "changes"]
    assert builds[1][1] == last_sample_file


# --- no injection ---------------------------------------------------------------------------------


def test_hostile_rules_values_are_data_not_sql(tmp_path: Path) -> None:
    hostile = "x'); DROP TABLE raw.leads; --"
    text = (REPO_ROOT / "rules" / "default.yml").read_text()
    text = text.replace("      - logistics\n", f"      - logistics\n      - \"{hostile}\"\n")
    text = text.replace("    - accounting\n", "    - accounting\n    - \"o'brien\\\"; DELETE FROM marts.fct_leads; --\"\n")
    rules = tmp_path / "rules.yml"
    rules.write_text(text)
    completed = run_baton(baton_env(tmp_path, BATON_RULES=str(rules)))
    assert completed.returncode == 0, completed.stderr[-3000:]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as conn:
        industries = conn.execute("SELECT industries FROM config.rules").fetchone()[0]
        leads = conn.execute("SELECT count(*) FROM marts.fct_leads").fetchone()[0]
        raw_leads = conn.execute("SELECT count(*) FROM raw.leads").fetchone()[0]
    assert hostile.lower() in industries
    assert leads > 300 and raw_leads > 300


# --- re-delivery and late data -------------------------------------------------------------------


def test_redelivered_file_and_late_events_next_run(built_warehouse: Path, warehouse_copy: Path, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(REPO_ROOT / "seeds", landing)
    # the same deals export again under a new name: nothing new is loaded
    shutil.copy(landing / "deals" / "deals_2026_11_01.csv", landing / "deals" / "deals_2026_11_01_resent.csv")
    # events arriving after D-001 closed (2026-08-01), one inside its window, one after it
    (landing / "engagement_events" / "events_2026_11_20_late.csv").write_text(
        "event_id,lead_id,email,event_type,campaign_id,asset_name,occurred_at\n"
        "E-LATE-1,S-001,,webinar_attendance,C-01,Late webinar,2026-07-01T10:00:00Z\n"
        "E-LATE-2,S-001,,webinar_attendance,C-01,Late webinar,2026-08-02T10:00:00Z\n"
    )
    before = snapshot(warehouse_copy)
    completed = run_baton(baton_env(tmp_path, BATON_LANDING_DIR=str(landing), BATON_DUCKDB_PATH=str(warehouse_copy)))
    assert completed.returncode == 0, completed.stderr[-3000:]
    with duckdb.connect(str(warehouse_copy), read_only=True) as conn:
        assert conn.execute(
            "SELECT status, rows_loaded FROM audit.load_ledger WHERE file_name = 'deals_2026_11_01_resent.csv'"
        ).fetchall() == [("duplicate", 0)]
        assert conn.execute("SELECT count(*) FROM raw.deals").fetchone()[0] == raw_counts(built_warehouse)["deals"]
        d001 = conn.execute("SELECT influencing_touches FROM marts.fct_deals WHERE deal_id = 'D-001'").fetchone()[0]
    before_d001 = next(row for row in before["fct_deals"] if row[0] == "D-001")
    assert d001 == 3  # E-S01, E-S03 and the late E-LATE-1; E-LATE-2 is after closed_at
    assert snapshot(warehouse_copy)["fct_leads"] == before["fct_leads"]
    assert before_d001 is not None

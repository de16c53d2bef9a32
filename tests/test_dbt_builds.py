"""When a nightly dbt build may rebuild only what changed, and when it must rebuild everything."""

from __future__ import annotations

import copy
import json

import duckdb
import pytest

from baton.lib import dbt_builds

from baton.lib import vocabularies

MANIFEST = {
    "metadata": {"project_name": "baton"},
    "nodes": {
        "model.baton.int_persons": {"resource_type": "model", "checksum": {"checksum": "aaa"}},
        "test.baton.unique_x": {"resource_type": "test", "checksum": {"checksum": "ttt"}},
    },
    "macros": {
        "macro.baton.person_key": {"package_name": "baton", "macro_sql": "coalesce(...)"},
        "macro.dbt.is_incremental": {"package_name": "dbt", "macro_sql": "dbt's own"},
    },
}


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA config")
    conn.execute("CREATE TABLE config.rules AS SELECT 'v1' AS rules_version, DATE '2026-11-15' AS as_of_date, 90 AS influence_lookback_days")
    conn.execute("CREATE SCHEMA audit")
    conn.execute("CREATE TABLE audit.load_ledger (file_id BIGINT)")
    conn.execute("INSERT INTO audit.load_ledger VALUES (1), (2), (3)")
    return conn


def _complete_build(conn: duckdb.DuckDBPyConnection, manifest: dict = MANIFEST) -> dbt_builds.BuildPlan:
    plan = dbt_builds.plan_build(conn, manifest)
    dbt_builds.record_build(conn, plan)
    return plan


def test_the_first_build_is_full_and_records_the_last_file_it_includes(conn: duckdb.DuckDBPyConnection) -> None:
    plan = _complete_build(conn)
    assert (plan.mode, plan.reason, plan.built_through_file_id) == ("full", "no complete build yet", 3)
    assert plan.dbt_args()[0] == "--full-refresh"


def test_the_next_build_takes_the_files_loaded_since(conn: duckdb.DuckDBPyConnection) -> None:
    _complete_build(conn)
    conn.execute("INSERT INTO audit.load_ledger VALUES (4), (5)")
    plan = dbt_builds.plan_build(conn, MANIFEST)
    assert (plan.mode, plan.changes_since_file_id, plan.built_through_file_id) == ("changes", 3, 5)
    assert "--full-refresh" not in plan.dbt_args()


def test_the_dbt_var_is_the_same_every_night_so_dbt_s_partial_parse_stays_valid(conn: duckdb.DuckDBPyConnection) -> None:
    first = _complete_build(conn)
    conn.execute("INSERT INTO audit.load_ledger VALUES (4)")
    second = dbt_builds.plan_build(conn, MANIFEST)
    assert first.dbt_args()[-2:] == second.dbt_args()[-2:] == ["--vars", json.dumps({"baton_incremental": True})]


def test_a_build_that_did_not_complete_leaves_the_last_complete_one_in_place(conn: duckdb.DuckDBPyConnection) -> None:
    _complete_build(conn)
    conn.execute("INSERT INTO audit.load_ledger VALUES (4)")
    dbt_builds.plan_build(conn, MANIFEST)  # planned, dbt failed: not recorded
    conn.execute("INSERT INTO audit.load_ledger VALUES (5)")
    assert dbt_builds.plan_build(conn, MANIFEST).changes_since_file_id == 3


def test_a_new_as_of_date_alone_keeps_the_build_incremental(conn: duckdb.DuckDBPyConnection) -> None:
    _complete_build(conn)
    conn.execute("UPDATE config.rules SET as_of_date = DATE '2026-11-16'")
    assert dbt_builds.plan_build(conn, MANIFEST).mode == "changes"


def test_changed_rules_rebuild_everything(conn: duckdb.DuckDBPyConnection) -> None:
    _complete_build(conn)
    conn.execute("UPDATE config.rules SET influence_lookback_days = 60")
    plan = dbt_builds.plan_build(conn, MANIFEST)
    assert (plan.mode, plan.reason) == ("full", "the rules, the models' code or the vocabularies changed")


def test_a_changed_model_or_project_macro_rebuilds_everything(conn: duckdb.DuckDBPyConnection) -> None:
    _complete_build(conn)
    model_changed = copy.deepcopy(MANIFEST)
    model_changed["nodes"]["model.baton.int_persons"]["checksum"]["checksum"] = "bbb"
    macro_changed = copy.deepcopy(MANIFEST)
    macro_changed["macros"]["macro.baton.person_key"]["macro_sql"] = "coalesce(other)"
    assert dbt_builds.plan_build(conn, model_changed).mode == "full"
    assert dbt_builds.plan_build(conn, macro_changed).mode == "full"


def test_a_changed_data_test_or_dbt_macro_keeps_the_build_incremental(conn: duckdb.DuckDBPyConnection) -> None:
    _complete_build(conn)
    changed = copy.deepcopy(MANIFEST)
    changed["nodes"]["test.baton.unique_x"]["checksum"]["checksum"] = "uuu"
    changed["macros"]["macro.dbt.is_incremental"]["macro_sql"] = "dbt's new"
    assert dbt_builds.plan_build(conn, changed).mode == "changes"


def test_a_changed_vocabulary_rebuilds_everything(conn: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch) -> None:
    # The vocabularies are dbt project vars: no model checksum changes with them.
    _complete_build(conn)
    current = vocabularies.load()
    fewer_free_mail = {**current, "free_mail_domains": current["free_mail_domains"][:-1]}
    monkeypatch.setattr(vocabularies, "load", lambda: fewer_free_mail)
    assert dbt_builds.plan_build(conn, MANIFEST).mode == "full"


def test_the_vocabularies_are_read_from_the_dbt_project_vars() -> None:
    assert vocabularies.PROJECT_FILE.name == "dbt_project.yml"
    assert vocabularies.CLOSED_STAGES == ("closed_won", "closed_lost")
    assert "demo_request" in vocabularies.EVENT_TYPES and "gmail.com" in vocabularies.FREE_MAIL_DOMAINS


def test_a_malformed_vocabulary_names_the_var(tmp_path) -> None:
    project = tmp_path / "dbt_project.yml"
    project.write_text("vars:\n  event_types: [ad_click, Blog View]\n  won_stage: closed_won\n")
    with pytest.raises(ValueError, match="vars.event_types"):
        vocabularies.load(project)

"""The Dagster UI reads like the pipeline (docs/operations.md): groups by layer, descriptions for
every model and check, kinds, run tags, KPI units, and the new-landing-files sensor's logic.
In-process and fast: the definitions are loaded, nothing is built."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from baton.defs.project import baton_dbt_project

DBT_LAYERS = {"staging", "intermediate", "marts"}


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from baton.definitions import defs

    return defs


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(baton_dbt_project.manifest_path.read_text(encoding="utf-8"))


def _specs(defs: dg.Definitions) -> dict[dg.AssetKey, dg.AssetSpec]:
    return {spec.key: spec for assets_def in defs.resolve_asset_graph().assets_defs for spec in assets_def.specs}


def test_every_dbt_model_sits_in_its_layer_group_with_its_yml_description_not_its_sql(defs, manifest) -> None:
    from baton.defs.transform import baton_dbt_models

    specs = _specs(defs)
    models = {
        dg.AssetKey([node["schema"], node["alias"]]): node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert set(models) == set(baton_dbt_models.keys)
    for key, node in models.items():
        spec = specs[key]
        assert spec.group_name == node["fqn"][1] and spec.group_name in DBT_LAYERS, key
        assert spec.description.startswith(node["description"].strip()), key
        assert node["raw_code"].strip()[:40] not in spec.description and "```sql" not in spec.description, key
        assert {"dbt", "duckdb"} <= set(spec.kinds), key
        assert spec.tags.get("baton/layer") == spec.group_name, key


def test_the_other_assets_sit_in_the_landing_and_serving_groups_and_none_in_default(defs) -> None:
    specs = _specs(defs)
    groups = {key.to_user_string(): spec.group_name for key, spec in specs.items()}
    assert groups["config/rules"] == "landing"
    assert all(group == "landing" for key, group in groups.items() if key.startswith("raw/"))
    assert groups["serving/marts"] == "serving"
    assert "default" not in set(groups.values())
    assert {"python", "duckdb"} <= set(specs[dg.AssetKey(["raw", "leads"])].kinds)
    assert all(spec.description for spec in specs.values())


def test_every_asset_check_has_a_description(defs) -> None:
    graph = defs.resolve_asset_graph()
    described = {
        spec.key: spec.description
        for assets_def in graph.assets_defs
        for spec in assets_def.check_specs
    }
    assert set(described) == set(graph.asset_check_keys)
    missing = [key for key, description in described.items() if not description or not description.strip()]
    assert not missing
    by_name = {(key.asset_key.to_user_string(), key.name): text for key, text in described.items()}
    assert by_name[("marts/fct_leads", "unique_fct_leads_lead_id")].startswith("unique: fct_leads.lead_id has no duplicates.")
    assert by_name[("marts/fct_leads", "not_null_fct_leads_lead_id")].startswith("not_null: fct_leads.lead_id is never null.")
    accepted = by_name[("marts/fct_leads", "accepted_values_fct_leads_sal_status__accepted__rejected__undetermined")]
    assert "fct_leads.sal_status is one of accepted, rejected, undetermined" in accepted
    # a singular test: the comment at the top of its SQL file
    weights = by_name[("marts/fct_attribution_touches", "assert_attribution_weights_sum_to_one")]
    assert "weights sum to 1" in weights and "tests/assert_attribution_weights_sum_to_one.sql" in weights
    assert "Severity error" in weights


def test_describe_test_names_relationships_and_warn_severity() -> None:
    from baton.defs.transform import describe_test

    test = {
        "name": "relationships_x",
        "attached_node": "model.baton.fct_attribution_touches",
        "test_metadata": {"name": "relationships", "kwargs": {"column_name": "deal_id", "to": "ref('fct_deals')", "field": "deal_id"}},
        "config": {"severity": "warn"},
    }
    text = describe_test({}, test)
    assert text.startswith("relationships: every fct_attribution_touches.deal_id is a fct_deals.deal_id.")
    assert "Severity warn" in text
    assert describe_test({}, {**test, "description": "Every touch belongs to a deal."}).startswith("Every touch belongs to a deal.")


def test_kpi_metadata_are_fractions_with_the_as_of_date() -> None:
    from baton.defs.metrics import model_metadata

    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA marts; CREATE SCHEMA config")
    conn.execute("CREATE TABLE config.rules AS SELECT DATE '2026-11-15' AS as_of_date")
    conn.execute(
        "CREATE TABLE marts.fct_leads AS SELECT * FROM (VALUES (true, 'accepted', '2026.1'), (false, 'rejected', '2026.1'), "
        "(false, 'undetermined', '2026.1'), (false, 'rejected', '2026.1')) t(is_sal, sal_status, rules_version)"
    )
    metadata = model_metadata(conn, dg.AssetKey(["marts", "fct_leads"]))
    assert metadata["lead_to_sal_rate"].value == 0.25  # a fraction 0..1, as the marts' *_pct columns
    assert metadata["undetermined_share"].value == 0.25
    assert metadata["as_of_date"] == "2026-11-15"
    assert not any(key.endswith("_pct") for key in metadata)


# --- run tags: `baton run`, the schedule and the sensor ---------------------------------------------


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "landing"
    (folder / "leads").mkdir(parents=True)
    monkeypatch.setenv("BATON_LANDING_DIR", str(folder))
    monkeypatch.setenv("BATON_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("BATON_AS_OF", "2026-11-15")
    monkeypatch.setenv("BATON_SETTLE_SECONDS", "60")
    monkeypatch.delenv("BATON_RULES", raising=False)
    return folder


def _expected_tags(landing: Path) -> dict[str, str]:
    from baton.lib.rules import load_rules

    return {"baton/as_of": "2026-11-15", "baton/landing_dir": str(landing.resolve()), "baton/rules_version": str(load_rules(None).version)}


def test_scheduled_runs_are_tagged_with_as_of_landing_folder_and_rules_version(landing: Path) -> None:
    from baton.defs.jobs import nightly_schedule

    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.timezone.utc))
        [request] = nightly_schedule.evaluate_tick(context).run_requests
    assert request.tags.items() >= {**_expected_tags(landing), "baton/trigger": "schedule"}.items()


def test_a_bad_rules_file_is_named_in_the_tag_not_raised(landing: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from baton.defs.jobs import run_tags

    (tmp_path / "bad.yml").write_text("version: [\n")
    monkeypatch.setenv("BATON_RULES", str(tmp_path / "bad.yml"))
    assert run_tags("sensor")["baton/rules_version"] == "invalid rules file"


def _write(path: Path, text: str, age_seconds: float) -> None:
    path.write_text(text)
    then = time.time() - age_seconds
    os.utime(path, (then, then))


def _tick(instance: dg.DagsterInstance, cursor: str | None):
    from baton.defs.sensors import new_landing_files

    return new_landing_files.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_sensor_requests_a_run_for_a_new_settled_landing_file_only(landing: Path) -> None:
    _write(landing / "leads" / "leads_1.csv", "lead_id\nL-1\n", age_seconds=3600)
    with dg.instance_for_test() as instance:
        first = _tick(instance, None)  # the first evaluation records the folder, requests nothing
        assert not first.run_requests and "first evaluation" in first.skip_message and first.cursor
        same = _tick(instance, first.cursor)
        assert not same.run_requests and "no new or changed" in same.skip_message
        # a file still being written (modified 5 s ago, BATON_SETTLE_SECONDS=60): wait
        _write(landing / "leads" / "leads_2.csv", "lead_id\nL-2\n", age_seconds=5)
        (landing / "leads" / "notes.txt").write_text("not a data file")  # ignored by the loader, and here
        unsettled = _tick(instance, first.cursor)
        assert not unsettled.run_requests and "BATON_SETTLE_SECONDS" in unsettled.skip_message
        assert "leads/leads_2.csv" in unsettled.skip_message
        # settled: one run, tagged, and the cursor moves on
        _write(landing / "leads" / "leads_2.csv", "lead_id\nL-2\n", age_seconds=120)
        fired = _tick(instance, first.cursor)
        [request] = fired.run_requests
        assert request.tags.items() >= {**_expected_tags(landing), "baton/trigger": "sensor"}.items()
        assert fired.cursor != first.cursor
        assert not _tick(instance, fired.cursor).run_requests
        # a rewritten file (new size and times) is new again
        _write(landing / "leads" / "leads_2.csv", "lead_id\nL-2\nL-3\n", age_seconds=100)
        assert _tick(instance, fired.cursor).run_requests


def test_sensor_waits_while_a_run_is_in_progress(landing: Path, tmp_path: Path) -> None:
    from baton.lib.warehouse import writer_lock

    _write(landing / "leads" / "leads_1.csv", "lead_id\nL-1\n", age_seconds=3600)
    with dg.instance_for_test() as instance:
        baseline = _tick(instance, None).cursor
        _write(landing / "leads" / "leads_2.csv", "lead_id\nL-2\n", age_seconds=120)
        with writer_lock(tmp_path / "w.duckdb"):  # a run (or `baton skip`) writing the warehouse
            busy = _tick(instance, baseline)
        assert not busy.run_requests and "writing" in busy.skip_message
        assert busy.cursor in (None, baseline)  # not moved: looked at again after the run
        instance.add_run(dg.DagsterRun(job_name="nightly", run_id="waiting-run", status=dg.DagsterRunStatus.NOT_STARTED))
        waiting = _tick(instance, baseline)
        assert not waiting.run_requests and "waiting-run is not_started" in waiting.skip_message
        instance.delete_run("waiting-run")
        # a run recorded STARTED by a process that was killed holds no lock: it does not block the sensor forever
        instance.add_run(dg.DagsterRun(job_name="nightly", run_id="killed-run", status=dg.DagsterRunStatus.STARTED))
        assert _tick(instance, baseline).run_requests


def test_sensor_never_opens_the_warehouse(landing: Path, tmp_path: Path) -> None:
    _write(landing / "leads" / "leads_1.csv", "lead_id\nL-1\n", age_seconds=3600)
    with dg.instance_for_test() as instance:
        baseline = _tick(instance, None).cursor
        _write(landing / "leads" / "leads_2.csv", "lead_id\nL-2\n", age_seconds=120)
        assert _tick(instance, baseline).run_requests
    assert not (tmp_path / "w.duckdb").exists() and not (tmp_path / "w.duckdb.lock").exists()


def test_sensor_and_schedule_are_running_by_default(defs, monkeypatch: pytest.MonkeyPatch) -> None:
    from baton.defs.sensors import SENSOR_NAME, interval_seconds

    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == interval_seconds()
    assert sensor.job_name == "nightly"
    assert defs.resolve_schedule_def("nightly_at_0200").default_status == dg.DefaultScheduleStatus.RUNNING
    monkeypatch.delenv("BATON_SENSOR_INTERVAL_SECONDS", raising=False)
    assert interval_seconds() == 60
    monkeypatch.setenv("BATON_SENSOR_INTERVAL_SECONDS", "5")
    assert interval_seconds() == 5


def test_serve_starts_the_daemon_and_the_webserver_on_the_baton_workspace() -> None:
    from baton.cli import serve_commands

    daemon, webserver = serve_commands("127.0.0.1", "3000")
    assert Path(daemon[0]).name == "dagster-daemon" and daemon[1:3] == ["run", "-w"] and daemon[3].endswith("workspace.yaml")
    assert Path(webserver[0]).name == "dagster-webserver" and webserver[1:5] == ["-h", "127.0.0.1", "-p", "3000"]
    assert serve_commands("0.0.0.0", "3000", ui=False) == [daemon]

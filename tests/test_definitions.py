"""The Dagster code location loads and holds what the UI and the schedule need."""

from __future__ import annotations

import importlib.metadata
from functools import cached_property

import dagster as dg
from packaging import version


def test_definitions_load_with_the_whole_graph() -> None:
    from baton.definitions import defs

    job = defs.resolve_job_def("nightly")
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    for expected in (
        "config/rules",
        *(f"raw/{e}" for e in ("leads", "engagement_events", "accounts", "deals", "deal_contacts", "campaigns", "target_accounts")),
        "staging/stg_leads",
        "intermediate/int_lead_sal_evaluation",
        "marts/fct_leads",
        "marts/lead_to_sal_monthly",
        "marts/fct_deals",
        "marts/fct_attribution_touches",
        "marts/campaign_performance",
        "marts/abm_accounts",
        "marts/funnel_monthly",
        "serving/marts",
    ):
        assert expected in keys
    assert job.executor_def is dg.in_process_executor
    schedule = defs.resolve_schedule_def("nightly_at_0200")
    assert schedule.cron_schedule == "0 2 * * *"


def test_raw_assets_feed_the_dbt_sources() -> None:
    from baton.definitions import defs

    graph = defs.resolve_asset_graph()
    # every loaded version of a lead record, then the current one
    assert graph.get(dg.AssetKey(["staging", "stg_lead_versions"])).parent_keys == {dg.AssetKey(["raw", "leads"])}
    assert graph.get(dg.AssetKey(["staging", "stg_leads"])).parent_keys == {dg.AssetKey(["staging", "stg_lead_versions"])}
    assert dg.AssetKey(["raw", "engagement_events"]) in graph.get(dg.AssetKey(["staging", "stg_engagement_events"])).parent_keys
    rules_children = graph.get(dg.AssetKey(["config", "rules"])).child_keys
    assert dg.AssetKey(["staging", "stg_config__rules"]) in rules_children


def test_checks_cover_balance_undetermined_share_and_dbt_tests() -> None:
    from baton.definitions import defs

    check_keys = {(key.asset_key.to_user_string(), key.name) for key in defs.resolve_asset_graph().asset_check_keys}
    assert ("raw/leads", "rows_balance") in check_keys
    assert ("marts/fct_leads", "undetermined_share_within_threshold") in check_keys
    assert ("marts/fct_leads", "unique_fct_leads_lead_id") in check_keys
    assert ("marts/fct_attribution_touches", "assert_attribution_weights_sum_to_one") in check_keys
    assert ("raw/leads", "landing_freshness") in check_keys


def test_blocking_balance_check_and_retrying_extract() -> None:
    from baton.definitions import defs

    raw_leads = defs.resolve_assets_def(dg.AssetKey(["raw", "leads"]))
    [balance] = [spec for spec in raw_leads.check_specs if spec.name == "rows_balance"]
    assert balance.blocking
    assert raw_leads.op.retry_policy.max_retries == 2


def test_manifest_is_reparsed_only_when_the_dbt_project_changed() -> None:
    import os

    from baton.defs.project import baton_dbt_project

    from baton.lib.dbt_cli import manifest_is_current, prepare_manifest

    manifest = prepare_manifest(force=True)
    assert manifest_is_current()
    model = next((baton_dbt_project.project_dir / "models" / "marts").glob("*.sql"))
    os.utime(manifest, (model.stat().st_mtime - 10, model.stat().st_mtime - 10))  # a model edited after the parse
    assert not manifest_is_current()
    before = manifest.stat().st_mtime
    prepare_manifest()
    assert manifest.stat().st_mtime > before and manifest_is_current()


def test_the_dbt_resource_skips_dagster_dbt_s_version_subprocess_and_in_process_adapter() -> None:
    """BatonDbtCliResource overrides two private members of dagster-dbt's resource: if an upgrade
    renames them, the overrides would silently stop working (and cost ~2.5 s per run again)."""
    from dagster_dbt import DbtCliResource

    from baton.defs.dbt_resource import BatonDbtCliResource
    from baton.definitions import defs
    from baton.defs.project import baton_dbt_project
    from baton.lib.dbt_cli import dbt_executable

    assert isinstance(DbtCliResource.__dict__.get("_cli_version"), cached_property)
    assert callable(DbtCliResource.__dict__.get("_initialize_dbt_core_adapter"))
    assert isinstance(defs.resources["dbt"], BatonDbtCliResource)
    resource = BatonDbtCliResource(project_dir=baton_dbt_project, dbt_executable=dbt_executable())
    assert resource._cli_version == version.parse(importlib.metadata.version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None

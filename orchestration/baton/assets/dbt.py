"""The dbt models as Dagster assets; dbt data tests surface as asset checks."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from .. import dbt_builds
from ..project import baton_dbt_project
from ..resources import WarehouseResource
from .metrics import model_metadata

TRANSLATOR = DagsterDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)
)

# Unit tests check the SQL logic on fixed inputs: they run in the test suite, not nightly.
BUILD_ARGS = ["build", "--exclude", "resource_type:unit_test"]


@dbt_assets(
    manifest=baton_dbt_project.manifest_path,
    project=baton_dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    exclude="resource_type:unit_test",
)
def baton_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> Iterator[Any]:
    # dbt holds DuckDB's write lock while it runs, so figures for the UI are read
    # once it has finished, then attached to each model's materialization.
    target = baton_dbt_project.project_dir / "target"
    _keep_recent_invocation_folders(target)
    # A build of some models only (a selection in the UI) rebuilds its incremental
    # models whole and does not count as a complete build.
    complete = context.selected_asset_keys == context.assets_def.keys
    with warehouse.get_connection() as conn:
        plan = dbt_builds.plan_build(conn, json.loads(baton_dbt_project.manifest_path.read_text(encoding="utf-8")))
    extra_args = plan.dbt_args() if complete else []
    context.log.info(f"dbt build: {plan.mode if complete else 'selection, rebuilt whole'} ({plan.reason})")
    events: list[Any] = []
    failure: Exception | None = None
    invocation = dbt.cli([*BUILD_ARGS, *extra_args], context=context)
    try:
        for event in invocation.stream():
            events.append(event)
    except Exception as error:  # noqa: BLE001 - re-raised below, after the models that did build
        failure = error
    _keep_partial_parse_state(baton_dbt_project.project_dir / invocation.target_path, target)
    build_metadata = {"dbt_build": f"{plan.mode}: {plan.reason}" if complete else "selection, rebuilt whole"}
    with warehouse.get_connection() as conn:
        if failure is None and complete:
            dbt_builds.record_build(conn, plan)
        for event in events:
            if isinstance(event, dg.Output):
                asset_key = context.asset_key_for_output(event.output_name)
                yield event.with_metadata({**event.metadata, **model_metadata(conn, asset_key), **build_metadata})
            else:
                yield event
    if failure is not None:
        raise failure


def _keep_recent_invocation_folders(target: Path, keep: int = 5) -> None:
    """dagster-dbt gives every invocation its own folder under target/; keep the latest few
    (for debugging a failed night) instead of one more folder every night."""
    folders = sorted(target.glob(f"{baton_dbt_models.op.name}-*"), key=lambda p: p.stat().st_mtime)
    for folder in folders[:-keep] if len(folders) > keep else []:
        shutil.rmtree(folder, ignore_errors=True)


def _keep_partial_parse_state(invocation_target: Path, target: Path) -> None:
    """dagster-dbt starts each invocation from target/partial_parse.msgpack, which `baton parse`
    wrote under whatever profile it ran with (another warehouse path, other limits): dbt then
    found the profile changed and parsed the whole project again, every night (~3 s). The state
    this invocation saved matches the profile the next night runs with."""
    state = invocation_target / "partial_parse.msgpack"
    if state.is_file():
        staging = target / "partial_parse.msgpack.tmp"
        shutil.copyfile(state, staging)
        staging.replace(target / "partial_parse.msgpack")

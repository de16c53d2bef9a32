"""The dbt models as Dagster assets; dbt data tests surface as asset checks."""

import contextlib
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from baton.lib import dbt_builds

from baton.lib import settings
from baton.defs.project import baton_dbt_project
from baton.defs.resources import WarehouseResource
from baton.defs.metrics import model_metadata

TRANSLATOR = DagsterDbtTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)
)

# Unit tests check the SQL logic on fixed inputs: they run in the test suite, not nightly.
BUILD_ARGS = ["build", "--exclude", "resource_type:unit_test"]
KEEP_DBT_LOGS = 30


@dbt_assets(
    manifest=baton_dbt_project.manifest_path,
    project=baton_dbt_project,
    dagster_dbt_translator=TRANSLATOR,
    exclude="resource_type:unit_test",
)
def baton_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource) -> Iterator[Any]:
    # dbt holds DuckDB's write lock while it runs, so figures for the UI are read
    # once it has finished, then attached to each model's materialization.
    settings.pin_environment()  # dbt runs in the dbt project's folder: absolute paths for it
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
    # dbt fails at once when another process holds the warehouse: wait here, within the run's budget.
    warehouse.wait_until_free()
    log_path = dbt_log_path(context.run_id)
    context.log.info(f"dbt log: {log_path}")
    with log_path.open("a", encoding="utf-8") as dbt_log, _dbt_output_to(_DbtOutput(dbt_log, context.log.info)):
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


def dbt_log_path(run_id: str) -> Path:
    """dbt's own output of this run: `<warehouse folder>/logs/dbt-<run id>.log`."""
    folder = settings.log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("dbt-*.log"), key=lambda p: p.stat().st_mtime)[:-KEEP_DBT_LOGS]:
        old.unlink(missing_ok=True)
    return folder / f"dbt-{run_id}.log"


@contextlib.contextmanager
def _dbt_output_to(output: io.TextIOBase) -> Iterator[None]:
    """dagster-dbt echoes every dbt line on standard output: into the log file, unless verbose."""
    if settings.verbose():
        yield
        return
    with contextlib.redirect_stdout(output):
        yield


class _DbtOutput(io.TextIOBase):
    """dbt's lines, written to the log file; a model's result, or a data test that did not
    pass, is also reported as it happens (`baton run` prints it at once)."""

    _RESULT = re.compile(r"^\d+ of \d+ (?!START|PASS)")

    def __init__(self, log_file: TextIO, report: Callable[[str], None]) -> None:
        self._log_file = log_file
        self._report = report
        self._pending = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._log_file.write(text)
        lines = (self._pending + text).split("\n")
        self._pending = lines.pop()
        for line in lines:
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line).strip()
            if self._RESULT.match(plain):
                self._report(re.sub(r"\s*\.{3,}\s*", " ", plain))
        return len(text)

    def flush(self) -> None:
        self._log_file.flush()


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

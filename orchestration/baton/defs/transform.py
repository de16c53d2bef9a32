"""The dbt models as Dagster assets; dbt data tests surface as asset checks.

`BatonDbtTranslator` makes the UI read like the pipeline: each model in the group of its
layer (the folder under models/: staging, intermediate, marts), its description from its
yml (never its SQL), and every data test check described in words.
"""

import contextlib
import io
import json
import re
import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from baton.lib import dbt_builds, engine

from baton.lib import settings
from baton.defs.project import baton_dbt_project
from baton.defs.resources import WarehouseResource
from baton.defs.metrics import KPI_NOTES, model_metadata

# The dbt layers, one Dagster asset group each (the folder under dbt_project/models/).
DBT_LAYERS = ("staging", "intermediate", "marts")
LAYER_TAG = "baton/layer"


class BatonDbtTranslator(DagsterDbtTranslator):
    """Groups by layer, descriptions from the yml, a description for every dbt test check."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return _layer(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # dagster-dbt's default appends the model's raw SQL (and shows only SQL when the
        # yml has no description); the SQL is one click away in the file named here.
        props = dbt_resource_props
        text = (props.get("description") or "").strip() or f"dbt {props['resource_type']} {props['name']} (its yml has no description)."
        if props["resource_type"] == "model":
            materialized = props.get("config", {}).get("materialized", "model")
            text += f"\n\nBuilt by dbt as {'an' if materialized[0] in 'aeiou' else 'a'} {materialized} `{props.get('schema')}.{props.get('alias') or props['name']}` from `dbt_project/{props.get('original_file_path')}`."
            note = KPI_NOTES.get((props.get("schema"), props.get("alias") or props["name"]))
            if note:
                text += "\n\n" + note
        return text

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        layer = _layer(dbt_resource_props)
        return {**super().get_tags(dbt_resource_props), **({LAYER_TAG: layer} if layer else {})}

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):  # type: ignore[override]
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return spec._replace(description=describe_test(manifest, manifest["nodes"][unique_id]))


def _layer(props: Mapping[str, Any]) -> str | None:
    """staging / intermediate / marts from models/<layer>/...; another folder keeps its own name."""
    if props.get("resource_type") != "model":
        return None
    fqn = props.get("fqn") or []
    folder = fqn[1] if len(fqn) > 2 else "dbt"
    return re.sub(r"[^A-Za-z0-9_]", "_", folder)


def describe_test(manifest: Mapping[str, Any], test: Mapping[str, Any]) -> str:
    """A dbt data test in words: its own description when the yml gives one, else what it
    asserts from its name and arguments, e.g. "unique: fct_leads.lead_id has no duplicates";
    a singular test by the comment at the top of its SQL file. Says whether a failure blocks."""
    own = (test.get("description") or (test.get("meta") or {}).get("description") or "").strip()
    generic = test.get("test_metadata") or {}
    if own:
        text = own
    elif generic:
        text = _describe_generic(manifest, test, generic)
    else:
        text = _leading_comment(test.get("raw_code") or "") or (
            f"singular dbt test {test['name']}: fails when its query returns rows."
        )
        text += f" (`dbt_project/{test.get('original_file_path')}`)"
    where = (test.get("config") or {}).get("where")
    if where:
        text += f" (rows where {where})"
    severity = str((test.get("config") or {}).get("severity") or "error").lower()
    text += (
        " Severity error: a failure fails the run and blocks the models downstream."
        if severity == "error"
        else " Severity warn: a failure is reported, the run goes on."
    )
    return text


def _describe_generic(manifest: Mapping[str, Any], test: Mapping[str, Any], generic: Mapping[str, Any]) -> str:
    kwargs = generic.get("kwargs") or {}
    name = generic.get("name", "")
    model = _node_name(test.get("attached_node")) or _ref_name(kwargs.get("model"))
    column = kwargs.get("column_name") or test.get("column_name")
    target = f"{model}.{column}" if column else model
    if name == "unique":
        return f"unique: {target} has no duplicates."
    if name == "not_null":
        return f"not_null: {target} is never null."
    if name == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values") or [])
        return f"accepted_values: {target} is one of {values}."
    if name == "relationships":
        return f"relationships: every {target} is a {_ref_name(kwargs.get('to'))}.{kwargs.get('field')}."
    if name == "baton_unique_combination":
        return f"unique combination: no two rows of {model} share ({', '.join(kwargs.get('columns') or [])})."
    # Another generic test: its macro's description when it has one, else its arguments.
    macro = (manifest.get("macros") or {}).get(f"macro.{test.get('package_name')}.test_{name}") or {}
    shown = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k not in ("model", "column_name"))
    detail = (macro.get("description") or "").strip() or (f"({shown})" if shown else "")
    return f"{name}: {target} {detail}".rstrip() + "."


def _node_name(unique_id: str | None) -> str | None:
    # model.baton.fct_leads -> fct_leads; source.baton.raw.leads -> raw.leads
    if not unique_id:
        return None
    parts = unique_id.split(".")
    return ".".join(parts[3:]) if parts[0] == "source" else parts[-1]


def _ref_name(text: str | None) -> str:
    match = re.search(r"ref\(\s*['\"]([^'\"]+)['\"]", text or "")
    return match.group(1) if match else str(text)


def _leading_comment(sql: str) -> str:
    """The `--` comment lines at the top of a singular test (after its config() call)."""
    lines = []
    for line in sql.splitlines():
        stripped = line.strip()
        if stripped.startswith("--"):
            lines.append(stripped.lstrip("-").strip())
        elif lines or (stripped and not stripped.startswith("{{")):
            break
    return " ".join(line for line in lines if line)


TRANSLATOR = BatonDbtTranslator(
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
        if engine.is_spark():  # Spark reads the raw lake and the run's rules as Parquet (lib/engine.py)
            engine.prepare_spark_inputs(conn)
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
        if engine.is_spark() and failure is None:
            # the marts Spark built, copied into the warehouse file: serving, metrics, checks and report read them there
            engine.publish_spark_marts(conn)
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

"""Baton's one Definitions object: assets, checks, the nightly job and its schedule."""

from __future__ import annotations

import dagster as dg

from . import settings
from .assets.config import sal_rules
from .assets.dbt import baton_dbt_models
from .assets.raw import raw_assets
from .assets.serving import serving_copy
from .checks import undetermined_share_within_threshold
from .dbt_resource import BatonDbtCliResource
from .project import baton_dbt_project, dbt_executable
from .resources import WarehouseResource

settings.pin_environment()

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Load new landing files, then rebuild the marts and run their checks.",
    executor_def=dg.in_process_executor,
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_at_0200",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=settings.schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
)

defs = dg.Definitions(
    assets=[sal_rules, *raw_assets, baton_dbt_models, serving_copy],
    asset_checks=[undetermined_share_within_threshold],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    resources={
        "dbt": BatonDbtCliResource(
            project_dir=baton_dbt_project,
            profiles_dir=str(baton_dbt_project.profiles_dir),
            dbt_executable=dbt_executable(),
        ),
        "warehouse": WarehouseResource(database=dg.EnvVar("BATON_DUCKDB_PATH")),
    },
)

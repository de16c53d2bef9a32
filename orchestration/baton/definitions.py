"""Baton's one Definitions object: assets (defs/ingest, defs/transform, defs/serving), checks,
the nightly job and its schedule (defs/jobs), the new-landing-files sensor (defs/sensors).
Loading it changes nothing in the environment.

Asset groups, one per layer: `landing` (each entity's export files -> raw.<entity>, the rules
file -> config.rules), `staging`, `intermediate`, `marts` (the dbt models, by folder),
`serving` (the BI copy), `report`."""

from __future__ import annotations

import dagster as dg

from baton.defs.jobs import nightly_job, nightly_schedule
from baton.defs.sensors import new_landing_files
from baton.lib import settings
from baton.defs.config import sal_rules
from baton.defs.transform import baton_dbt_models
from baton.defs.ingest import raw_assets
from baton.defs.serving import serving_copy
from baton.defs.report import report_assets
from baton.defs.checks import undetermined_share_within_threshold
from baton.defs.dbt_resource import BatonDbtCliResource
from baton.defs.project import baton_dbt_project
from baton.lib.dbt_cli import dbt_executable
from baton.defs.resources import WarehouseResource

defs = dg.Definitions(
    assets=[sal_rules, *raw_assets, baton_dbt_models, serving_copy, *report_assets],
    asset_checks=[undetermined_share_within_threshold],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    sensors=[new_landing_files],
    resources={
        "dbt": BatonDbtCliResource(
            project_dir=baton_dbt_project,
            profiles_dir=str(baton_dbt_project.profiles_dir),
            dbt_executable=dbt_executable(),
        ),
        "warehouse": WarehouseResource(database=str(settings.duckdb_path())),
    },
)

"""The nightly job (every asset, in one process) and its 02:00 schedule."""

from __future__ import annotations

import dagster as dg

from baton.lib import settings

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

"""The nightly job (every asset, in one process), its 02:00 schedule, and the tags every run carries.

Every run of the job, however it starts (`baton run`, the schedule, the `new_landing_files`
sensor in defs/sensors.py, the UI's Materialize), computes with the settings of the process
that runs it. The tags record them where the Runs page can filter on them:

- `baton/as_of`: the as-of date (BATON_AS_OF, or today's UTC date when the run is requested);
- `baton/landing_dir`: the landing folder the run reads (BATON_LANDING_DIR);
- `baton/rules_version`: the `version` of the rules file (BATON_RULES);
- `baton/trigger`: `baton run`, `schedule` or `sensor`.

A run launched from the UI by hand carries none (the UI adds its own); its figures still carry
`as_of_date` in their metadata (defs/metrics.py).
"""

from __future__ import annotations

import dagster as dg

from baton.lib import settings
from baton.lib.rules import load_rules

AS_OF_TAG = "baton/as_of"
LANDING_TAG = "baton/landing_dir"
RULES_VERSION_TAG = "baton/rules_version"
TRIGGER_TAG = "baton/trigger"

nightly_job = dg.define_asset_job(
    "nightly",
    selection=dg.AssetSelection.all(),
    description="Load new landing files, then rebuild the marts and run their checks.",
    executor_def=dg.in_process_executor,
)


# Runs the daemon launches log to its standard output (the journal, under systemd): steps,
# files, models and failures, not Dagster's DEBUG line per output and check (the run's event
# log in the UI has every event either way).
LAUNCHED_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def run_tags(trigger: str) -> dict[str, str]:
    """The `baton/*` tags of a run requested now, from the environment. A bad as-of date or
    rules file is named in its tag, not raised: the run itself then fails, loudly, on it."""
    tags = {TRIGGER_TAG: trigger, LANDING_TAG: str(settings.landing_dir())}
    try:
        tags[AS_OF_TAG] = settings.as_of_date().isoformat()
    except ValueError:
        tags[AS_OF_TAG] = "invalid BATON_AS_OF"
    try:
        tags[RULES_VERSION_TAG] = str(load_rules(settings.rules_path()).version)
    except Exception:  # noqa: BLE001 - the run reports the rules file's problem, with its line
        tags[RULES_VERSION_TAG] = "invalid rules file"
    return tags


@dg.schedule(
    name="nightly_at_0200",
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone=settings.schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="The nightly run at 02:00 (BATON_SCHEDULE_TIMEZONE, default UTC); needs `dagster-daemon` (`baton serve`).",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(tags=run_tags("schedule"), run_config=LAUNCHED_RUN_CONFIG)

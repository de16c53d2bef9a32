"""`new_landing_files`: start the nightly job when export files arrive, besides the 02:00 schedule.

How it knows a file is new, cheaply and without touching the warehouse: it lists the landing
folder as a run would (lib/extract/landing.py `discover`, every entity) and stats each data
file: path, size, modification time, inode and change time, the same identity the loader
uses to recognise a file without hashing it (loader.py `_known_by_size_and_time`). Its
cursor, kept in the sensor's own state in DAGSTER_HOME, is a digest of that list as of the
last run it requested. It never opens the DuckDB warehouse: a reader there could hold up
the nightly writer, and the ledger, not the sensor, decides what a run loads.

Each evaluation (every BATON_SENSOR_INTERVAL_SECONDS, default 60):

1. no cursor yet (the first evaluation on a Dagster home): record the folder as it is and
   request nothing; history already there is the schedule's (or `baton run`'s) business;
2. a data file modified less than BATON_SETTLE_SECONDS ago (a copy in progress): skip, and
   look again; one run per drop, once the whole drop has settled;
3. the settled files are what the cursor says: skip;
4. a Baton run is in progress (one queued or starting, or the warehouse's writer lock
   `<warehouse>.lock` held): skip without moving the cursor, so the files are looked at
   again once that run ends (a file that arrived during the run gets its own run);
5. otherwise: request one run of `nightly`, tagged like every run (defs/jobs.py), and move
   the cursor. A removed or rewritten file also changes the digest: the run that follows is
   the one that stops failing on a removed file, or loads the new version.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from baton.defs.jobs import LAUNCHED_RUN_CONFIG, nightly_job, run_tags
from baton.lib import settings
from baton.lib.extract.entities import ENTITIES
from baton.lib.extract.landing import discover

SENSOR_NAME = "new_landing_files"
DEFAULT_INTERVAL_SECONDS = 60
IN_PROGRESS = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
)
NOT_YET_RUNNING = (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING)


def interval_seconds() -> int:
    """How often the daemon evaluates the sensor (BATON_SENSOR_INTERVAL_SECONDS, read when the definitions load)."""
    value = os.environ.get("BATON_SENSOR_INTERVAL_SECONDS", "").strip()
    try:
        return max(1, int(value)) if value else DEFAULT_INTERVAL_SECONDS
    except ValueError:
        return DEFAULT_INTERVAL_SECONDS


@dataclass(frozen=True)
class LandingFileState:
    path: str  # relative to the landing folder
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int


@dataclass
class LandingSnapshot:
    settled: list[LandingFileState] = field(default_factory=list)
    # (path, seconds until it counts as settled)
    unsettled: list[tuple[str, float]] = field(default_factory=list)

    def digest(self) -> str:
        text = "\n".join(f"{f.path}\t{f.size}\t{f.mtime_ns}\t{f.inode}\t{f.ctime_ns}" for f in sorted(self.settled, key=lambda f: f.path))
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    def cursor(self) -> str:
        newest = max((f.ctime_ns for f in self.settled), default=0)
        return json.dumps({"digest": self.digest(), "files": len(self.settled), "newest_ctime_ns": newest})


def snapshot(landing: Path, settle_seconds: float, now_ns: int | None = None) -> LandingSnapshot:
    """Every data file of every entity the loader would read, by stat only (nothing is opened)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    result = LandingSnapshot()
    for entity in ENTITIES:
        for landing_file in discover(landing, entity):
            if landing_file.ignored is not None or landing_file.refusal is not None:
                continue
            try:
                stat = landing_file.path.stat()
            except OSError:
                continue  # vanished, or unreadable: the run reports it
            relative = os.path.relpath(landing_file.path, landing)
            age = (now_ns - stat.st_mtime_ns) / 1e9
            if settle_seconds > 0 and age < settle_seconds:
                result.unsettled.append((relative, settle_seconds - age))
            else:
                result.settled.append(LandingFileState(relative, stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns))
    return result


def writer_lock_held(warehouse: Path) -> bool:
    """Whether a Baton writer (a run, `baton skip`, `baton rules diff`) holds `<warehouse>.lock`
    (lib/warehouse.py `writer_lock`). A shared, non-blocking probe of the lock file, released at
    once; neither the lock file nor the warehouse is created or opened for writing."""
    lock = Path(f"{warehouse}.lock")
    try:
        handle = lock.open("rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def run_in_progress(instance: dg.DagsterInstance, warehouse: Path) -> str | None:
    """What keeps a new run from being useful now, if anything: a nightly run waiting to start,
    or any Baton writer holding the warehouse's lock (a run killed mid-way, still STARTED in
    the run history, holds no lock and does not block the sensor forever)."""
    for record in instance.get_run_records(filters=dg.RunsFilter(job_name=nightly_job.name, statuses=list(NOT_YET_RUNNING)), limit=1):
        return f"run {record.dagster_run.run_id} is {record.dagster_run.status.value.lower()}"
    if writer_lock_held(warehouse):
        started = instance.get_run_records(filters=dg.RunsFilter(job_name=nightly_job.name, statuses=list(IN_PROGRESS)), limit=1)
        return f"run {started[0].dagster_run.run_id} is in progress" if started else f"a Baton process is writing {warehouse}"
    return None


def _previous(cursor: str | None) -> dict | None:
    if not cursor:
        return None
    try:
        value = json.loads(cursor)
    except ValueError:
        return None
    return value if isinstance(value, dict) and "digest" in value else None


@dg.sensor(
    name=SENSOR_NAME,
    job=nightly_job,
    minimum_interval_seconds=interval_seconds(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Starts the nightly job when a landing file is new or changed (by path, size and file times; the warehouse "
        "is never opened), once no landing file has been modified for BATON_SETTLE_SECONDS and no Baton run is in "
        "progress. The first evaluation on a Dagster home only records the folder. Needs `dagster-daemon` (`baton serve`)."
    ),
)
def new_landing_files(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    landing = settings.landing_dir()
    if not landing.is_dir():
        return dg.SkipReason(f"the landing folder {landing} is not a folder (BATON_LANDING_DIR)")
    try:
        settle = settings.settle_seconds()
    except ValueError as error:
        return dg.SkipReason(str(error))
    current = snapshot(landing, settle)
    previous = _previous(context.cursor)
    if previous is None:
        return dg.SensorResult(
            skip_reason=f"first evaluation: {len(current.settled)} landing file(s) in {landing} recorded; a run is requested when they change",
            cursor=current.cursor(),
        )
    if current.unsettled:
        shown = ", ".join(f"{path} ({wait:.0f} s)" for path, wait in current.unsettled[:5])
        return dg.SkipReason(
            f"{len(current.unsettled)} landing file(s) modified in the last {settle:g} s (BATON_SETTLE_SECONDS), "
            f"waiting until the drop has settled: {shown}"
        )
    if current.digest() == previous["digest"]:
        return dg.SkipReason(f"no new or changed landing file ({len(current.settled)} in {landing})")
    if not current.settled:
        return dg.SensorResult(skip_reason=f"the landing folder {landing} is now empty: nothing to load", cursor=current.cursor())
    busy = run_in_progress(context.instance, settings.duckdb_path())
    if busy:
        return dg.SkipReason(f"landing files changed, but {busy}: looking again after it")
    newer = [f.path for f in current.settled if f.ctime_ns > int(previous.get("newest_ctime_ns", 0))]
    context.log.info(
        f"landing files changed ({previous.get('files')} -> {len(current.settled)} files); new or rewritten: "
        + (", ".join(newer[:20]) + (f" and {len(newer) - 20} more" if len(newer) > 20 else "") if newer else "none (a file was removed or its times restored)")
    )
    return dg.SensorResult(run_requests=[dg.RunRequest(tags=run_tags("sensor"), run_config=LAUNCHED_RUN_CONFIG)], cursor=current.cursor())

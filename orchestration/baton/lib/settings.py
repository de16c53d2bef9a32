"""Where Baton reads and writes, from the environment (CONTRACT section 1).

Read at call time, not import time, so `baton run` and tests can point one
process at another landing folder or warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SAMPLE_LANDING_DIR = REPO_ROOT / "seeds"
DEFAULT_SETTLE_SECONDS = 60.0
DEFAULT_LOCK_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Setting:
    env_var: str
    default: str
    meaning: str
    flag: str | None = None  # the `baton run` option that overrides it


# Every setting Baton reads (`baton run --help` and the README print this table).
SETTINGS = (
    Setting("BATON_LANDING_DIR", "the shipped sample export (seeds/)", "landing folder of the nightly exports", "--landing"),
    Setting("BATON_DUCKDB_PATH", "data/baton.duckdb", "the DuckDB warehouse file (a DuckDB file, or absent)", "--warehouse"),
    Setting("BATON_RULES", "rules/default.yml", "SAL and attribution rules file", "--rules"),
    Setting("BATON_ENGINE", "duckdb", "the engine dbt builds the models on: duckdb (embedded) or spark (the spark extra and Java 17; docs/scale-out.md)"),
    Setting("BATON_DBT_TARGET", "spark", "with BATON_ENGINE=spark: the profiles.yml output: spark (local session), spark_thrift, databricks"),
    Setting("BATON_LAKE_DIR", "<warehouse folder>", "with BATON_ENGINE=spark: the warehouse folder as Spark sees it (raw/ lake, config/rules, local Spark tables)"),
    Setting("BATON_SPARK_MARTS_DIR", "<warehouse folder>/spark/warehouse/marts.db", "with BATON_ENGINE=spark: where the marts Spark wrote are read from to publish them"),
    Setting("BATON_SPARK_MASTER", "local[*]", "local Spark session: master"),
    Setting("BATON_SPARK_DRIVER_MEMORY", "2g", "local Spark session: driver memory"),
    Setting("BATON_SPARK_SHUFFLE_PARTITIONS", "8", "local Spark session: shuffle partitions"),
    Setting("BATON_SPARK_ADAPTIVE", "false", "local Spark session: adaptive query execution (off: a Spark 4.3 bug, docs/scale-out.md)"),
    Setting("BATON_MAPPINGS", "unset", "a folder of import mappings (*.yml), tried after <landing>/_mappings/ and before the presets", "--mappings"),
    Setting("BATON_AS_OF", "today (UTC)", "as-of date, YYYY-MM-DD (open deals, windows)", "--as-of"),
    Setting("BATON_SERVING_PATH", "<warehouse>.serving.duckdb", "the copy of the marts BI tools read"),
    Setting("BATON_SETTLE_SECONDS", f"{DEFAULT_SETTLE_SECONDS:g} (0 for the sample)", "a landing file modified more recently is deferred to the next run", "--settle-seconds"),
    Setting("BATON_LOCK_WAIT_SECONDS", f"{DEFAULT_LOCK_WAIT_SECONDS:g}", "most seconds a run waits, in total, for another process holding the warehouse file"),
    Setting("BATON_DUCKDB_MEMORY_LIMIT", "1.5GB", "DuckDB memory limit (Baton's and dbt's sessions)"),
    Setting("BATON_DUCKDB_THREADS", "the number of cores", "DuckDB threads"),
    Setting("BATON_DUCKDB_TEMP_DIR", "<warehouse>.tmp", "DuckDB spill folder"),
    Setting("BATON_FRESHNESS_DAYS", "2", "the landing_freshness check warns when an entity's newest file is older"),
    Setting("BATON_REPORT_DIR", "<warehouse folder>/report", "the folder of the nightly HTML report (index.html)"),
    Setting("BATON_PII_KEY", "unset", "key of the email hash in the serving copy (unset: no email column)"),
    Setting("BATON_SERVE_PII", "unset", "1 publishes raw emails and names to the serving copy"),
    Setting("BATON_SCHEDULE_TIMEZONE", "UTC", "time zone of the 02:00 nightly schedule"),
    Setting("BATON_SENSOR_INTERVAL_SECONDS", "60", "how often the daemon looks for new landing files (the new_landing_files sensor)"),
    Setting("BATON_VERBOSE", "unset", "1 shows Dagster's and dbt's own logs on the terminal", "--verbose"),
    Setting("DAGSTER_HOME", ".dagster_home in the repository", "Dagster's run history and schedule state"),
)


def landing_dir() -> Path:
    return Path(os.environ.get("BATON_LANDING_DIR") or SAMPLE_LANDING_DIR).resolve()


def duckdb_path() -> Path:
    return Path(os.environ.get("BATON_DUCKDB_PATH") or "data/baton.duckdb").resolve()


def rules_path() -> Path | None:
    value = os.environ.get("BATON_RULES")
    return Path(value).resolve() if value else None


def mappings_dir() -> Path | None:
    """The folder (or one file) of import mappings `BATON_MAPPINGS` names, if any."""
    value = os.environ.get("BATON_MAPPINGS", "").strip()
    return Path(value).resolve() if value else None


def as_of_date() -> dt.date:
    value = os.environ.get("BATON_AS_OF")
    if not value:
        return dt.datetime.now(dt.timezone.utc).date()
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as error:
        raise ValueError(f"BATON_AS_OF must be a date as YYYY-MM-DD, got {value!r}") from error


def schedule_timezone() -> str:
    return os.environ.get("BATON_SCHEDULE_TIMEZONE") or "UTC"


def settle_seconds() -> float:
    """How long a landing file must be left alone before it is read (a file still being
    copied is deferred). 0 for the shipped sample: nothing is ever written into it."""
    default = 0.0 if landing_dir() == SAMPLE_LANDING_DIR.resolve() else DEFAULT_SETTLE_SECONDS
    return _seconds("BATON_SETTLE_SECONDS", default)


def lock_wait_seconds() -> float:
    """The most a run waits, in total, for another process to let go of the warehouse file."""
    return _seconds("BATON_LOCK_WAIT_SECONDS", DEFAULT_LOCK_WAIT_SECONDS)


def _seconds(env_var: str, default: float) -> float:
    value = os.environ.get(env_var)
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise ValueError(f"{env_var} must be a number of seconds >= 0, got {value!r}")
    return seconds


def verbose() -> bool:
    return os.environ.get("BATON_VERBOSE", "").strip().lower() in ("1", "true", "yes")


def log_dir() -> Path:
    """Where dbt's output of each run goes (`<warehouse folder>/logs`)."""
    return duckdb_path().parent / "logs"


def pin_environment() -> None:
    """Make the resolved paths absolute in the environment, so dbt (which runs
    in the dbt project folder) and Dagster (which may run elsewhere) agree.
    Creates nothing: `preflight` checks the paths before anything is written."""
    os.environ["BATON_LANDING_DIR"] = str(landing_dir())
    os.environ["BATON_DUCKDB_PATH"] = str(duckdb_path())
    if mappings_dir() is not None:
        os.environ["BATON_MAPPINGS"] = str(mappings_dir())
    # DuckDB limits, shared by Baton's own sessions and dbt's (profiles.yml reads them).
    # 1.5GB keeps a full build of 1M leads / 20M events under 2 GB for the whole process tree
    # (Dagster's process plus dbt's); DuckDB spills beyond it (docs/performance.md).
    os.environ.setdefault("BATON_DUCKDB_MEMORY_LIMIT", "1.5GB")
    os.environ.setdefault("BATON_DUCKDB_THREADS", str(os.cpu_count() or 1))
    os.environ.setdefault("BATON_DUCKDB_TEMP_DIR", str(duckdb_path()) + ".tmp")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def serving_path() -> Path:
    """The BI copy of the marts; default `<warehouse>` with `.serving` before the suffix."""
    value = os.environ.get("BATON_SERVING_PATH")
    if value:
        return Path(value).resolve()
    warehouse = duckdb_path()
    return warehouse.with_name(f"{warehouse.stem}.serving{warehouse.suffix or '.duckdb'}")


def report_dir() -> Path:
    """Where the nightly report goes: BATON_REPORT_DIR, else `<warehouse folder>/report`."""
    value = os.environ.get("BATON_REPORT_DIR", "").strip()
    return Path(value).resolve() if value else duckdb_path().parent / "report"


def pii_key() -> str | None:
    return os.environ.get("BATON_PII_KEY") or None


def serve_pii() -> bool:
    return os.environ.get("BATON_SERVE_PII", "").strip().lower() in ("1", "true", "yes")


DAGSTER_INSTANCE_YAML = """\
# Written by Baton: no telemetry; one run at a time (runs also share a warehouse lock).
telemetry:
  enabled: false
run_queue:
  max_concurrent_runs: 1
# A run whose worker was killed would otherwise hold the one queue slot forever.
run_monitoring:
  enabled: true
  max_runtime_seconds: 21600
"""


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME (default: the repo's .dagster_home), with telemetry off if it has no dagster.yaml yet."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_INSTANCE_YAML)
    return home

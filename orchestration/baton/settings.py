"""Where Baton reads and writes, from the environment (CONTRACT section 1).

Read at call time, not import time, so `baton run` and tests can point one
process at another landing folder or warehouse.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SAMPLE_LANDING_DIR = REPO_ROOT / "seeds"


def landing_dir() -> Path:
    return Path(os.environ.get("BATON_LANDING_DIR") or SAMPLE_LANDING_DIR).resolve()


def duckdb_path() -> Path:
    return Path(os.environ.get("BATON_DUCKDB_PATH") or "data/baton.duckdb").resolve()


def rules_path() -> Path | None:
    value = os.environ.get("BATON_RULES")
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


def pin_environment() -> None:
    """Make the resolved paths absolute in the environment, so dbt (which runs
    in the dbt project folder) and Dagster (which may run elsewhere) agree."""
    os.environ["BATON_LANDING_DIR"] = str(landing_dir())
    os.environ["BATON_DUCKDB_PATH"] = str(duckdb_path())
    duckdb_path().parent.mkdir(parents=True, exist_ok=True)
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
"""


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME (default: the repo's .dagster_home), with telemetry off if it has no dagster.yaml yet."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / ".dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_INSTANCE_YAML)
    return home

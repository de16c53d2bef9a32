"""Shared fixtures: a warehouse built once from the shipped sample, through the real CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AS_OF = "2026-11-15"
BATON = str(Path(sys.executable).with_name("baton"))


def baton_env(tmp: Path, **overrides: str) -> dict[str, str]:
    """An environment for a `baton` subprocess that touches nothing outside `tmp`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        DO_NOT_TRACK="1",
        DAGSTER_HOME=str(tmp / "dagster_home"),
        BATON_DUCKDB_PATH=str(tmp / "warehouse.duckdb"),
        BATON_AS_OF=SAMPLE_AS_OF,
        # Tests write their landing files just before the run: nothing is still being copied.
        BATON_SETTLE_SECONDS="0",
    )
    (tmp / "dagster_home").mkdir(parents=True, exist_ok=True)
    env.update(overrides)
    return env


def run_baton(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BATON, *(args or ("run",))], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample export built once with `baton run` (as of 2026-11-15). Treat as read-only."""
    tmp = tmp_path_factory.mktemp("sample_build")
    completed = run_baton(baton_env(tmp))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    return tmp / "warehouse.duckdb"


@pytest.fixture
def warehouse_copy(built_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the built sample warehouse, for tests that run again on top of it."""
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse, target)
    return target


@pytest.fixture(scope="session", autouse=True)
def duckdb_manifest() -> None:
    """Definitions loaded in this process read dbt_project/target/manifest.json, parsed for one
    engine's dbt target; a `baton run` with BATON_ENGINE=spark (tests/test_spark.py, or the
    developer's own) re-parses it for Spark. The suite's in-process tests are DuckDB's."""
    from baton.lib.dbt_cli import prepare_manifest

    for name in ("BATON_ENGINE", "BATON_DBT_TARGET"):
        os.environ.pop(name, None)
    prepare_manifest()

"""The dbt project, on its own so that importing it is cheap and side-effect free.

`@dbt_assets` reads `manifest.json` when the Definitions load: `baton run`,
the tests and CI call `prepare_manifest()` first; `dagster dev` relies on
`prepare_if_dev()`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from .settings import DBT_PROJECT_DIR

baton_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
baton_dbt_project.prepare_if_dev()


def prepare_manifest() -> Path:
    """Parse the dbt project (partial parsing keeps a repeat to about a second)."""
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt) if dbt.exists() else "dbt", "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{completed.stdout}\n{completed.stderr}")
    return baton_dbt_project.manifest_path

"""The dbt project, on its own so that importing it is cheap and side-effect free.

`@dbt_assets` reads `manifest.json` when the Definitions load: `baton run`,
the tests and CI call `prepare_manifest()` first; `dagster dev` relies on
`prepare_if_dev()`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from .settings import DBT_PROJECT_DIR

baton_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
baton_dbt_project.prepare_if_dev()


def dbt_executable() -> str:
    """The dbt installed in this Python environment (the project's venv), so nothing
    depends on an activated venv; else whatever `dbt` is on PATH."""
    for candidate in (Path(sys.prefix) / "bin" / "dbt", Path(sys.executable).with_name("dbt")):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


def _project_files() -> list[Path]:
    return [
        path
        for folder in ("models", "macros", "tests")
        for path in (DBT_PROJECT_DIR / folder).rglob("*")
        if path.is_file()
    ] + [DBT_PROJECT_DIR / "dbt_project.yml"]


def manifest_is_current() -> bool:
    manifest = baton_dbt_project.manifest_path
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    return all(path.stat().st_mtime <= built for path in _project_files())


def prepare_manifest(force: bool = False) -> Path:
    """Parse the dbt project unless the manifest is newer than every project file
    (it describes models and tests, not data: nothing else changes it)."""
    if not force and manifest_is_current():
        return baton_dbt_project.manifest_path
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{completed.stdout}\n{completed.stderr}")
    return baton_dbt_project.manifest_path

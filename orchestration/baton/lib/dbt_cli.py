"""The dbt command of this environment, and the manifest the Dagster definitions load
(`prepare_manifest` parses the project when a file of it is newer than the manifest, or
when it was parsed for another engine's dbt target: BATON_ENGINE, baton.lib.engine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from baton.lib import engine
from baton.lib.settings import DBT_PROJECT_DIR

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# the dbt target the manifest was parsed for (a model's materialization and a
# contract's types depend on it: macros/cross_db.sql)
MANIFEST_TARGET_PATH = DBT_PROJECT_DIR / "target" / "baton_manifest_target"


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
    manifest = MANIFEST_PATH
    if not manifest.exists():
        return False
    if not MANIFEST_TARGET_PATH.exists() or MANIFEST_TARGET_PATH.read_text(encoding="utf-8").strip() != engine.dbt_target():
        return False
    built = manifest.stat().st_mtime
    return all(path.stat().st_mtime <= built for path in _project_files())


def prepare_manifest(force: bool = False) -> Path:
    """Parse the dbt project unless the manifest is newer than every project file
    (it describes models and tests, not data: nothing else changes it)."""
    if not force and manifest_is_current():
        return MANIFEST_PATH
    target = engine.dbt_target()
    engine.check_requirements()
    env = {**os.environ, **engine.dbt_environment(), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target", target]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{completed.stdout}\n{completed.stderr}")
    MANIFEST_TARGET_PATH.write_text(target + "\n", encoding="utf-8")
    return MANIFEST_PATH

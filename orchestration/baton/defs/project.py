"""The dbt project as dagster-dbt sees it.

`@dbt_assets` reads `manifest.json` when the Definitions load: `baton run`,
the tests and CI call `baton.lib.dbt_cli.prepare_manifest()` first; `dagster
dev` relies on `prepare_if_dev()`. The dbt target is the engine's
(BATON_ENGINE: `default` on DuckDB, `spark` on Spark; baton.lib.engine).
"""

from __future__ import annotations


from dagster_dbt import DbtProject

from baton.lib import engine
from baton.lib.settings import DBT_PROJECT_DIR

baton_dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=engine.dbt_target())
baton_dbt_project.prepare_if_dev()

"""The serving copy for BI tools (a DuckDB file plus Parquet and CSV files), published after every successful build."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg

from baton.lib import settings
from baton.defs.resources import WarehouseResource
from baton.lib.extract.status import blocking_problems
from baton.lib.serving import CSV_MAX_ROWS, SERVING_STORAGE_VERSION, files_path, publish
from baton.defs.transform import baton_dbt_models

MART_KEYS = sorted((key for key in baton_dbt_models.keys if key.path[0] == "marts"), key=lambda k: k.path)


def kept_for_failed_files(context: dg.AssetExecutionContext, conn, what: str) -> bool:
    """True (and a warning naming the files) when a landing file failed this run: then `what` is
    not replaced, and its readers keep the last good figures. The serving copy and the report share it."""
    problems = blocking_problems(conn)
    if problems:
        context.log.warning(
            f"{what} NOT replaced: {len(problems)} landing file(s) did not load ("
            + "; ".join(f"{Path(path).name}: {status}" for _, path, status, _ in problems[:5])
            + "); readers keep the last good figures"
        )
    return bool(problems)


@dg.asset(
    key=["serving", "marts"],
    group_name="serving",
    deps=MART_KEYS,
    description=(
        "A read-only copy of the marts for BI tools (BATON_SERVING_PATH, in a storage format DuckDB 1.1+ opens), "
        f"and the same tables as Parquet files (and CSV, up to {CSV_MAX_ROWS:,} rows) in `<serving stem>.files/`; both replaced atomically after each "
        "successful build in which every landing file loaded; emails hashed (BATON_PII_KEY) and names left out unless "
        "BATON_SERVE_PII=1. See docs/bi.md."
    ),
    kinds={"duckdb", "parquet", "csv"},
    # Not materialized when a landing file failed: readers keep the last good figures.
    output_required=False,
)
def serving_copy(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.MaterializeResult]:
    target = settings.serving_path()
    with warehouse.get_connection() as conn:
        if kept_for_failed_files(context, conn, f"serving copy {target}"):
            return
        published = publish(conn, target, settings.pii_key(), settings.serve_pii())
    files = files_path(target)
    context.log.info(f"published {len(published)} tables to {target} and as Parquet and CSV to {files}")
    yield dg.MaterializeResult(
        metadata={
            "serving_path": dg.MetadataValue.path(str(target)),
            "storage_version": SERVING_STORAGE_VERSION,
            "files_path": dg.MetadataValue.path(str(files)),
            "tables": dg.MetadataValue.md(
                "\n".join(f"- `{t.schema}.{t.table}`: {t.rows} rows ({', '.join(f.rsplit('.', 1)[1] for f in t.files)})" for t in published)
            ),
            "personal_data": "raw" if settings.serve_pii() else ("email hashed" if settings.pii_key() else "left out"),
        }
    )

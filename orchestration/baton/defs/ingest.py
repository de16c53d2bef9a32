"""One asset per landing entity: new export files -> `raw.<entity>` (+ quarantine, ledger)."""


from datetime import datetime, timezone

import dagster as dg

from baton.lib import settings
from baton.lib.extract.entities import ENTITIES, Entity
from baton.dev.faults import crash_point, fail_once_point
from baton.lib.freshness import freshness_days, newest_file_age_days
from baton.lib.extract.loader import load_entity
from baton.lib.extract.status import BLOCKING_STATUSES, REPORTED_STATUSES, record_landing_status
from baton.lib.preflight import SettingsError, check_landing
from baton.lib.extract.mappings import load_mappings
from baton.lib.rules import load_rules
from baton.lib.extract.balance import rows_balance_problems
from baton.defs.resources import WarehouseResource

ROWS_BALANCE_CHECK = "rows_balance"
FRESHNESS_CHECK = "landing_freshness"
FILES_LOADED_CHECK = "landing_files_loaded"
PROBLEM_FILES_METADATA = "problem_files"
# What enters from outside: the landing folder's exports (raw.<entity>) and the rules file (config.rules).
LANDING_GROUP = "landing"


def build_raw_asset(entity: Entity) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", entity.name])

    @dg.asset(
        key=key,
        group_name=LANDING_GROUP,
        description=(
            f"`{entity.name}` export files from the landing folder (BATON_LANDING_DIR: `{entity.name}/*` and "
            f"`{entity.name}.csv`), each loaded once (by content hash) into `raw.{entity.name}`; bad rows go to "
            f"audit.quarantine, every file's verdict to audit.load_ledger."
            + (" Optional entity: an absent folder is fine." if entity.optional else "")
            + " Materialization metadata: files loaded / failed / deferred / ignored and rows read / loaded / "
            "quarantined in this run, `raw_rows_total` in the table."
        ),
        kinds={"python", "duckdb"},
        tags={"baton/layer": LANDING_GROUP},
        check_specs=[
            dg.AssetCheckSpec(
                ROWS_BALANCE_CHECK,
                asset=key,
                blocking=True,
                description="For every loaded file: rows read = rows in raw + rows in quarantine.",
            ),
            dg.AssetCheckSpec(
                FILES_LOADED_CHECK,
                asset=key,
                description=(
                    "Every export file of the entity loaded: fails (error) while a file failed (bad header, "
                    "encoding, format) or hit a transient error; the marts are still built but the serving "
                    "copy is not replaced. A failed file fails every night until fixed, removed or `baton skip`ped."
                ),
            ),
            dg.AssetCheckSpec(
                FRESHNESS_CHECK,
                asset=key,
                description="Warns when no new export file arrived for BATON_FRESHNESS_DAYS days (default 2).",
            ),
        ],
        # A transient failure (a network share hiccup, a file still being copied) gets two more tries.
        retry_policy=dg.RetryPolicy(max_retries=2, delay=5),
    )
    def _raw_asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        # Validating the rules first keeps a bad rules file from writing anything.
        load_rules(settings.rules_path())
        landing = settings.landing_dir()
        try:
            check_landing(landing)  # a folder that vanished since the run started: loading "nothing" would be a lie
        except SettingsError as error:
            raise dg.Failure(description=str(error)) from None
        fail_once_point(f"extract:{entity.name}")
        with warehouse.get_connection() as conn:
            loads = load_entity(
                conn, entity.name, landing, progress=context.log.info, settle_seconds=settings.settle_seconds(),
                mappings=load_mappings(landing, settings.mappings_dir()),
            )
            record_landing_status(conn, entity.name, loads)
            problems = rows_balance_problems(conn, entity.name)
            total_rows = conn.execute(f"SELECT count(*) FROM raw.{entity.name}").fetchone()[0]
            age_days = newest_file_age_days(conn, entity.name, datetime.now(timezone.utc).replace(tzinfo=None))
        crash_point(f"extract:after:{entity.name}")
        new = [load for load in loads if load.status != "unchanged"]
        failed = [load for load in loads if load.status in BLOCKING_STATUSES]
        reported = [load for load in loads if load.status in REPORTED_STATUSES]
        yield dg.MaterializeResult(
            metadata={
                "files_loaded": sum(load.status == "loaded" for load in new),
                "files_skipped_duplicate": sum(load.status == "duplicate" for load in new),
                "files_failed": len(failed),
                "files_deferred": sum(load.status == "deferred" for load in loads),
                "files_ignored": sum(load.status == "ignored" for load in loads),
                "rows_read": sum(load.rows_read for load in new),
                "rows_loaded": sum(load.rows_loaded for load in new),
                "rows_quarantined": sum(load.rows_quarantined for load in new),
                "raw_rows_total": total_rows,
                "failed_files": dg.MetadataValue.md(
                    "\n".join(f"- `{load.path}` ({load.status}): {load.reason}" for load in failed) or "none"
                ),
                # What `baton run` shows in its summary: every file that did not simply load.
                PROBLEM_FILES_METADATA: dg.MetadataValue.json(
                    [
                        {"entity": entity.name, "path": load.path, "status": load.status, "reason": load.reason}
                        for load in reported
                    ]
                ),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=FILES_LOADED_CHECK,
                    passed=not failed,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "files_failed": len(failed),
                        "details": "\n".join(f"{load.path} ({load.status}): {load.reason}" for load in failed[:20]) or "none",
                    },
                ),
                dg.AssetCheckResult(
                    check_name=ROWS_BALANCE_CHECK,
                    passed=not problems,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={"files_out_of_balance": len(problems), "details": "\n".join(problems[:20]) or "none"},
                ),
                dg.AssetCheckResult(
                    check_name=FRESHNESS_CHECK,
                    # an optional entity that never had a file is not stale
                    passed=(age_days is None and entity.optional) or (age_days is not None and age_days <= freshness_days()),
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        "newest_file_age_days": dg.MetadataValue.float(round(age_days, 2) if age_days is not None else -1.0),
                        "max_age_days": dg.MetadataValue.float(freshness_days()),
                    },
                ),
            ],
        )

    _raw_asset.__name__ = f"raw_{entity.name}"
    return _raw_asset


raw_assets = [build_raw_asset(entity) for entity in ENTITIES.values()]

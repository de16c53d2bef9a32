"""The rules file as an asset: validated before anything else is written."""


import dagster as dg

from baton.lib import settings
from baton.lib.rules import load_rules
from baton.lib.rules_table import write_rules_table
from baton.defs.resources import WarehouseResource
from baton.defs.ingest import LANDING_GROUP


@dg.asset(
    key=["config", "rules"],
    group_name=LANDING_GROUP,
    description=(
        "The SAL definition and pipeline settings from the rules file (BATON_RULES), validated before anything "
        "else is written, with the run's as-of date (BATON_AS_OF), as the one-row table `config.rules` the dbt "
        "models read. Materialization metadata: `rules_version`, `rules_file`, `as_of_date`, `sal_rules`."
    ),
    kinds={"python", "duckdb", "yaml"},
    tags={"baton/layer": LANDING_GROUP},
)
def sal_rules(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    rules = load_rules(settings.rules_path())
    as_of = settings.as_of_date()
    with warehouse.get_connection() as conn:
        write_rules_table(conn, rules, as_of)
    context.log.info(f"rules {rules.version} from {rules.path}, as of {as_of}")
    return dg.MaterializeResult(
        metadata={
            "rules_version": rules.version,
            "rules_file": dg.MetadataValue.path(rules.path),
            "as_of_date": str(as_of),
            "sal_rules": ", ".join(rules.sal_rules),
        }
    )

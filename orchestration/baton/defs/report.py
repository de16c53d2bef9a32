"""The nightly HTML report, built from the serving copy after it is published (lib/report/)."""

from collections.abc import Iterator

import dagster as dg

from baton.defs.resources import WarehouseResource
from baton.lib import settings
from baton.defs.serving import kept_for_failed_files
from baton.lib.report import build_report, report_dir
from baton.lib.report.figures import rules_settings

SERVING_KEY = dg.AssetKey(["serving", "marts"])


@dg.asset(
    key=["report", "nightly"],
    group_name="report",
    deps=[SERVING_KEY],
    kinds={"html"},
    description=(
        "The report a head of marketing opens in a browser: % LeadToSAL by month and source, why leads were not accepted, "
        "pipeline sourced / influenced / sales-only, attribution by channel under every model, campaigns by cost per SAL, "
        "the ABM journey, the funnel by cohort and the rules in force. A folder of static pages (BATON_REPORT_DIR, default "
        "<warehouse folder>/report/index.html) read from the serving copy, replaced atomically; works offline, from disk "
        "or any static web server. Not rebuilt when the serving copy was not replaced (a landing file failed)."
    ),
    # Not materialized when the serving copy was not replaced: the report keeps showing what BI shows.
    output_required=False,
)
def nightly_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[dg.MaterializeResult]:
    source = settings.serving_path()
    with warehouse.get_connection() as conn:
        if kept_for_failed_files(context, conn, "report (like the serving copy)"):
            return
        # the serving copy carries the marts only: the rules page takes the build's settings from here
        settings_row = rules_settings(conn)
    if not source.is_file():
        context.log.warning(f"report NOT built: no serving copy at {source}")
        return
    result = build_report(source, report_dir(), settings.as_of_date(), rules_settings=settings_row)
    context.log.info(f"report written to {result.index}")
    headline = result.headline
    yield dg.MaterializeResult(
        metadata={
            "report_path": dg.MetadataValue.path(str(result.index)),
            "source": dg.MetadataValue.path(str(result.source_db)),
            "as_of_date": str(result.as_of),
            "rules_version": result.rules_version,
            "pages": len(result.pages),
            "leads": headline.leads,
            "sals": headline.sals,
            # fractions 0..1, like the marts and the fct_leads metadata (docs/operations.md)
            "lead_to_sal_rate": dg.MetadataValue.float(_fraction(headline.lead_to_sal)),
            "undetermined_share": dg.MetadataValue.float(_fraction(headline.undetermined_share)),
            "pipeline_marketing_sourced": dg.MetadataValue.float(float(headline.pipeline["marketing_sourced"])),
            "pipeline_marketing_influenced": dg.MetadataValue.float(float(headline.pipeline["marketing_influenced"])),
            "pipeline_sales_only": dg.MetadataValue.float(float(headline.pipeline["sales_only"])),
        }
    )


def _fraction(value: object) -> float:
    """As in the fct_leads metadata: a fraction, four decimals, 0 when there is nothing to divide."""
    return round(float(value), 4) if value is not None else 0.0


report_assets = [nightly_report]

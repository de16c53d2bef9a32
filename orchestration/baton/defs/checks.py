"""Asset checks that are Baton's own (dbt's data tests arrive as checks by themselves)."""


import dagster as dg
from baton.defs.resources import WarehouseResource

FCT_LEADS = dg.AssetKey(["marts", "fct_leads"])


def undetermined_share(conn) -> tuple[int, int, float]:
    """(leads, undetermined, the rules' alert threshold)."""
    return conn.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE sal_status = 'undetermined'),
               (SELECT undetermined_share_max FROM config.rules)
        FROM marts.fct_leads
        """
    ).fetchone()


@dg.asset_check(
    asset=FCT_LEADS,
    description=(
        "Warns when more leads are undetermined (missing data) than the rules file allows "
        "(alerts.undetermined_share_max): the SAL verdict should be clear for almost every lead."
    ),
)
def undetermined_share_within_threshold(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as conn:
        leads, undetermined, threshold = undetermined_share(conn)
    share = undetermined / leads if leads else 0.0
    return dg.AssetCheckResult(
        passed=share <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            # fractions 0..1, like the rules file's alerts.undetermined_share_max (defs/metrics.py)
            "undetermined_share": dg.MetadataValue.float(round(share, 4)),
            "threshold_share": dg.MetadataValue.float(float(threshold)),
            "leads": leads,
            "undetermined": undetermined,
        },
    )

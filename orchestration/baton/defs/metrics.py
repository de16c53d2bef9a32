"""Figures attached to each model's materialization, so the UI plots them over runs.

Units: every share is a fraction 0..1, as in the marts (`lead_to_sal_monthly.lead_to_sal_pct`
is 0..1 too) and the rules file (`alerts.undetermined_share_max: 0.05`); the keys say so
(`_rate`, `_share`), never `_pct`. Dagster plots numeric metadata against the time of the
materialization (the x-axis cannot be changed for an unpartitioned asset), so each point also
carries the `as_of_date` the figures were computed for, and the run is tagged `baton/as_of`.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb


LEAD_TO_SAL_RATE = "lead_to_sal_rate"
UNDETERMINED_SHARE = "undetermined_share"
AS_OF_DATE = "as_of_date"

# Appended to the model's description in the UI (transform.py), so the unit is stated where the plot is.
KPI_NOTES = {
    ("marts", "fct_leads"): (
        f"Materialization metadata: `{LEAD_TO_SAL_RATE}` = SALs / leads and `{UNDETERMINED_SHARE}` = undetermined / "
        f"leads, both fractions 0..1 (0.262 = 26.2 %, the unit of the marts' `*_pct` columns); `leads`, `sals`, "
        f"`rules_version`, and `{AS_OF_DATE}`, the as-of date of the figures (the plots' x-axis is the time of the run)."
    ),
    ("marts", "fct_deals"): (
        "Materialization metadata: `pipeline_<category>` (sum of deal amounts) and `deals_<category>` per pipeline "
        f"category, and `{AS_OF_DATE}`, the as-of date of the figures (the plots' x-axis is the time of the run)."
    ),
}


def as_of_date(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The as-of date the run computed with (`config.rules`, written by the rules asset)."""
    try:
        row = conn.execute("SELECT CAST(as_of_date AS VARCHAR) FROM config.rules").fetchone()
    except duckdb.Error:
        return None
    return row[0] if row else None


def model_metadata(conn: duckdb.DuckDBPyConnection, asset_key: dg.AssetKey) -> dict[str, Any]:
    if len(asset_key.path) != 2:
        return {}
    schema, table = asset_key.path
    # Views are skipped: counting int_engagement_events would resolve every event
    # to its person, seconds at scale, for a figure raw.engagement_events already gives.
    is_table = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ? AND table_type = 'BASE TABLE'",
        [schema, table],
    ).fetchone()[0]
    if not is_table:
        return {}
    metadata: dict[str, Any] = {
        "dagster/row_count": conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
    }
    if schema == "marts":
        as_of = as_of_date(conn)
        if as_of is not None:
            metadata[AS_OF_DATE] = as_of
    if (schema, table) == ("marts", "fct_leads"):
        leads, sals, undetermined, version = conn.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE is_sal), count(*) FILTER (WHERE sal_status = 'undetermined'),
                   any_value(rules_version)
            FROM marts.fct_leads
            """
        ).fetchone()
        metadata[LEAD_TO_SAL_RATE] = dg.MetadataValue.float(round(sals / leads, 4) if leads else 0.0)
        metadata[UNDETERMINED_SHARE] = dg.MetadataValue.float(round(undetermined / leads, 4) if leads else 0.0)
        metadata["leads"] = leads
        metadata["sals"] = sals
        metadata["rules_version"] = version or ""
    if (schema, table) == ("marts", "fct_deals"):
        for category, deals, amount in conn.execute(
            "SELECT pipeline_category, count(*), coalesce(sum(amount), 0) FROM marts.fct_deals GROUP BY 1 ORDER BY 1"
        ).fetchall():
            metadata[f"pipeline_{category}"] = dg.MetadataValue.float(float(amount))
            metadata[f"deals_{category}"] = deals
    if (schema, table) == ("marts", "fct_attribution_touches"):
        metadata["top_channels_by_attributed_pipeline"] = dg.MetadataValue.md(top_channels_markdown(conn))
    return metadata


def top_channels_markdown(conn: duckdb.DuckDBPyConnection, limit: int = 10) -> str:
    """Attributed pipeline per channel under every model (the mart's `credited_<model>`
    columns), the top channels by linear credit first."""
    models = [
        row[0].removeprefix("credited_")
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND table_name = 'fct_attribution_touches' AND column_name LIKE 'credited\\_%' ESCAPE '\\' ORDER BY ordinal_position"
        ).fetchall()
    ]
    sums = ", ".join(f'sum("credited_{model}") AS "{model}"' for model in models)
    rows = conn.execute(
        f"SELECT channel, {sums} FROM marts.fct_attribution_touches GROUP BY channel ORDER BY linear DESC, channel LIMIT {int(limit)}"
    ).fetchall()
    header = "| channel | " + " | ".join(models) + " |"
    rule = "|---|" + "---:|" * len(models)
    lines = [header, rule] + [
        f"| {channel} | " + " | ".join(f"{value:,.0f}" for value in values) + " |" for channel, *values in rows
    ]
    return "\n".join(lines) if rows else "no attributed pipeline yet"

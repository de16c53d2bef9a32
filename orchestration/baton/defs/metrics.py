"""Figures attached to each model's materialization, so the UI plots them over runs."""

from __future__ import annotations

from typing import Any

import dagster as dg
import duckdb


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
    if (schema, table) == ("marts", "fct_leads"):
        leads, sals, undetermined, version = conn.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE is_sal), count(*) FILTER (WHERE sal_status = 'undetermined'),
                   any_value(rules_version)
            FROM marts.fct_leads
            """
        ).fetchone()
        metadata["lead_to_sal_pct"] = dg.MetadataValue.float(round(100.0 * sals / leads, 2) if leads else 0.0)
        metadata["undetermined_pct"] = dg.MetadataValue.float(round(100.0 * undetermined / leads, 2) if leads else 0.0)
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

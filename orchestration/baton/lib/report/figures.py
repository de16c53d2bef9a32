"""Every figure the report shows, read with SQL from the marts (CONTRACT sections 5-6).

Nothing is computed outside these queries but sums of the counts they return
and the shares of two counts (formatting.py); a figure in the report is a
figure of the marts. Amounts are summed as DECIMAL, so a total is the same
whatever the order DuckDB adds the rows in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import duckdb

from baton.lib.report.formatting import share

PIPELINE_CATEGORIES = ("marketing_sourced", "marketing_influenced", "sales_only")
SAL_STATUSES = ("accepted", "rejected", "undetermined")
JOURNEY_STAGES = ("unaware", "known", "engaged", "sal", "opportunity", "customer")
# the contract's models, in its order; any other `credited_<model>` column is shown after them
MODEL_ORDER = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay")
MARTS = (
    "fct_leads",
    "lead_to_sal_monthly",
    "fct_deals",
    "fct_attribution_touches",
    "campaign_performance",
    "abm_accounts",
    "funnel_monthly",
)


def rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def has_table(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def columns(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    ]


# --- headline -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The figures on the front page, over every lead and deal in the marts."""

    leads: int
    sals: int
    rejected: int
    undetermined: int
    deals: dict[str, int]  # by pipeline_category
    pipeline: dict[str, Decimal]  # ARR of every deal (any stage), by pipeline_category
    touched_by_marketing: Decimal  # ARR of every deal with is_marketing_influenced (sourced ones included)
    won_arr: Decimal
    open_pipeline: Decimal

    @property
    def lead_to_sal(self) -> Fraction | None:
        return share(self.sals, self.leads)

    @property
    def undetermined_share(self) -> Fraction | None:
        return share(self.undetermined, self.leads)

    @property
    def total_pipeline(self) -> Decimal:
        return sum(self.pipeline.values(), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        """Plain values (fractions as floats) for metadata and logs."""
        return {
            "leads": self.leads,
            "sals": self.sals,
            "rejected": self.rejected,
            "undetermined": self.undetermined,
            "lead_to_sal_pct": None if self.lead_to_sal is None else float(self.lead_to_sal),
            "undetermined_pct": None if self.undetermined_share is None else float(self.undetermined_share),
            **{f"pipeline_{category}": float(value) for category, value in self.pipeline.items()},
            **{f"deals_{category}": value for category, value in self.deals.items()},
            "won_arr": float(self.won_arr),
            "open_pipeline": float(self.open_pipeline),
        }


def headline(conn: duckdb.DuckDBPyConnection) -> Headline:
    leads, sals, rejected, undetermined = conn.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE is_sal), count(*) FILTER (WHERE sal_status = 'rejected'),
               count(*) FILTER (WHERE sal_status = 'undetermined')
        FROM marts.fct_leads
        """
    ).fetchone()
    by_category = {
        row["pipeline_category"]: row
        for row in rows(
            conn,
            "SELECT pipeline_category, count(*) AS deals, coalesce(sum(amount::DECIMAL(38, 6)), 0) AS arr "
            "FROM marts.fct_deals GROUP BY pipeline_category",
        )
    }
    touched, won, open_ = conn.execute(
        """
        SELECT coalesce(sum(amount::DECIMAL(38, 6)) FILTER (WHERE is_marketing_influenced), 0),
               coalesce(sum(amount::DECIMAL(38, 6)) FILTER (WHERE is_won), 0),
               coalesce(sum(amount::DECIMAL(38, 6)) FILTER (WHERE NOT is_closed), 0)
        FROM marts.fct_deals
        """
    ).fetchone()
    categories = list(PIPELINE_CATEGORIES) + sorted(set(by_category) - set(PIPELINE_CATEGORIES))
    return Headline(
        leads=leads,
        sals=sals,
        rejected=rejected,
        undetermined=undetermined,
        deals={c: int(by_category[c]["deals"]) if c in by_category else 0 for c in categories},
        pipeline={c: Decimal(by_category[c]["arr"]) if c in by_category else Decimal(0) for c in categories},
        touched_by_marketing=Decimal(touched),
        won_arr=Decimal(won),
        open_pipeline=Decimal(open_),
    )


# --- LeadToSAL ----------------------------------------------------------------------------------

_STATUS_SUMS = "sum(leads)::BIGINT AS leads, sum(sals)::BIGINT AS sals, sum(rejected)::BIGINT AS rejected, sum(undetermined)::BIGINT AS undetermined"


def lead_to_sal_by_month(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """All sources together, one row per month (the mart summed over lead_source)."""
    return rows(conn, f"SELECT month, {_STATUS_SUMS} FROM marts.lead_to_sal_monthly GROUP BY month ORDER BY month")


def lead_to_sal_by_source(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every month together, one row per lead source, the largest first."""
    return rows(
        conn,
        f"SELECT lead_source, {_STATUS_SUMS} FROM marts.lead_to_sal_monthly GROUP BY lead_source ORDER BY leads DESC, lead_source",
    )


def lead_to_sal_detail(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The mart as it is: month x lead_source."""
    return rows(
        conn,
        "SELECT month, lead_source, leads, sals, rejected, undetermined, lead_to_sal_pct, undetermined_pct "
        "FROM marts.lead_to_sal_monthly ORDER BY month, lead_source",
    )


# --- why not accepted ---------------------------------------------------------------------------


def rule_outcomes(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per rule: how many leads failed it and how many lacked the data to decide (from sal_reasons)."""
    return rows(
        conn,
        """
        WITH tokens AS (
            SELECT lead_id, sal_status, unnest(string_split(sal_reasons, '; ')) AS token
            FROM marts.fct_leads WHERE sal_reasons IS NOT NULL AND sal_reasons <> ''
        )
        SELECT split_part(token, ':', 1) AS rule,
               count(*) FILTER (WHERE split_part(token, ':', 2) = 'failed')::BIGINT AS failed,
               count(*) FILTER (WHERE split_part(token, ':', 2) = 'unknown')::BIGINT AS unknown,
               count(*) FILTER (WHERE split_part(token, ':', 2) = 'failed'
                   AND lead_id IN (SELECT lead_id FROM tokens t2 GROUP BY lead_id HAVING count(*) = 1))::BIGINT AS failed_alone
        FROM tokens
        GROUP BY rule
        ORDER BY failed + unknown DESC, rule
        """,
    )


def reason_combinations(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Leads not accepted, per exact sal_reasons, the most frequent first."""
    return rows(
        conn,
        """
        SELECT sal_reasons, sal_status, count(*)::BIGINT AS leads
        FROM marts.fct_leads WHERE NOT is_sal
        GROUP BY sal_reasons, sal_status ORDER BY leads DESC, sal_reasons
        """,
    )


def not_accepted_by_source(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(
        conn,
        """
        SELECT lead_source, count(*)::BIGINT AS leads,
               count(*) FILTER (WHERE sal_status = 'rejected')::BIGINT AS rejected,
               count(*) FILTER (WHERE sal_status = 'undetermined')::BIGINT AS undetermined
        FROM marts.fct_leads GROUP BY lead_source ORDER BY rejected + undetermined DESC, lead_source
        """,
    )


# --- pipeline -----------------------------------------------------------------------------------


def pipeline_by_month(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Deals by the month they were created (UTC) x pipeline_category: count and ARR."""
    return rows(
        conn,
        """
        SELECT date_trunc('month', created_at)::DATE AS month, pipeline_category,
               count(*)::BIGINT AS deals, coalesce(sum(amount::DECIMAL(38, 6)), 0) AS arr
        FROM marts.fct_deals GROUP BY ALL ORDER BY month, pipeline_category
        """,
    )


def pipeline_by_status(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Deals per pipeline_category x open / won / lost."""
    return rows(
        conn,
        """
        SELECT pipeline_category,
               CASE WHEN is_won THEN 'won' WHEN is_closed THEN 'lost' ELSE 'open' END AS status,
               count(*)::BIGINT AS deals, coalesce(sum(amount::DECIMAL(38, 6)), 0) AS arr
        FROM marts.fct_deals GROUP BY ALL ORDER BY pipeline_category, status
        """,
    )


# --- attribution --------------------------------------------------------------------------------


def attribution_models(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The models the mart has a `credited_<model>` column for, the contract's order first."""
    found = [name.removeprefix("credited_") for name in columns(conn, "marts", "fct_attribution_touches") if name.startswith("credited_")]
    return [m for m in MODEL_ORDER if m in found] + [m for m in found if m not in MODEL_ORDER]


def attribution_by_channel(conn: duckdb.DuckDBPyConnection, models: list[str], won_only: bool = False) -> list[dict[str, Any]]:
    """Credited ARR per channel under every model (optionally only of won deals), the largest linear first."""
    if not models:
        return []
    sums = ", ".join(f'coalesce(sum(t."credited_{m}"::DECIMAL(38, 6)), 0) AS "{m}"' for m in models)
    # won: the deal's is_won in fct_deals (the contract's columns only)
    won = "WHERE t.deal_id IN (SELECT deal_id FROM marts.fct_deals WHERE is_won)" if won_only else ""
    order = '"linear"' if "linear" in models else f'"{models[0]}"'
    return rows(
        conn,
        f"SELECT coalesce(t.channel, 'unknown') AS channel, count(DISTINCT t.deal_id)::BIGINT AS deals, count(*)::BIGINT AS touches, {sums} "
        f"FROM marts.fct_attribution_touches AS t {won} GROUP BY ALL ORDER BY {order} DESC, channel",
    )


# --- campaigns ----------------------------------------------------------------------------------


def campaigns(conn: duckdb.DuckDBPyConnection, models: list[str]) -> list[dict[str, Any]]:
    """Every campaign row of the mart, the cheapest SAL first; rows without a cost per SAL last."""
    present = set(columns(conn, "marts", "campaign_performance"))
    extra = ", ".join(
        f'"{prefix}{m}"' for m in models for prefix in ("attributed_pipeline_", "attributed_won_") if f"{prefix}{m}" in present
    )
    return rows(
        conn,
        f"""
        SELECT campaign_id, campaign_name, channel, cost, leads, sals, influenced_deals, influenced_pipeline,
               cost_per_lead, cost_per_sal{', ' + extra if extra else ''}
        FROM marts.campaign_performance
        ORDER BY cost_per_sal NULLS LAST, cost DESC NULLS LAST, sals DESC, campaign_id NULLS LAST
        """,
    )


# --- ABM ----------------------------------------------------------------------------------------


def abm_accounts(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Target accounts, the furthest in their journey first."""
    present = set(columns(conn, "marts", "abm_accounts"))
    # an unmatched target account has no account_name: its own domain or id names it
    names = [c for c in ("account_name", "domain", "target_domain", "account_id", "target_account_id") if c in present]
    name = f"coalesce({', '.join(names)})"
    stages = ", ".join(f"'{s}'" for s in JOURNEY_STAGES)
    return rows(
        conn,
        f"""
        SELECT {name} AS account, account_id, domain, tier, journey_stage, leads, sals,
               engaged_contacts_90d, touches_90d, open_pipeline, won_arr
        FROM marts.abm_accounts
        ORDER BY coalesce(list_position([{stages}], journey_stage), 0) DESC, tier NULLS LAST,
                 open_pipeline + won_arr DESC, account NULLS LAST
        """,
    )


# --- funnel -------------------------------------------------------------------------------------

_FUNNEL_SUMS = (
    "sum(leads)::BIGINT AS leads, sum(sals)::BIGINT AS sals, sum(opportunities)::BIGINT AS opportunities, "
    "sum(sal_opportunities)::BIGINT AS sal_opportunities, sum(won)::BIGINT AS won"
)


def funnel_by_cohort(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(conn, f"SELECT month, {_FUNNEL_SUMS} FROM marts.funnel_monthly GROUP BY month ORDER BY month")


def funnel_by_source(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return rows(
        conn,
        f"SELECT lead_source, {_FUNNEL_SUMS} FROM marts.funnel_monthly GROUP BY lead_source ORDER BY leads DESC, lead_source",
    )


# --- rules and data -----------------------------------------------------------------------------


def rules_versions(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rules version(s) stamped on the leads, the most common first (one after a complete build)."""
    return rows(
        conn,
        "SELECT rules_version, count(*)::BIGINT AS leads FROM marts.fct_leads GROUP BY rules_version ORDER BY leads DESC, rules_version",
    )


def rules_settings(conn: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The one row of `config.rules` (the settings and as-of date of the build), when the database has it."""
    if not has_table(conn, "config", "rules"):
        return None
    found = rows(conn, "SELECT * FROM config.rules LIMIT 1")
    return found[0] if found else None


def load_summary(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per entity, the landing files recorded in audit.load_ledger (empty when the database has none)."""
    if not has_table(conn, "audit", "load_ledger"):
        return []
    return rows(
        conn,
        """
        SELECT entity, count(*)::BIGINT AS files,
               count(*) FILTER (WHERE status = 'loaded')::BIGINT AS loaded,
               count(*) FILTER (WHERE status <> 'loaded')::BIGINT AS not_loaded,
               coalesce(sum(rows_loaded) FILTER (WHERE status = 'loaded'), 0)::BIGINT AS rows_loaded,
               coalesce(sum(rows_quarantined) FILTER (WHERE status = 'loaded'), 0)::BIGINT AS rows_quarantined,
               max(loaded_at) AS last_loaded_at
        FROM audit.load_ledger GROUP BY entity ORDER BY entity
        """,
    )


@dataclass
class Figures:
    """Everything one report shows, read in one read-only session."""

    headline: Headline
    tables: set[str]  # the marts present
    lead_to_sal_by_month: list[dict[str, Any]] = field(default_factory=list)
    lead_to_sal_by_source: list[dict[str, Any]] = field(default_factory=list)
    lead_to_sal_detail: list[dict[str, Any]] = field(default_factory=list)
    rule_outcomes: list[dict[str, Any]] = field(default_factory=list)
    reason_combinations: list[dict[str, Any]] = field(default_factory=list)
    not_accepted_by_source: list[dict[str, Any]] = field(default_factory=list)
    pipeline_by_month: list[dict[str, Any]] = field(default_factory=list)
    pipeline_by_status: list[dict[str, Any]] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    attribution_by_channel: list[dict[str, Any]] = field(default_factory=list)
    attribution_won_by_channel: list[dict[str, Any]] = field(default_factory=list)
    campaigns: list[dict[str, Any]] = field(default_factory=list)
    abm_accounts: list[dict[str, Any]] = field(default_factory=list)
    funnel_by_cohort: list[dict[str, Any]] = field(default_factory=list)
    funnel_by_source: list[dict[str, Any]] = field(default_factory=list)
    rules_versions: list[dict[str, Any]] = field(default_factory=list)
    rules_settings: dict[str, Any] | None = None
    load_summary: list[dict[str, Any]] = field(default_factory=list)


class MissingMarts(RuntimeError):
    """The database lacks the marts every page needs (fct_leads, fct_deals)."""


def read_figures(conn: duckdb.DuckDBPyConnection) -> Figures:
    present = {table for table in MARTS if has_table(conn, "marts", table)}
    missing = {"fct_leads", "fct_deals"} - present
    if missing:
        raise MissingMarts(f"no table marts.{', marts.'.join(sorted(missing))} in the database: build the marts first (`baton run`)")
    figures = Figures(headline=headline(conn), tables=present)
    figures.rules_versions = rules_versions(conn)
    figures.rule_outcomes = rule_outcomes(conn)
    figures.reason_combinations = reason_combinations(conn)
    figures.not_accepted_by_source = not_accepted_by_source(conn)
    figures.pipeline_by_month = pipeline_by_month(conn)
    figures.pipeline_by_status = pipeline_by_status(conn)
    if "lead_to_sal_monthly" in present:
        figures.lead_to_sal_by_month = lead_to_sal_by_month(conn)
        figures.lead_to_sal_by_source = lead_to_sal_by_source(conn)
        figures.lead_to_sal_detail = lead_to_sal_detail(conn)
    if "fct_attribution_touches" in present:
        figures.models = attribution_models(conn)
        figures.attribution_by_channel = attribution_by_channel(conn, figures.models)
        figures.attribution_won_by_channel = attribution_by_channel(conn, figures.models, won_only=True)
    if "campaign_performance" in present:
        figures.campaigns = campaigns(conn, figures.models or list(MODEL_ORDER))
    if "abm_accounts" in present:
        figures.abm_accounts = abm_accounts(conn)
    if "funnel_monthly" in present:
        figures.funnel_by_cohort = funnel_by_cohort(conn)
        figures.funnel_by_source = funnel_by_source(conn)
    figures.rules_settings = rules_settings(conn)
    figures.load_summary = load_summary(conn)
    return figures


def as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


__all__ = ["Figures", "Headline", "MissingMarts", "read_figures"]

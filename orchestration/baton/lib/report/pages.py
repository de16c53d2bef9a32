"""The report's pages: one function per page, each a body of charts with their tables beside
them, then how to read the page (the contract's definitions, in a marketer's words)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from baton.lib.report import charts, labels
from baton.lib.report.figures import JOURNEY_STAGES, Figures
from baton.lib.report.formatting import NOT_AVAILABLE, amount, count, day_label, month_label, pct, to_decimal
from baton.lib.report.html import Column, Raw, details, esc, join, kpi, notes, pair, section, table, tag


@dataclass(frozen=True)
class Context:
    figures: Figures
    as_of: dt.date | None
    built_at: dt.datetime
    rules_version: str
    source: str  # what the figures were read from, for the footer


@dataclass(frozen=True)
class Page:
    file: str
    nav: str
    title: str
    summary: str  # one line on the front page
    render: Callable[[Context], tuple[str, Raw]]  # (lede, body)


def _month(ctx: Context, month: dt.date) -> str:
    return month_label(month, ctx.as_of)


def _partial_month_note(ctx: Context, months: list[dt.date]) -> str | None:
    if ctx.as_of is None or not any((m.year, m.month) == (ctx.as_of.year, ctx.as_of.month) for m in months):
        return None
    return f"* {ctx.as_of.strftime('%b %Y')} is still running: its figures are to {day_label(ctx.as_of)} (the as-of date)."


def _missing(table_name: str) -> Raw:
    return tag("p", f"marts.{table_name} is not in the database this report was built from.", class_="empty")


# --- overview -----------------------------------------------------------------------------------


def headline_tiles(ctx: Context) -> Raw:
    h = ctx.figures.headline
    threshold = (ctx.figures.rules_settings or {}).get("undetermined_share_max")
    undetermined_tone = "warn" if threshold is not None and h.undetermined_share is not None and h.undetermined_share > threshold else "muted"
    total_deals = sum(h.deals.values())
    return tag(
        "div",
        join(
            [
                kpi("kpi-lead-to-sal", "% LeadToSAL", pct(h.sals, h.leads), _plain(h.lead_to_sal),
                    f"{count(h.sals)} SALs of {count(h.leads)} leads", "good"),
                kpi("kpi-leads", "Leads", count(h.leads), h.leads, "people, every lead source"),
                kpi("kpi-sals", "Sales Accepted Leads", count(h.sals), h.sals, f"{count(h.rejected)} rejected"),
                kpi("kpi-undetermined", "% undetermined", pct(h.undetermined, h.leads), _plain(h.undetermined_share),
                    f"{count(h.undetermined)} leads lack the data to decide"
                    + (f" (alert above {threshold:.0%})" if threshold is not None else ""), undetermined_tone),
                kpi("kpi-pipeline-sourced", "Marketing-sourced pipeline", amount(h.pipeline["marketing_sourced"]),
                    _plain(h.pipeline["marketing_sourced"]), f"{count(h.deals['marketing_sourced'])} deals started by a marketing lead"),
                kpi("kpi-pipeline-influenced", "Marketing-influenced pipeline", amount(h.pipeline["marketing_influenced"]),
                    _plain(h.pipeline["marketing_influenced"]), f"{count(h.deals['marketing_influenced'])} more deals marketing touched"),
                kpi("kpi-pipeline-sales-only", "Sales-only pipeline", amount(h.pipeline["sales_only"]), _plain(h.pipeline["sales_only"]),
                    f"{count(h.deals['sales_only'])} deals without marketing", "muted"),
                kpi("kpi-won-arr", "Won ARR", amount(h.won_arr), _plain(h.won_arr), f"open pipeline {amount(h.open_pipeline)}; {count(total_deals)} deals in all", "good"),
            ]
        ),
        class_="kpis",
    )


def _plain(value: Any) -> str:
    """The unrounded value for data-value: a fraction as a decimal with 12 places, an amount as it is."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return f"{float(value):.12f}"


def overview(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    months = [row["month"] for row in f.lead_to_sal_by_month]
    cards = join(
        tag("a", join([tag("strong", page.title), tag("span", page.summary)]), href=page.file, class_="card") for page in PAGES[1:]
    )
    body = join(
        [
            headline_tiles(ctx),
            section(
                "% LeadToSAL by month",
                charts.lead_to_sal_line(f.lead_to_sal_by_month, "chart-overview-lead-to-sal") if f.lead_to_sal_by_month else _missing("lead_to_sal_monthly"),
                tag("p", _partial_month_note(ctx, months), class_="lede") if _partial_month_note(ctx, months) else "",
                lede="SALs / leads of the leads created each month, every source together.",
            ),
            section(
                "Pipeline by month",
                charts.pipeline_by_month(f.pipeline_by_month, "chart-overview-pipeline", height=320) if f.pipeline_by_month else tag("p", "No deals yet.", class_="empty"),
                lede="ARR of the deals created each month, marketing-sourced, marketing-influenced and sales-only.",
            ),
            section("Pages", tag("div", cards, class_="cards")),
            notes(
                "All figures cover every lead and deal in the warehouse, up to the as-of date; pipeline is the ARR of deals of any stage.",
                "% LeadToSAL = SALs / leads. A lead is a SAL when it passes every rule of the agreed definition (page Rules & data).",
                "Marketing-sourced: the deal's originating lead came from a marketing source. Marketing-influenced: not sourced, but "
                "a contact of the deal engaged with marketing inside the deal's influence window. The three pipeline tiles add up to all deals.",
                Raw(f"Pipeline of every deal a contact engaged with (sourced ones included): <strong>{esc(amount(f.headline.touched_by_marketing))}</strong>."),
            ),
        ]
    )
    return "The headline figures of the marts, then one page per question.", body


# --- LeadToSAL ----------------------------------------------------------------------------------

STATUS_COLUMNS = [Column("Leads"), Column("SALs"), Column("Rejected"), Column("Undetermined"), Column("% LeadToSAL"), Column("% undetermined")]


def _status_cells(row: dict[str, Any]) -> list[str]:
    return [count(row["leads"]), count(row["sals"]), count(row["rejected"]), count(row["undetermined"]),
            pct(row["sals"], row["leads"]), pct(row["undetermined"], row["leads"])]


def _totals(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, int]:
    return {key: sum(int(row[key] or 0) for row in rows) for key in keys}


def lead_to_sal(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    if "lead_to_sal_monthly" not in f.tables:
        return "", _missing("lead_to_sal_monthly")
    threshold = (f.rules_settings or {}).get("undetermined_share_max")
    total = _totals(f.lead_to_sal_by_month, ("leads", "sals", "rejected", "undetermined"))
    months = [row["month"] for row in f.lead_to_sal_by_month]
    by_month = table(
        [Column("Month", numeric=False), *STATUS_COLUMNS],
        [[_month(ctx, row["month"]), *_status_cells(row)] for row in reversed(f.lead_to_sal_by_month)],
        id="table-lead-to-sal-by-month", caption="Newest month first.", footer=["All months", *_status_cells(total)],
    )
    sources = [row["lead_source"] for row in f.lead_to_sal_by_source]
    by_source = table(
        [Column("Lead source", numeric=False), *STATUS_COLUMNS],
        [[labels.source(row["lead_source"]), *_status_cells(row)] for row in f.lead_to_sal_by_source],
        id="table-lead-to-sal-by-source", footer=["All sources", *_status_cells(total)],
    )
    detail = table(
        [Column("Month", numeric=False), Column("Lead source", numeric=False), *STATUS_COLUMNS],
        [[_month(ctx, row["month"]), labels.source(row["lead_source"]), *_status_cells(row)]
         for row in sorted(f.lead_to_sal_detail, key=lambda r: (-r["month"].toordinal(), r["lead_source"] or ""))],
        id="table-lead-to-sal-detail",
    )
    note = _partial_month_note(ctx, months)
    body = join(
        [
            section(
                "Leads and % LeadToSAL by month",
                charts.leads_by_month(f.lead_to_sal_by_month, "chart-lead-to-sal-by-month", threshold),
                by_month,
                tag("p", note, class_="lede") if note else "",
                lede="Bars: the month's leads by verdict. Lines (right axis): the share accepted and the share undetermined.",
            ),
            section(
                "% LeadToSAL by month and lead source",
                charts.lead_to_sal_heatmap(f.lead_to_sal_detail, sources, "chart-lead-to-sal-heatmap", ctx.as_of) if f.lead_to_sal_detail else "",
                by_source,
                details("Every month x lead source (the mart's rows)", detail),
                lede="Each cell: % LeadToSAL, then SALs / leads. Empty: no lead from that source that month."
                + (f" The latest {charts.HEATMAP_MONTHS} months; every month is in the tables." if len({r['month'] for r in f.lead_to_sal_detail}) > charts.HEATMAP_MONTHS else ""),
            ),
            notes(
                "% LeadToSAL = SALs / leads; % undetermined = undetermined / leads; months are the month the lead was created, in UTC.",
                "Undetermined: no rule failed but a value a rule needs is missing (job title, employee count or industry): "
                "filling it in the CRM settles the lead (page Why not accepted).",
                "A lead is a person: records with the same email are one lead, with the source and date of the earliest record.",
            ),
        ]
    )
    return "How many of each month's leads sales accepted, by lead source, and how many could not be decided.", body


# --- why not accepted ---------------------------------------------------------------------------


def not_accepted(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    h = f.headline
    outcomes = table(
        [Column("Rule", numeric=False), Column("Failed", note="leads that fail the rule"),
         Column("Data missing", note="leads the rule cannot judge: the value it needs is blank"),
         Column("Only reason", note="leads rejected by this rule alone: they pass every other rule"),
         Column("% of all leads failing")],
        [[labels.rule(row["rule"]), count(row["failed"]), count(row["unknown"]), count(row["failed_alone"]), pct(row["failed"], h.leads)]
         for row in f.rule_outcomes],
        id="table-rule-outcomes", empty="Every lead was accepted.",
    )
    combos = table(
        [Column("Reasons", numeric=False), Column("Verdict", numeric=False), Column("Leads"), Column("% of leads not accepted")],
        [[labels.reasons(row["sal_reasons"]), labels.status(row["sal_status"]), count(row["leads"]), pct(row["leads"], h.leads - h.sals)]
         for row in f.reason_combinations],
        id="table-reason-combinations", footer=["All not accepted", "", count(h.leads - h.sals), pct(h.leads - h.sals, h.leads - h.sals)],
        empty="Every lead was accepted.",
    )
    sources = table(
        [Column("Lead source", numeric=False), Column("Leads"), Column("Rejected"), Column("Undetermined"), Column("% not accepted")],
        [[labels.source(row["lead_source"]), count(row["leads"]), count(row["rejected"]), count(row["undetermined"]),
          pct(row["rejected"] + row["undetermined"], row["leads"])] for row in f.not_accepted_by_source],
        id="table-not-accepted-by-source",
    )
    body = join(
        [
            section(
                "Which rule stops leads",
                pair(charts.rule_outcomes(f.rule_outcomes, "chart-rule-outcomes") if f.rule_outcomes else "", outcomes),
                lede=f"{count(h.leads - h.sals)} of {count(h.leads)} leads were not accepted: {count(h.rejected)} rejected "
                f"(a rule failed), {count(h.undetermined)} undetermined (data missing). A lead can miss several rules.",
            ),
            section("Reasons as recorded on each lead", combos, lede="Every combination of reasons, the most frequent first."),
            section("By lead source", sources),
            notes(
                "Failed: the lead's value is outside the rule (e.g. a title with no finance keyword, a company too small or too "
                "large, an industry not on the list). Data missing: the value is blank, so the lead is undetermined unless another rule fails.",
                "Only reason: the leads the rule alone keeps out, what a change of that rule alone could bring in "
                "(`baton rules diff` computes it exactly for a proposed rules file).",
            ),
        ]
    )
    return "Why leads were not accepted: the rules they fail, and the data that is missing to judge them.", body


# --- pipeline -----------------------------------------------------------------------------------


def pipeline(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    categories = list(f.headline.pipeline)
    months = sorted({row["month"] for row in f.pipeline_by_month})
    cells = {(row["month"], row["pipeline_category"]): row for row in f.pipeline_by_month}

    def arr(month: dt.date, category: str) -> Decimal:
        return Decimal(cells.get((month, category), {}).get("arr", 0))

    def deals(month: dt.date, category: str) -> int:
        return int(cells.get((month, category), {}).get("deals", 0))

    by_month = table(
        [Column("Month created", numeric=False), *(Column(labels.category(c)) for c in categories), Column("All deals"),
         Column("% sourced"), Column("Deals")],
        [[_month(ctx, m), *(amount(arr(m, c)) for c in categories), amount(sum((arr(m, c) for c in categories), Decimal(0))),
          _share_of(arr(m, "marketing_sourced"), sum((arr(m, c) for c in categories), Decimal(0))),
          count(sum(deals(m, c) for c in categories))] for m in reversed(months)],
        id="table-pipeline-by-month", caption="Newest month first.",
        footer=["All months", *(amount(f.headline.pipeline[c]) for c in categories), amount(f.headline.total_pipeline),
                _share_of(f.headline.pipeline["marketing_sourced"], f.headline.total_pipeline), count(sum(f.headline.deals.values()))],
        empty="No deals yet.",
    )
    status_cells = {(row["pipeline_category"], row["status"]): row for row in f.pipeline_by_status}
    statuses = ("open", "won", "lost")
    by_status = table(
        [Column("Category", numeric=False), *(Column(f"{s.capitalize()} ARR") for s in statuses),
         *(Column(f"{s.capitalize()} deals") for s in statuses)],
        [[labels.category(c), *(amount(status_cells.get((c, s), {}).get("arr", 0)) for s in statuses),
          *(count(status_cells.get((c, s), {}).get("deals", 0)) for s in statuses)] for c in categories],
        id="table-pipeline-by-status",
    )
    body = join(
        [
            section(
                "Pipeline by month and category",
                charts.pipeline_by_month(f.pipeline_by_month, "chart-pipeline-by-month") if f.pipeline_by_month else "",
                by_month,
                tag("p", _partial_month_note(ctx, months), class_="lede") if _partial_month_note(ctx, months) else "",
                lede="ARR of the deals created each month (UTC), whatever their stage today.",
            ),
            section("Open, won and lost", by_status, lede="The same deals by where they stand on the as-of date."),
            notes(
                "Marketing-sourced: the deal's originating lead came from a marketing lead source (every source but those the rules file excludes).",
                "Marketing-influenced: not sourced, but at least one contact of the deal engaged (any event) between 90 days "
                "before the deal was created and its close (or the as-of date while open).",
                "Sales only: neither. The three categories add up to every deal; amounts are ARR in the deals' currency.",
            ),
        ]
    )
    return "Pipeline marketing-sourced, marketing-influenced and sales-only, by the month deals were created.", body


def _share_of(part: Decimal, whole: Decimal) -> str:
    """A share of two amounts, by the same rounding as pct (amounts are exact decimals)."""
    if not whole:
        return NOT_AVAILABLE
    ratio = Fraction(part) / Fraction(whole)
    return pct(ratio.numerator, ratio.denominator)


# --- attribution --------------------------------------------------------------------------------


def attribution(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    if "fct_attribution_touches" not in f.tables:
        return "", _missing("fct_attribution_touches")
    models = f.models

    def channel_table(rows: list[dict[str, Any]], id: str) -> Raw:
        totals = {m: sum((Decimal(row[m]) for row in rows), Decimal(0)) for m in models}
        return table(
            [Column("Channel", numeric=False), *(Column(labels.model(m)) for m in models), Column("Deals"), Column("Touches")],
            [[labels.channel(row["channel"]), *(amount(row[m]) for m in models), count(row["deals"]), count(row["touches"])] for row in rows],
            id=id, footer=["All channels", *(amount(totals[m]) for m in models), "", count(sum(row["touches"] for row in rows))],
            empty="No deal has a marketing touch yet.",
        )

    body = join(
        [
            section(
                "Attributed pipeline by channel, every model side by side",
                charts.attribution_by_channel(f.attribution_by_channel, models, "chart-attribution-by-channel") if f.attribution_by_channel else "",
                channel_table(f.attribution_by_channel, "table-attribution-by-channel"),
                lede="The ARR of every deal with marketing touches, credited to the channels of its touches by each model. "
                "Where the models disagree, the credit depends on the question asked (who opened, who closed, who helped along).",
            ),
            section(
                "Attributed won ARR by channel",
                channel_table(f.attribution_won_by_channel, "table-attribution-won-by-channel"),
                lede="The same, over won deals only.",
            ),
            notes(
                "Touches of a deal: events of its contacts inside its influence window, in time order. A touch's channel is its campaign's, else Unknown.",
                "First touch: all credit to the first. Last touch: to the last. Linear: equal shares. U-shaped: 40% first, 40% last, "
                "20% shared by the rest. W-shaped: 30% each to the first touch, the lead-creation touch and the opportunity-creation "
                "touch, 10% to the rest. Time decay: halves every 7 days before the close (or the as-of date while open).",
                "Every model hands out the whole ARR of each deal, so each column adds up to the same total.",
            ),
        ]
    )
    return "Which channels earn the pipeline, under each attribution model.", body


# --- campaigns ----------------------------------------------------------------------------------


def campaigns(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    if "campaign_performance" not in f.tables:
        return "", _missing("campaign_performance")

    def why_blank(row: dict[str, Any]) -> str:
        if row["cost_per_sal"] is not None:
            return amount(row["cost_per_sal"])
        if row["cost"] is None:
            return "cost unknown"
        return "no SAL yet"

    main = table(
        [Column("Campaign", numeric=False), Column("Channel", numeric=False), Column("Cost"), Column("Leads"), Column("SALs"),
         Column("% LeadToSAL"), Column("Cost per SAL"), Column("Cost per lead"), Column("Influenced deals"), Column("Influenced pipeline")],
        [[labels.campaign(row), labels.channel(row["channel"]), amount(row["cost"]), count(row["leads"]), count(row["sals"]),
          pct(row["sals"], row["leads"]), why_blank(row), amount(row["cost_per_lead"]), count(row["influenced_deals"]),
          amount(row["influenced_pipeline"])]
         for row in f.campaigns],
        id="table-campaigns",
    )

    def per_model(prefix: str, id: str) -> Raw:
        return table(
            [Column("Campaign", numeric=False), *(Column(labels.model(m)) for m in f.models)],
            [[labels.campaign(row), *(amount(row.get(f"{prefix}{m}")) for m in f.models)] for row in f.campaigns],
            id=id,
        )

    ranked = [row for row in f.campaigns if row["cost_per_sal"] is not None]
    body = join(
        [
            section(
                "Cost per SAL",
                charts.cost_per_sal(f.campaigns, "chart-cost-per-sal") if ranked else tag("p", "No campaign has both a cost and a SAL yet.", class_="empty"),
                lede="Campaigns with a known cost and at least one SAL, the cheapest SAL on top; colour: channel."
                + (f" The {charts.COST_PER_SAL_BARS // 2} cheapest and the {charts.COST_PER_SAL_BARS // 2} dearest of {len(ranked)}; "
                   "every campaign is in the table below." if len(ranked) > charts.COST_PER_SAL_BARS else ""),
            ),
            section("Every campaign", main,
                    details("Attributed pipeline per campaign, every model", per_model("attributed_pipeline_", "table-campaigns-attributed")),
                    details("Attributed won ARR per campaign, every model", per_model("attributed_won_", "table-campaigns-attributed-won")),
                    lede="The cheapest SAL first; campaigns without a cost or without a SAL after them."),
            notes(
                "Leads and SALs count people by the campaign of their first lead record; (no campaign) holds the leads and touches without one.",
                "Cost per SAL = cost / SALs; cost per lead = cost / leads. Influenced deals: deals (any stage) with at least one touch of the "
                "campaign; influenced pipeline: their ARR, each deal once.",
                "A campaign id seen on leads or touches but missing from the campaigns export has no name and no cost.",
            ),
        ]
    )
    return "What each campaign cost per Sales Accepted Lead, and the pipeline it touched.", body


# --- ABM ----------------------------------------------------------------------------------------


def abm(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    if "abm_accounts" not in f.tables:
        return "", _missing("abm_accounts")
    accounts = f.abm_accounts
    stages = list(JOURNEY_STAGES)
    by_stage = table(
        [Column("Stage", numeric=False), Column("Accounts"), Column("% of targets"), Column("Open pipeline"), Column("Won ARR")],
        [[labels.stage(s), count(sum(1 for a in accounts if a["journey_stage"] == s)),
          pct(sum(1 for a in accounts if a["journey_stage"] == s), len(accounts)),
          amount(sum((to_decimal(a["open_pipeline"] or 0) for a in accounts if a["journey_stage"] == s), Decimal(0))),
          amount(sum((to_decimal(a["won_arr"] or 0) for a in accounts if a["journey_stage"] == s), Decimal(0)))] for s in stages],
        id="table-abm-stages", footer=["All target accounts", count(len(accounts)), pct(len(accounts), len(accounts)),
                                       amount(sum((to_decimal(a["open_pipeline"] or 0) for a in accounts), Decimal(0))),
                                       amount(sum((to_decimal(a["won_arr"] or 0) for a in accounts), Decimal(0)))],
        empty="No target accounts: add a target_accounts export to the landing folder.",
    )
    window = (f.rules_settings or {}).get("abm_window_days") or 90
    listing = table(
        [Column("Account", numeric=False), Column("Tier", numeric=False), Column("Stage", numeric=False), Column("Leads"), Column("SALs"),
         Column(f"Engaged contacts ({window} d)"), Column(f"Touches ({window} d)"), Column("Open pipeline"), Column("Won ARR")],
        [[a["account"] or "(unmatched)", labels.tier(a["tier"]), labels.stage(a["journey_stage"]), count(a["leads"]), count(a["sals"]),
          count(a["engaged_contacts_90d"]), count(a["touches_90d"]), amount(a["open_pipeline"]), amount(a["won_arr"])] for a in accounts],
        id="table-abm-accounts", empty="No target accounts.",
    )
    body = join(
        [
            section("Where target accounts are in their journey",
                    pair(charts.abm_journey(accounts, "chart-abm-journey") if accounts else "", by_stage),
                    lede="Each target account at the furthest stage it has reached, by tier."),
            section("Every target account", listing, lede="The furthest in their journey first."),
            notes(
                "Stage, the first that holds: Customer (a won deal), Opportunity (an open deal), SAL (an accepted lead), "
                f"Engaged (an event in the last {window} days), Known (a lead), else Unaware.",
                f"The {window} days end with the as-of date ({day_label(ctx.as_of)}). A target account is matched to the CRM's accounts "
                "by id, else by domain; its leads are the leads of that account.",
            ),
        ]
    )
    return "The ABM journey of the target accounts: unaware, known, engaged, SAL, opportunity, customer.", body


# --- funnel -------------------------------------------------------------------------------------


def funnel(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    if "funnel_monthly" not in f.tables:
        return "", _missing("funnel_monthly")
    keys = ("leads", "sals", "opportunities", "sal_opportunities", "won")
    columns = [Column("Leads"), Column("SALs"), Column("Opportunities"), Column("Won"), Column("Lead → SAL"),
               Column("SAL → opportunity", note="SALs that became the originating lead of a deal / SALs"),
               Column("Opportunity → won", note="leads with a won deal / leads with a deal")]

    def cells(row: dict[str, Any]) -> list[str]:
        return [count(row["leads"]), count(row["sals"]), count(row["opportunities"]), count(row["won"]), pct(row["sals"], row["leads"]),
                pct(row["sal_opportunities"], row["sals"]), pct(row["won"], row["opportunities"])]

    total = _totals(f.funnel_by_cohort, keys)
    months = [row["month"] for row in f.funnel_by_cohort]
    cohorts = table([Column("Cohort (month created)", numeric=False), *columns],
                    [[_month(ctx, row["month"]), *cells(row)] for row in reversed(f.funnel_by_cohort)], id="table-funnel-by-cohort", caption="Newest cohort first.",
                    footer=["All cohorts", *cells(total)])
    sources = table([Column("Lead source", numeric=False), *columns],
                    [[labels.source(row["lead_source"]), *cells(row)] for row in f.funnel_by_source], id="table-funnel-by-source",
                    footer=["All sources", *cells(total)])
    note = _partial_month_note(ctx, months)
    body = join(
        [
            section("Each monthly cohort, lead to won",
                    charts.funnel_by_cohort(f.funnel_by_cohort, "chart-funnel-counts") if f.funnel_by_cohort else "", cohorts,
                    tag("p", note, class_="lede") if note else "",
                    lede="The leads created in a month, and how many of them have become SALs, opportunities and won deals so far."),
            section("Conversion by cohort",
                    charts.funnel_rates(f.funnel_by_cohort, "chart-funnel-rates") if f.funnel_by_cohort else "",
                    lede="Recent cohorts have had less time to convert: their later rates are still growing."),
            section("By lead source", sources),
            notes(
                "Opportunities: leads that are the originating lead of at least one deal; won: of at least one won deal. "
                "A lead counts once however many deals it started.",
                "SAL → opportunity = SALs that became an opportunity / SALs; opportunity → won = won / opportunities.",
            ),
        ]
    )
    return "The funnel by cohort: of the leads created each month, how many became SALs, opportunities and won deals.", body


# --- rules and data -----------------------------------------------------------------------------

SETTING_LABELS = {
    "rules_version": "Rules version",
    "sal_rules": "SAL rules in force",
    "finance_job_function": "Finance role: job function",
    "company_size_min_exclusive": "Company size: more than",
    "company_size_max_inclusive": "Company size: up to",
    "industries": "Industry: one of",
    "marketing_sources_include": "Marketing sources: only",
    "marketing_sources_exclude": "Marketing sources: every source but",
    "influence_lookback_days": "Influence window: days before a deal is created",
    "time_decay_half_life_days": "Time-decay half-life (days)",
    "abm_window_days": "ABM window (days)",
    "undetermined_share_max": "Alert when undetermined above",
    "as_of_date": "As-of date of the build",
    "rules_path": "Rules file",
}
# shown only when set (the file uses one of include / exclude)
OPTIONAL_SETTINGS = ("marketing_sources_include", "marketing_sources_exclude")


def _setting(name: str, value: Any) -> str:
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, (list, tuple)):
        return ", ".join(_setting(name, v) for v in value) if value else "(none)"
    if name == "undetermined_share_max":
        return f"{float(value):.1%}".replace(".0%", "%")
    if name == "sal_rules":
        return labels.rule(value)
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    return str(value)


def rules(ctx: Context) -> tuple[str, Raw]:
    f = ctx.figures
    settings = f.rules_settings
    if len(f.rules_versions) == 1:
        only = f.rules_versions[0]
        versions = tag("p", f"All {count(only['leads'])} leads were judged under {only['rules_version'] or '(no version)'}.")
    else:
        versions = table([Column("Rules version", numeric=False), Column("Leads judged under it")],
                         [[row["rules_version"] or "(none)", count(row["leads"])] for row in f.rules_versions], id="table-rules-versions",
                         empty="No leads yet.")
    if settings:
        items = []
        keywords = dict(zip(settings.get("job_function_names") or [], settings.get("job_function_keywords") or []))
        ordered = [n for n in SETTING_LABELS if n in settings] + [n for n in settings if n not in SETTING_LABELS]
        for name in ordered:
            value = settings[name]
            if name in ("job_function_names", "job_function_keywords") or (name in OPTIONAL_SETTINGS and value is None):
                continue
            items.append(tag("dt", SETTING_LABELS.get(name, name)))
            items.append(tag("dd", _setting(name, value)))
            if name == "finance_job_function" and value in keywords:
                items.append(tag("dt", "Finance role: title contains one of"))
                items.append(tag("dd", ", ".join(keywords[value])))
        definition = tag("dl", join(items), class_="settings")
        stale = settings.get("rules_version") not in {row["rules_version"] for row in f.rules_versions}
        warning = tag("p", f"The rules file's version ({settings.get('rules_version')}) is not the version recorded on the leads: "
                      "the marts were built under other rules.", class_="warning") if stale and f.rules_versions else ""
    else:
        definition = tag("p", "The rule settings are not in the database this report was read from; the version above is "
                         "the one recorded on every lead.", class_="empty")
        warning = ""
    ledger = table(
        [Column("Entity", numeric=False), Column("Files"), Column("Loaded"), Column("Not loaded"), Column("Rows loaded"),
         Column("Rows quarantined"), Column("Last loaded (UTC)", numeric=False)],
        [[row["entity"], count(row["files"]), count(row["loaded"]), count(row["not_loaded"]), count(row["rows_loaded"]),
          count(row["rows_quarantined"]), row["last_loaded_at"].strftime("%Y-%m-%d %H:%M") if row["last_loaded_at"] else NOT_AVAILABLE]
         for row in f.load_summary],
        id="table-load-summary", empty="The load ledger is not in the database this report was read from.",
    )
    body = join(
        [
            section("Rules version in force", tag("p", tag("strong", ctx.rules_version, id="rules-version-in-force"), class_="big"), versions, warning,
                    lede="The SAL definition marketing and sales agreed on; every lead records the version it was judged under."),
            section("The definition", definition),
            section("The data behind the figures", ledger,
                    lede="The landing files loaded into the warehouse (audit.load_ledger); quarantined rows broke the data contract and are not counted."),
            notes(
                "A lead is a SAL when every rule in force passes; rejected when one fails; undetermined when none fails but one lacks its data.",
                "To try another definition before agreeing on it: `baton rules diff proposed.yml` shows which leads would change.",
                Raw(f"This report was read from <code>{esc(ctx.source)}</code>."),
            ),
        ]
    )
    return "The SAL definition the figures follow, and the data they were built from.", body


PAGES: list[Page] = [
    Page("index.html", "Overview", "Overview", "", overview),
    Page("lead-to-sal.html", "LeadToSAL", "% LeadToSAL by month and lead source", "Monthly SAL rate per source, with the undetermined share.", lead_to_sal),
    Page("not-accepted.html", "Why not accepted", "Why leads were not accepted", "The rules leads fail and the data that is missing.", not_accepted),
    Page("pipeline.html", "Pipeline", "Pipeline: marketing-sourced, influenced, sales-only", "ARR by month of the deals, by who brought them.", pipeline),
    Page("attribution.html", "Attribution", "Attribution by channel", "Credit per channel under six attribution models, side by side.", attribution),
    Page("campaigns.html", "Campaigns", "Campaigns by cost per SAL", "Cost, leads, SALs and pipeline of each campaign.", campaigns),
    Page("abm.html", "ABM", "ABM journey of target accounts", "Where each target account stands, unaware to customer.", abm),
    Page("funnel.html", "Funnel", "Funnel by cohort", "Lead → SAL → opportunity → won, by month of lead creation.", funnel),
    Page("rules.html", "Rules & data", "Rules & data", "The SAL definition in force and the files loaded.", rules),
]

"""The report's charts, drawn by Plotly (docs/report.md says why Plotly).

Each function takes rows read by figures.py and returns the HTML of one chart:
a `<div>` and the small script that draws it with plotly.js, which the page
loads once from `assets/` (no CDN, nothing fetched). Shares are plotted as
fractions with a percent axis; the tables beside the charts give the exact
figures. Div ids are fixed, so the same marts give the same files.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go

from baton.lib.report import labels
from baton.lib.report.figures import JOURNEY_STAGES, PIPELINE_CATEGORIES
from baton.lib.report.formatting import month_label, share
from baton.lib.report.html import Raw

FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
STATUS_COLORS = {"accepted": "#2a9d8f", "rejected": "#e76f51", "undetermined": "#e9c46a"}
CATEGORY_COLORS = {"marketing_sourced": "#1f4e79", "marketing_influenced": "#5fa8dc", "sales_only": "#b4bcc8"}
OUTCOME_COLORS = {"failed": "#e76f51", "unknown": "#e9c46a"}
SERIES_COLORS = ("#1f4e79", "#2a9d8f", "#e76f51", "#e9c46a", "#8e6bbf", "#5fa8dc", "#c9577a", "#7a8b99")
STAGE_COLORS = dict(zip(JOURNEY_STAGES, ("#d9dee5", "#b9d4ea", "#86b8df", "#4f96cf", "#2a6fad", "#1f4e79")))
TIER_COLORS = ("#1f4e79", "#5fa8dc", "#b9d4ea", "#b4bcc8")
# no Plotly logo, no link to the Plotly cloud; the camera button saves a PNG locally
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"], "showSendToCloud": False}


def _html(figure: go.Figure, div_id: str, height: int = 380) -> Raw:
    figure.update_layout(
        template="plotly_white",
        font={"family": FONT, "size": 13, "color": "#1d2733"},
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        height=height,
        hoverlabel={"font": {"family": FONT}},
    )
    body = figure.to_html(
        full_html=False, include_plotlyjs=False, div_id=div_id, config=CONFIG, default_width="100%", default_height=f"{height}px"
    )
    return Raw(f'<div class="chart" id="{div_id}-box">{body}</div>')


def _months(rows: list[dict[str, Any]]) -> list[str]:
    return [row["month"].isoformat() for row in rows]


def _month_axis(figure: go.Figure, months: int) -> None:
    """A month axis, every month labelled while they fit (every quarter, every half-year beyond)."""
    dtick = "M1" if months <= 14 else "M3" if months <= 42 else "M6"
    figure.update_xaxes(type="date", tickformat="%b %Y", dtick=dtick, hoverformat="%b %Y")


def _fraction(numerator: int, denominator: int) -> float | None:
    value = share(numerator, denominator)
    return None if value is None else float(value)


def _money(value: Decimal | float | None) -> float:
    return float(value or 0)


def leads_by_month(by_month: list[dict[str, Any]], div_id: str, threshold: float | None = None, height: int = 400) -> Raw:
    """Leads per month stacked by verdict, with % LeadToSAL and the undetermined share on the right axis."""
    months = _months(by_month)
    figure = go.Figure()
    for status, column in (("accepted", "sals"), ("rejected", "rejected"), ("undetermined", "undetermined")):
        figure.add_bar(
            x=months, y=[row[column] for row in by_month], name=f"{labels.STATUS[status]} leads",
            marker_color=STATUS_COLORS[status], hovertemplate="%{y:,} leads<extra>" + labels.STATUS[status] + "</extra>",
        )
    figure.add_scatter(
        x=months, y=[_fraction(row["sals"], row["leads"]) for row in by_month], name="% LeadToSAL", yaxis="y2",
        mode="lines+markers", line={"color": "#1d2733", "width": 3}, hovertemplate="%{y:.1%}<extra>% LeadToSAL</extra>",
    )
    figure.add_scatter(
        x=months, y=[_fraction(row["undetermined"], row["leads"]) for row in by_month], name="% undetermined", yaxis="y2",
        mode="lines+markers", line={"color": "#b8860b", "width": 2, "dash": "dot"}, hovertemplate="%{y:.1%}<extra>% undetermined</extra>",
    )
    if threshold is not None:
        figure.add_hline(
            y=threshold, yref="y2", line={"color": "#b8860b", "width": 1, "dash": "dash"},
            annotation_text=f"undetermined alert {threshold:.0%}", annotation_position="top right", annotation_font_size=11,
        )
    figure.update_layout(
        barmode="stack", yaxis={"title": "leads"},
        yaxis2={"title": "share of the month's leads", "overlaying": "y", "side": "right", "tickformat": ".0%", "rangemode": "tozero", "showgrid": False},
    )
    _month_axis(figure, len(months))
    return _html(figure, div_id, height)


def lead_to_sal_line(by_month: list[dict[str, Any]], div_id: str, height: int = 300) -> Raw:
    months = _months(by_month)
    figure = go.Figure()
    figure.add_scatter(
        x=months, y=[_fraction(row["sals"], row["leads"]) for row in by_month], name="% LeadToSAL", mode="lines+markers",
        line={"color": "#1f4e79", "width": 3}, customdata=[[row["sals"], row["leads"]] for row in by_month],
        hovertemplate="%{y:.1%} (%{customdata[0]:,} SALs of %{customdata[1]:,} leads)<extra></extra>",
    )
    figure.update_layout(yaxis={"tickformat": ".0%", "rangemode": "tozero"}, showlegend=False)
    _month_axis(figure, len(months))
    return _html(figure, div_id, height)


HEATMAP_MONTHS = 13  # a year and the month before it: more no longer reads cell by cell


def lead_to_sal_heatmap(detail: list[dict[str, Any]], sources: list[str], div_id: str, as_of: dt.date | None) -> Raw:
    """% LeadToSAL of the latest months x lead source, with SALs / leads written in each cell."""
    months = sorted({row["month"] for row in detail})[-HEATMAP_MONTHS:]
    cells = {(row["month"], row["lead_source"]): row for row in detail}
    z, text, custom = [], [], []
    for source in sources:
        z_row, text_row, custom_row = [], [], []
        for month in months:
            row = cells.get((month, source))
            value = None if row is None else _fraction(row["sals"], row["leads"])
            z_row.append(value)
            text_row.append("" if row is None else f"{value:.0%}<br>{row['sals']}/{row['leads']}")
            custom_row.append([0, 0] if row is None else [row["sals"], row["leads"]])
        z.append(z_row)
        text.append(text_row)
        custom.append(custom_row)
    figure = go.Figure(
        go.Heatmap(
            z=z, x=[month_label(m, as_of) for m in months], y=[labels.source(s) for s in sources], text=text, texttemplate="%{text}",
            textfont={"size": 11}, customdata=custom, colorscale=[[0, "#f4f6f9"], [1, "#1f4e79"]], zmin=0, zmax=1, xgap=2, ygap=2,
            colorbar={"tickformat": ".0%", "title": {"text": "LeadToSAL"}},
            hovertemplate="%{y}, %{x}: %{z:.1%} (%{customdata[0]} SALs of %{customdata[1]} leads)<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed")
    return _html(figure, div_id, max(320, 44 * len(sources) + 120))


def rule_outcomes(outcomes: list[dict[str, Any]], div_id: str) -> Raw:
    """Leads per rule that failed it or lacked its data (a lead can miss several rules)."""
    names = [labels.rule(row["rule"]) for row in outcomes]
    figure = go.Figure()
    for outcome, title in (("failed", "failed the rule"), ("unknown", "data missing (undetermined)")):
        figure.add_bar(
            y=names, x=[row[outcome] for row in outcomes], name=title, orientation="h", marker_color=OUTCOME_COLORS[outcome],
            hovertemplate="%{x:,} leads<extra>" + title + "</extra>",
        )
    figure.update_layout(barmode="stack", xaxis={"title": "leads"}, yaxis={"autorange": "reversed"}, margin={"l": 140}, legend={"traceorder": "normal"})
    return _html(figure, div_id, max(260, 60 * len(outcomes) + 120))


def pipeline_by_month(by_month: list[dict[str, Any]], div_id: str, height: int = 400) -> Raw:
    """ARR of the deals created each month, stacked by pipeline category."""
    months = sorted({row["month"] for row in by_month})
    cells = {(row["month"], row["pipeline_category"]): row for row in by_month}
    categories = list(PIPELINE_CATEGORIES) + sorted({row["pipeline_category"] for row in by_month} - set(PIPELINE_CATEGORIES))
    figure = go.Figure()
    for category in categories:
        figure.add_bar(
            x=[m.isoformat() for m in months], y=[_money(cells.get((m, category), {}).get("arr")) for m in months],
            name=labels.category(category), marker_color=CATEGORY_COLORS.get(category),
            customdata=[cells.get((m, category), {}).get("deals", 0) for m in months],
            hovertemplate="%{y:,.0f} ARR in %{customdata} deals<extra>" + labels.category(category) + "</extra>",
        )
    figure.update_layout(barmode="stack", yaxis={"title": "ARR of deals created", "tickformat": "~s"})
    _month_axis(figure, len(months))
    return _html(figure, div_id, height)


def attribution_by_channel(by_channel: list[dict[str, Any]], models: list[str], div_id: str) -> Raw:
    """Credited ARR per channel, one bar per attribution model side by side."""
    channels = [row["channel"] for row in by_channel]
    figure = go.Figure()
    for index, model in enumerate(models):
        figure.add_bar(
            x=[labels.channel(c) for c in channels], y=[_money(row[model]) for row in by_channel], name=labels.model(model),
            marker_color=SERIES_COLORS[index % len(SERIES_COLORS)], hovertemplate="%{y:,.0f}<extra>" + labels.model(model) + "</extra>",
        )
    figure.update_layout(barmode="group", yaxis={"title": "credited ARR", "tickformat": "~s"}, bargap=0.2, bargroupgap=0.05)
    return _html(figure, div_id, 420)


COST_PER_SAL_BARS = 20  # beyond, the cheapest and the dearest ten; every campaign is in the table


def cost_per_sal(campaigns: list[dict[str, Any]], div_id: str) -> Raw:
    """Campaigns with a known cost and at least one SAL, the cheapest SAL on top, coloured by channel."""
    ranked = [row for row in campaigns if row["cost_per_sal"] is not None]
    if len(ranked) > COST_PER_SAL_BARS:
        ranked = ranked[: COST_PER_SAL_BARS // 2] + ranked[-(COST_PER_SAL_BARS // 2):]
    channels = sorted({row["channel"] or "unknown" for row in ranked}, key=lambda c: (c == "unknown", c))
    figure = go.Figure()
    for index, channel in enumerate(channels):
        rows = [row for row in ranked if (row["channel"] or "unknown") == channel]
        figure.add_bar(
            y=[labels.campaign(row) for row in rows], x=[row["cost_per_sal"] for row in rows], orientation="h", name=labels.channel(channel),
            marker_color="#b4bcc8" if channel == "unknown" else SERIES_COLORS[index % len(SERIES_COLORS)],
            text=[f"{row['cost_per_sal']:,.0f}" for row in rows], textposition="outside", cliponaxis=False,
            customdata=[[row["sals"], row["cost"] or 0] for row in rows],
            hovertemplate="%{x:,.0f} per SAL (%{customdata[1]:,.0f} for %{customdata[0]} SALs)<extra>" + labels.channel(channel) + "</extra>",
        )
    figure.update_layout(
        xaxis={"title": "cost per SAL"}, barmode="overlay",
        yaxis={"categoryorder": "array", "categoryarray": [labels.campaign(row) for row in ranked], "autorange": "reversed", "automargin": True},
    )
    return _html(figure, div_id, max(280, 34 * len(ranked) + 130))


def abm_journey(accounts: list[dict[str, Any]], div_id: str) -> Raw:
    """Target accounts per journey stage, stacked by tier, the furthest stage on top."""
    tiers = sorted({row["tier"] for row in accounts}, key=lambda t: (t is None, str(t)))
    figure = go.Figure()
    for index, tier in enumerate(tiers):
        counts = [sum(1 for row in accounts if row["journey_stage"] == stage and row["tier"] == tier) for stage in JOURNEY_STAGES]
        figure.add_bar(
            y=[labels.stage(s) for s in JOURNEY_STAGES], x=counts, orientation="h", name=labels.tier(tier),
            marker_color=TIER_COLORS[index % len(TIER_COLORS)], hovertemplate="%{x} accounts<extra>" + labels.tier(tier) + "</extra>",
        )
    figure.update_layout(barmode="stack", xaxis={"title": "target accounts", "dtick": 1}, yaxis={"autorange": "reversed"}, margin={"l": 110})
    return _html(figure, div_id, 340)


def funnel_by_cohort(cohorts: list[dict[str, Any]], div_id: str) -> Raw:
    """Each monthly cohort of leads: how many became SALs, opportunities and won deals."""
    months = _months(cohorts)
    figure = go.Figure()
    for index, (column, title) in enumerate((("leads", "leads"), ("sals", "SALs"), ("opportunities", "opportunities"), ("won", "won"))):
        figure.add_bar(x=months, y=[row[column] for row in cohorts], name=title, marker_color=SERIES_COLORS[index], hovertemplate="%{y:,}<extra>" + title + "</extra>")
    figure.update_layout(barmode="group", yaxis={"title": "leads of the cohort"})
    _month_axis(figure, len(months))
    return _html(figure, div_id, 380)


def funnel_rates(cohorts: list[dict[str, Any]], div_id: str) -> Raw:
    months = _months(cohorts)
    figure = go.Figure()
    for index, (numerator, denominator, title) in enumerate(
        (("sals", "leads", "lead → SAL"), ("sal_opportunities", "sals", "SAL → opportunity"), ("won", "opportunities", "opportunity → won"))
    ):
        figure.add_scatter(
            x=months, y=[_fraction(row[numerator], row[denominator]) for row in cohorts], name=title, mode="lines+markers",
            line={"color": SERIES_COLORS[index], "width": 2}, hovertemplate="%{y:.1%}<extra>" + title + "</extra>",
        )
    figure.update_layout(yaxis={"tickformat": ".0%", "rangemode": "tozero", "title": "conversion"})
    _month_axis(figure, len(months))
    return _html(figure, div_id, 340)

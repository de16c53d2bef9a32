"""The shipped sample, end to end through `baton run`, checked against values worked out by hand.

The story records (S-0xx leads, D-00x deals, E-Sxx events) are written into the
sample by scripts/generate_sample.py; each expectation below is derived from
CONTRACT.md in the comment beside it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import REPO_ROOT, baton_env, run_baton
from marts_hash import assert_same_tables, table_digests

pytestmark = pytest.mark.slow


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


LEAD_COLUMNS = "lead_id, email, account_id, domain, job_function, employee_count, industry, lead_source, campaign_id, created_at, sal_status, sal_reasons, is_sal"

EXPECTED_STORY_LEADS = {
    # S-001 + S-002 share an email: identity from the earliest record (S-001: sales_outbound, no campaign),
    # title from S-002 ("Chief Financial Officer" contains "chief financial"); domain from S-002's
    # company_domain https://www.northwindbank.com/about -> northwindbank.com -> A-001 (800, banking).
    "S-001": ("S-001", "ana.story@northwindbank.com", "A-001", "northwindbank.com", "finance", 800, "banking",
              "sales_outbound", None, dt.datetime(2026, 2, 1, 9), "accepted", "", True),
    # email domain globex.io = A-002's normalized www.globex.io; 10000 employees is inside (<= 10000).
    "S-003": ("S-003", "bob@globex.io", "A-002", "globex.io", "finance", 10000, "software",
              "ebook", "C-02", dt.datetime(2026, 4, 2, 10), "accepted", "", True),
    # initech.com is shared by: the smaller id, A-003, with exactly 50 employees (not > 50).
    "S-004": ("S-004", "carol@initech.com", "A-003", "initech.com", "finance", 50, "retail",
              "paid_search", None, dt.datetime(2026, 4, 3, 10), "rejected", "company_size:failed", False),
    # gmail.com is free-mail: no domain, no account; the lead's own 51 employees and Software count.
    "S-005": ("S-005", "dan@gmail.com", None, None, "finance", 51, "software",
              "organic", None, dt.datetime(2026, 4, 4, 10), "accepted", "", True),
    # A-005 has neither employee_count nor industry: the lead's 200 / Healthcare; CTO is not finance.
    "S-006": ("S-006", "erin@umbrella-health.com", "A-005", "umbrella-health.com", "other", 200, "healthcare",
              "paid_social", "C-03", dt.datetime(2026, 4, 5, 10), "rejected", "finance_role:failed", False),
    # blank title -> unknown; the account's 3000 wins over the lead's 10001; media is not a target industry.
    "S-007": ("S-007", "frank@hooli.com", "A-006", "hooli.com", None, 3000, "media",
              "webinar", "C-01", dt.datetime(2026, 4, 6, 10), "rejected", "finance_role:unknown; industry:failed", False),
    # no email, company domain without an account, no employee count anywhere -> undetermined.
    "S-008": ("S-008", None, None, "acme-logistics.com", "finance", None, "logistics",
              "partner", None, dt.datetime(2026, 4, 7, 10), "undetermined", "company_size:unknown", False),
    # "Accounts Payable Clerk" contains no finance keyword ("accountant" and "accounting" are not in it).
    "S-009": ("S-009", "gina@hooli.com", "A-006", "hooli.com", "other", 3000, "media",
              "newsletter", None, dt.datetime(2026, 4, 8, 10), "rejected", "finance_role:failed; industry:failed", False),
    # re-sent in the second drop as a CFO with a blank industry: the whole record is replaced; A-002 gives software.
    "S-010": ("S-010", "hank@globex.io", "A-002", "globex.io", "finance", 10000, "software",
              "webinar", "C-01", dt.datetime(2026, 5, 1, 10), "accepted", "", True),
}


def test_story_leads_match_hand_computed_verdicts(built_warehouse: Path) -> None:
    rows = query(built_warehouse, f"SELECT {LEAD_COLUMNS} FROM marts.fct_leads WHERE lead_id LIKE 'S-%' ORDER BY lead_id")
    assert {row[0]: row for row in rows} == EXPECTED_STORY_LEADS  # S-002 merged into S-001


DEAL_COLUMNS = "deal_id, stage, amount, is_won, is_closed, is_marketing_sourced, is_marketing_influenced, pipeline_category, influencing_touches, first_influence_at"

EXPECTED_STORY_DEALS = {
    # originating S-002 is the person S-001 (sales_outbound): not sourced. Window 2026-03-03 00:00 .. 2026-08-01 00:00:
    # E-S01 at the start (included), E-S02 one second before (excluded), E-S03 (lead_id S-002) at closed_at
    # (included), E-S04 one second after (excluded).
    "D-001": ("D-001", "closed_won", 120000.0, True, True, False, True, "marketing_influenced", 2, dt.datetime(2026, 3, 3)),
    # originating S-003 came from an ebook: marketing-sourced (S-003 has no events).
    "D-002": ("D-002", "negotiation", 50000.0, False, False, True, False, "marketing_sourced", 0, None),
    # open: the window ends before 2026-11-16 00:00 (as of 2026-11-15). Gina (listed by email in upper case)
    # has E-S05 at 23:59:59 (in) and E-S06 at midnight (out).
    "D-003": ("D-003", "proposal", 30000.0, False, False, False, True, "marketing_influenced", 1, dt.datetime(2026, 11, 15, 23, 59, 59)),
    # partner-sourced; its contacts' only event (E-S09) has an unknown type and is quarantined.
    "D-004": ("D-004", "closed_lost", 8000.0, False, True, False, False, "sales_only", 0, None),
    # re-sent as closed_won for 12000: the second drop replaces the first; organic is a marketing source.
    "D-005": ("D-005", "closed_won", 12000.0, True, True, True, False, "marketing_sourced", 0, None),
    # originating S-999 names no lead: not sourced. Erin (by email) attended on 2026-06-01, inside
    # [2026-05-03, as-of end); E-S07 was re-delivered with the same event_id and counts once.
    "D-006": ("D-006", "discovery", 45000.0, False, False, False, True, "marketing_influenced", 1, dt.datetime(2026, 6, 1, 12)),
}


def test_story_deals_match_hand_computed_pipeline(built_warehouse: Path) -> None:
    rows = query(built_warehouse, f"SELECT {DEAL_COLUMNS} FROM marts.fct_deals WHERE deal_id LIKE 'D-00%' ORDER BY deal_id")
    assert {row[0]: row for row in rows} == EXPECTED_STORY_DEALS


def test_sample_has_every_verdict_and_category(built_warehouse: Path) -> None:
    statuses = dict(query(built_warehouse, "SELECT sal_status, count(*) FROM marts.fct_leads GROUP BY 1"))
    assert set(statuses) == {"accepted", "rejected", "undetermined"}
    undetermined_share = statuses["undetermined"] / sum(statuses.values())
    assert 0 < undetermined_share < 0.05
    categories = {row[0] for row in query(built_warehouse, "SELECT DISTINCT pipeline_category FROM marts.fct_deals")}
    assert categories == {"marketing_sourced", "marketing_influenced", "sales_only"}


def test_monthly_lead_to_sal_adds_up_to_fct_leads(built_warehouse: Path) -> None:
    [(leads, sals, undetermined, bad_pct)] = query(
        built_warehouse,
        """
        SELECT sum(leads), sum(sals), sum(undetermined),
               count(*) FILTER (WHERE abs(lead_to_sal_pct - sals / leads) > 1e-12 OR month <> date_trunc('month', month))
        FROM marts.lead_to_sal_monthly
        """,
    )
    [(fct_leads, fct_sals, fct_undetermined)] = query(
        built_warehouse,
        "SELECT count(*), count(*) FILTER (WHERE is_sal), count(*) FILTER (WHERE sal_status = 'undetermined') FROM marts.fct_leads",
    )
    assert (leads, sals, undetermined, bad_pct) == (fct_leads, fct_sals, fct_undetermined, 0)
    # S-001's cohort: February 2026, sales_outbound, and it is a SAL.
    [(feb_sals,)] = query(
        built_warehouse,
        "SELECT count(*) FROM marts.fct_leads WHERE is_sal AND lead_source = 'sales_outbound' AND created_at >= '2026-02-01' AND created_at < '2026-03-01'",
    )
    assert query(
        built_warehouse,
        "SELECT sals FROM marts.lead_to_sal_monthly WHERE month = DATE '2026-02-01' AND lead_source = 'sales_outbound'",
    ) == [(feb_sals,)]
    assert feb_sals >= 1


def test_every_file_balances_and_the_bad_and_repeated_events_are_quarantined(built_warehouse: Path) -> None:
    ledger = query(built_warehouse, "SELECT status, rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger")
    assert len(ledger) == 10 and {row[0] for row in ledger} == {"loaded"}
    assert all(read == loaded + quarantined for _, read, loaded, quarantined in ledger)
    quarantine = query(built_warehouse, "SELECT entity, source_file, row_number, reason FROM audit.quarantine ORDER BY ALL")
    assert [(entity, Path(source).name, row, reason) for entity, source, row, reason in quarantine] == [
        ("engagement_events", "events_2026_10_01.csv", 9, "event_type: unknown event type: podcast_listen"),
        # E-S07 again in the November drop: events are immutable, the first loaded version counts
        (
            "engagement_events",
            "events_2026_11_01.jsonl",
            1,
            "event_id: already loaded from events_2026_10_01.csv row 7; events are immutable, the first loaded version counts",
        ),
    ]
    assert query(built_warehouse, "SELECT asset_name FROM intermediate.int_engagement_events WHERE event_id = 'E-S07'") == [
        ("Q2 webinar",)
    ]
    # the event whose email matches no lead stays, unmatched
    assert query(built_warehouse, "SELECT lead_id FROM intermediate.int_engagement_events WHERE event_id = 'E-S08'") == [(None,)]


# Every table of schema marts (CONTRACT s5, s6).
ALL_MARTS = {
    "fct_leads",
    "lead_to_sal_monthly",
    "fct_deals",
    "fct_attribution_touches",
    "campaign_performance",
    "abm_accounts",
    "funnel_monthly",
}
CHANGE_SETS = {"int_lead_changes", "int_deal_changes"}


def test_second_run_with_no_new_files_changes_nothing(built_warehouse: Path, warehouse_copy: Path, tmp_path: Path) -> None:
    """Every mart is the same to the last bit (tests/marts_hash.py: DOUBLEs by bit pattern, rows in any
    order), although the second run rebuilds the open deals' touches and re-inserts them in another order."""
    before_marts = table_digests(warehouse_copy, "marts")
    assert ALL_MARTS <= set(before_marts)
    # the intermediate results too (not the change sets, which name what each build rebuilt)
    before_intermediate = table_digests(warehouse_copy, "intermediate", exclude=CHANGE_SETS)
    before_ledger = query(warehouse_copy, "SELECT * FROM audit.load_ledger ORDER BY file_id")
    completed = run_baton(baton_env(tmp_path, BATON_DUCKDB_PATH=str(warehouse_copy)))
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert_same_tables(before_marts, table_digests(warehouse_copy, "marts"), "marts before and after a run with no new file")
    assert_same_tables(
        before_intermediate,
        table_digests(warehouse_copy, "intermediate", exclude=CHANGE_SETS),
        "intermediate tables before and after a run with no new file",
    )
    assert query(warehouse_copy, "SELECT * FROM audit.load_ledger ORDER BY file_id") == before_ledger
    assert query(warehouse_copy, "SELECT count(*) FROM raw.leads") == query(built_warehouse, "SELECT count(*) FROM raw.leads")


def test_a_build_on_one_thread_equals_the_build_on_every_core(built_warehouse: Path, tmp_path: Path) -> None:
    """DuckDB splits an aggregate over its threads and adds the parts in the order they finish: with
    sums of DOUBLEs in a fixed order (macros/fixed_order_sum.sql) the number of threads changes no bit."""
    completed = run_baton(baton_env(tmp_path, BATON_DUCKDB_THREADS="1"))
    assert completed.returncode == 0, completed.stderr[-3000:]
    one_thread = tmp_path / "warehouse.duckdb"
    for schema, exclude in (("marts", ()), ("intermediate", CHANGE_SETS)):
        assert_same_tables(
            table_digests(built_warehouse, schema, exclude),
            table_digests(one_thread, schema, exclude),
            f"{schema} tables built on every core and on one thread",
        )


def test_bad_rules_file_stops_before_anything_is_written(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    text = (REPO_ROOT / "rules" / "default.yml").read_text()
    rules.write_text(text.replace("min_exclusive: 50 ", "min_exclusive: "))
    line = next(i for i, l in enumerate(rules.read_text().splitlines(), 1) if "min_exclusive" in l)
    completed = run_baton(baton_env(tmp_path, BATON_RULES=str(rules)))
    assert completed.returncode != 0
    assert f"line {line}" in completed.stderr and "min_exclusive" in completed.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_malformed_rows_are_quarantined_while_good_rows_load(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(REPO_ROOT / "seeds", landing)
    (landing / "leads" / "leads_2026_11_20.csv").write_text(
        "lead_id,email,job_title,employee_count,industry,lead_source,created_at\n"
        "N-1,new.one@northwindbank.com,CFO,,Banking,webinar,2026-11-20T08:00:00+01:00\n"  # good; 07:00 UTC
        'N-2,bad.count@x.com,CFO,"1,200",Banking,webinar,2026-11-20\n'
        "N-3,bad.date@x.com,CFO,120,Banking,webinar,2026-02-30\n"
        "N-4,no.source@x.com,CFO,120,Banking,,2026-11-20\n"
    )
    completed = run_baton(baton_env(tmp_path, BATON_LANDING_DIR=str(landing)))
    assert completed.returncode == 0, completed.stderr[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    assert query(
        warehouse,
        "SELECT row_number, reason FROM audit.quarantine WHERE source_file LIKE '%leads_2026_11_20.csv' ORDER BY row_number",
    ) == [
        (2, "employee_count: not a valid whole number or range: 1,200"),
        (3, "created_at: not a valid ISO 8601 date/time: 2026-02-30"),
        (4, "lead_source: required value is missing"),
    ]
    assert query(
        warehouse,
        "SELECT rows_read, rows_loaded, rows_quarantined FROM audit.load_ledger WHERE file_name = 'leads_2026_11_20.csv'",
    ) == [(4, 1, 3)]
    # N-1 maps to A-001 (800 employees, banking): a SAL created at 07:00 UTC.
    assert query(warehouse, "SELECT created_at, account_id, sal_status FROM marts.fct_leads WHERE lead_id = 'N-1'") == [
        (dt.datetime(2026, 11, 20, 7), "A-001", "accepted")
    ]


def test_story_attribution_abm_and_funnel_match_hand_computation(built_warehouse: Path) -> None:
    # D-001 has two touches: t1 = E-S01 (C-01, webinar, 2026-03-03), t2 = E-S03 (C-03, paid_social, 2026-08-01 = closed_at).
    # W-shaped: the only contact (S-001) was created 2026-02-01, before any touch -> LC = t1; OC = last touch at or
    # before 2026-06-01 = t1. t1 holds all three milestones (0.9), t2 none: it takes the 0.1.
    # Time decay: t1 is 151 days before closed_at, t2 0 days: 2^(-151/7) / (1 + 2^(-151/7)) and the rest.
    rows = query(
        built_warehouse,
        """
        SELECT event_id, touch_position, touch_count, channel, w_first_touch, w_last_touch, w_linear, w_u_shaped,
               w_w_shaped, w_time_decay, credited_w_shaped
        FROM marts.fct_attribution_touches WHERE deal_id = 'D-001' ORDER BY touch_position
        """,
    )
    decay = 2 ** (-151 / 7)
    expected = [
        ("E-S01", 1, 2, "webinar", 1.0, 0.0, 0.5, 0.5, 0.9, decay / (1 + decay), 108000.0),
        ("E-S03", 2, 2, "paid_social", 0.0, 1.0, 0.5, 0.5, 0.1, 1 / (1 + decay), 12000.0),
    ]
    assert [r[:4] for r in rows] == [e[:4] for e in expected]
    for row, want in zip(rows, expected):
        assert row[4:] == pytest.approx(want[4:], rel=1e-12, abs=1e-12)

    # Target A-001 (by account_id): its one lead S-001 is a SAL; D-001 is won (120000); Ana's last event
    # (2026-08-01) is before the 90 days [2026-08-18, 2026-11-16). Target hooli.com (by domain, A-006): leads S-007
    # and S-009, no SAL; Gina's E-S05 at 2026-11-15 23:59:59 is inside, E-S06 at midnight is not; D-003 is open.
    abm = query(
        built_warehouse,
        """
        SELECT account_id, matched_by, leads, sals, engaged_contacts_90d, touches_90d, open_pipeline, won_arr, journey_stage
        FROM marts.abm_accounts WHERE target_account_id = 'A-001' OR target_domain = 'hooli.com' ORDER BY account_id
        """,
    )
    assert abm == [
        ("A-001", "account_id", 1, 1, 0, 0, 0.0, 120000.0, "customer"),
        ("A-006", "domain", 2, 0, 1, 1, 30000.0, 0.0, "opportunity"),
    ]

    # C-99 is used by two leads but missing from campaigns: a row with no name, no cost, channel unknown, zeros.
    assert query(
        built_warehouse,
        "SELECT campaign_name, channel, cost, leads, influenced_deals, attributed_pipeline_linear, cost_per_lead FROM marts.campaign_performance WHERE campaign_id = 'C-99'",
    ) == [(None, "unknown", None, 2, 0, 0.0, None)]

    # Funnel cohort 2026-02 x sales_outbound: S-001 (SAL) originated D-001 (won); the other cohort leads are
    # counted from fct_leads/fct_deals, so the percentages must agree with their own counts.
    [(leads, sals, opportunities, sal_opportunities, won, sal_to_opp, opp_to_won)] = query(
        built_warehouse,
        """
        SELECT leads, sals, opportunities, sal_opportunities, won, sal_to_opportunity_pct, opportunity_to_won_pct
        FROM marts.funnel_monthly WHERE month = DATE '2026-02-01' AND lead_source = 'sales_outbound'
        """,
    )
    assert sal_opportunities >= 1 and won >= 1  # S-001 / D-001
    assert sal_to_opp == pytest.approx(sal_opportunities / sals)
    assert opp_to_won == pytest.approx(won / opportunities)
    [(expected_opportunities,)] = query(
        built_warehouse,
        """
        SELECT count(DISTINCT l.lead_id) FROM marts.fct_leads l JOIN marts.fct_deals d ON d.originating_person_id = l.lead_id
        WHERE l.lead_source = 'sales_outbound' AND l.created_at >= '2026-02-01' AND l.created_at < '2026-03-01'
        """,
    )
    assert opportunities == expected_opportunities


def test_materialization_metadata_counts_tables_and_skips_views(built_warehouse: Path) -> None:
    import dagster as dg

    from baton.defs.metrics import model_metadata

    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        leads, sals, undetermined = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE is_sal), count(*) FILTER (WHERE sal_status = 'undetermined') FROM marts.fct_leads"
        ).fetchone()
        metadata = model_metadata(conn, dg.AssetKey(["marts", "fct_leads"]))
        # a view is not counted: counting int_engagement_events would resolve every event
        assert model_metadata(conn, dg.AssetKey(["intermediate", "int_engagement_events"])) == {}
    assert metadata["dagster/row_count"] == leads
    assert metadata["sals"] == sals
    assert metadata["lead_to_sal_rate"].value == round(sals / leads, 4)
    assert metadata["undetermined_share"].value == round(undetermined / leads, 4)

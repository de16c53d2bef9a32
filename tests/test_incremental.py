"""A warehouse kept up to date night after night equals one rebuilt from scratch.

The nightly run only appends the new files to raw (the load ledger knows the
old ones) and never re-reads the events it already holds (they are
deduplicated once, at extract, and read through views). These tests grow a
landing folder over several nights, run `baton run` after each, and compare
every mart with a single full build of the final folder, row for row and
exactly: every value identical to the last bit (tests/marts_hash.py), not
within a tolerance. Sums of DOUBLEs go through the `fixed_order_sum` macro,
whose result does not depend on the order rows are stored or added in.

The nights include what makes incremental builds go wrong: lead records
re-sent with changes (a person's email changes, so persons split and merge),
a new lead record older than the person it joins (the person's lead_id
changes, so old events and deals must follow it), late events inside a
closed deal's window, an event re-sent in a later file, a deal re-sent
with a new stage, an as-of date that moves (open deals' windows grow) and an
accounts file that changes a lead's verdict. Persons, leads, SAL verdicts and
deal touches are incremental models (only changed keys are rebuilt after the
first night): the intermediate tables are compared too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import REPO_ROOT, baton_env, run_baton
from marts_hash import TableDigest, assert_same_tables, table_digests

# Each test runs the real `baton run` several times (minutes): the full suite, not the fast tier.
pytestmark = pytest.mark.slow

EVENTS_HEADER = "event_id,lead_id,email,event_type,campaign_id,asset_name,occurred_at\n"
LEADS_HEADER = (
    "lead_id,email,first_name,last_name,job_title,company_name,company_domain,"
    "employee_count,industry,country,lead_source,campaign_id,created_at\n"
)
DEALS_HEADER = "deal_id,account_id,deal_name,created_at,closed_at,stage,amount,originating_lead_id\n"

NIGHT_1 = (
    "accounts/accounts_2026_10_01.csv",
    "campaigns.csv",
    "target_accounts.csv",
    "deal_contacts/deal_contacts_2026_10_01.csv",
    "deals/deals_2026_10_01.csv",
    "engagement_events/events_2026_10_01.csv",
    "leads/leads_2026_10_01.csv",
)
NIGHT_2 = (
    "deals/deals_2026_11_01.csv",
    "engagement_events/events_2026_11_01.jsonl",  # re-sends E-S07
    "leads/leads_2026_11_01.csv",
)

# Night 3, written by hand against the sample's story records (S-0xx, D-00x).
NIGHT_3 = {
    # S-099 is older than S-001 and has ana.story's email: the person's
    # lead_id becomes S-099, and D-001's contact S-001 and events E-S01/E-S02
    # must follow. S-004 changes email: leaves its person, joins no one.
    "leads/leads_2026_11_20.csv": LEADS_HEADER
    + "S-099,ana.story@northwindbank.com,Ana,Story,CFO,,,,,US,webinar,C-01,2026-01-15T09:00:00Z\n"
    + "S-004,carol.new@initech.com,Carol,Smith,Finance Director,Initech,initech.com,300,Software,US,ebook,C-02,2026-04-01T09:00:00Z\n",
    # E-LATE-1 is inside D-001's window (closed 2026-08-01), E-LATE-2 after it;
    # E-LATE-3 names the record S-099, which only arrives tonight; E-S01 again
    # is a re-sent event (the first loaded version counts).
    "engagement_events/events_2026_11_20.csv": EVENTS_HEADER
    + "E-LATE-1,S-001,,webinar_attendance,C-01,Late webinar,2026-07-01T10:00:00Z\n"
    + "E-LATE-2,S-001,,webinar_attendance,C-01,Late webinar,2026-08-02T10:00:00Z\n"
    + "E-LATE-3,S-099,,ebook_download,C-02,ICP ebook,2026-05-05T10:00:00Z\n"
    + "E-S01,S-001,ana.story@northwindbank.com,ad_click,C-03,Resent,2026-03-03T00:00:00Z\n"
    # E-FUTURE is a contact's (S-007, of the open deal D-003) event after
    # tonight's as-of date: it counts from night 4 on, as the as-of date moves.
    + "E-FUTURE,S-007,,webinar_attendance,C-01,Future webinar,2026-11-20T10:00:00Z\n"
    # E-ORPHAN names a lead_id no record has (yet) and ana.story's email: it
    # counts for D-001 through the email until night 4 brings record S-777.
    + "E-ORPHAN,S-777,ana.story@northwindbank.com,ad_click,C-03,Orphan,2026-07-15T10:00:00Z\n",
    # D-002 closes.
    "deals/deals_2026_11_20.csv": DEALS_HEADER
    + "D-002,A-002,Globex expansion,2026-07-01T00:00:00Z,2026-11-10T00:00:00Z,Closed Won,55000,S-003\n",
}


# Night 4 runs a week later: the as-of date moves (open deals' windows grow);
# an accounts file re-sends A-003 with 300 employees instead of 50, which
# changes the SAL verdict of its lead (S-004, company_size failed before); a
# campaigns file moves C-01 from the webinar channel to events; lead record
# S-777 arrives with another email, so E-ORPHAN now belongs to S-777 and no
# longer to ana.story: D-001 loses that touch although neither ana.story nor
# D-001 changed.
NIGHT_4_AS_OF = "2026-11-25"
NIGHT_4 = {
    "accounts/accounts_2026_11_25.csv": "account_id,account_name,domain,employee_count,industry,country\n"
    + "A-003,Initech Retail,initech.com,300,Retail,US\n",
    "campaigns/campaigns_2026_11_25.csv": "campaign_id,campaign_name,channel,cost,start_date,end_date\n"
    + "C-01,Finance Leaders Webinar Series,events,18000.00,2026-01-05,2026-12-31\n",
    "leads/leads_2026_11_25.csv": LEADS_HEADER
    + "S-777,someone.else@othercorp.com,Sam,Else,Analyst,Othercorp,othercorp.com,20,Retail,US,webinar,C-01,2026-11-24T09:00:00Z\n",
}


def _stage(landing: Path, files: tuple[str, ...]) -> None:
    for relative in files:
        target = landing / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / "seeds" / relative, target)


def _write(landing: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        target = landing / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _run(tmp: Path, landing: Path, warehouse: Path, as_of: str | None = None) -> None:
    overrides = {"BATON_LANDING_DIR": str(landing), "BATON_DUCKDB_PATH": str(warehouse)}
    if as_of:
        overrides["BATON_AS_OF"] = as_of
    completed = run_baton(baton_env(tmp, **overrides))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]


# Tables of the intermediate schema that hold results; the change sets differ by design.
CHANGE_SETS = {"int_lead_changes", "int_deal_changes"}


def _tables(warehouse: Path, schema: str) -> dict[str, TableDigest]:
    """Every result table of `schema`, as an exact digest (tests/marts_hash.py): the same rows in
    any order, every value identical to the last bit (DOUBLEs by their bit pattern, no rounding)."""
    return table_digests(warehouse, schema, exclude=CHANGE_SETS)


def _marts(warehouse: Path) -> dict[str, TableDigest]:
    return _tables(warehouse, "marts")


@pytest.fixture(scope="module")
def nightly_and_full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    nightly_tmp = tmp_path_factory.mktemp("nightly")
    landing = nightly_tmp / "landing"
    nightly = nightly_tmp / "warehouse.duckdb"
    _stage(landing, NIGHT_1)
    _run(nightly_tmp, landing, nightly)
    _stage(landing, NIGHT_2)
    _run(nightly_tmp, landing, nightly)
    _write(landing, NIGHT_3)
    _run(nightly_tmp, landing, nightly)
    nightly_dbt_log = _newest_dbt_log()
    shutil.copy(nightly, nightly.parent / "after_night_3.duckdb")
    _write(landing, NIGHT_4)
    _run(nightly_tmp, landing, nightly, as_of=NIGHT_4_AS_OF)

    full_tmp = tmp_path_factory.mktemp("full")
    full = full_tmp / "warehouse.duckdb"
    _run(full_tmp, landing, full, as_of=NIGHT_4_AS_OF)
    return nightly, full, nightly_dbt_log


def _newest_dbt_log() -> str:
    invocations = sorted((REPO_ROOT / "dbt_project" / "target").glob("baton_dbt_models-*"), key=lambda p: p.stat().st_mtime)
    return (invocations[-1] / "dbt.log").read_text(encoding="utf-8")


def test_every_mart_of_four_nightly_runs_equals_one_full_build(nightly_and_full: tuple[Path, Path, str]) -> None:
    nightly, full, _ = nightly_and_full
    nightly_marts, full_marts = _marts(nightly), _marts(full)
    assert len(full_marts) == 7
    for table in full_marts:
        assert full_marts[table].row_count, f"marts.{table} is empty: the comparison would prove nothing"
    assert_same_tables(nightly_marts, full_marts, "marts of the nightly and the full build")


def test_every_incremental_intermediate_table_equals_the_full_build_s(nightly_and_full: tuple[Path, Path, str]) -> None:
    """The marts could agree by chance (a stale person whose figures happen to match): the
    persons, the lead map, the SAL verdicts and the deal touches must agree row for row too."""
    nightly, full, _ = nightly_and_full
    nightly_tables, full_tables = _tables(nightly, "intermediate"), _tables(full, "intermediate")
    assert {
        "int_persons",
        "int_lead_id_map",
        "int_leads_enriched",
        "int_lead_sal_evaluation",
        "int_deal_touches",
        "int_attribution_weights",
    } <= set(full_tables)
    assert_same_tables(nightly_tables, full_tables, "intermediate tables of the nightly and the full build")


def test_nights_after_the_first_rebuilt_only_what_their_files_changed(nightly_and_full: tuple[Path, Path, str]) -> None:
    """Otherwise the comparisons above would compare two full builds."""
    nightly, full, _ = nightly_and_full
    with duckdb.connect(str(nightly), read_only=True) as conn:
        builds = conn.execute(
            "SELECT mode, changes_since_file_id, built_through_file_id FROM audit.dbt_builds ORDER BY built_at"
        ).fetchall()
        # night 4: the one person changed is S-777's; the deals rebuilt are the open ones and
        # D-001, whose contact's email is on an event that names S-777
        persons_changed = conn.execute("SELECT person_key FROM intermediate.int_lead_changes").fetchall()
        deals_rebuilt = {row[0] for row in conn.execute("SELECT deal_id FROM intermediate.int_deal_changes").fetchall()}
        open_deals = {row[0] for row in conn.execute("SELECT deal_id FROM marts.fct_deals WHERE NOT is_closed").fetchall()}
    assert [mode for mode, _, _ in builds] == ["full", "changes", "changes", "changes"]
    # each night takes the changes since the file the night before went up to, and goes further
    assert [since for _, since, _ in builds[1:]] == [through for _, _, through in builds[:-1]]
    throughs = [through for _, _, through in builds]
    assert throughs == sorted(set(throughs))
    assert persons_changed == [("email:someone.else@othercorp.com",)]
    assert open_deals and deals_rebuilt == open_deals | {"D-001"}
    with duckdb.connect(str(full), read_only=True) as conn:
        assert conn.execute("SELECT mode FROM audit.dbt_builds").fetchall() == [("full",)]


def test_the_later_nights_really_changed_what_an_incremental_build_could_miss(nightly_and_full: tuple[Path, Path, str]) -> None:
    """The comparisons above are only worth something if nights 3 and 4 moved these figures."""
    _, full, _ = nightly_and_full
    with duckdb.connect(str(full), read_only=True) as conn:
        # the older record S-099 now names ana.story's person
        assert conn.execute(
            "SELECT lead_id, lead_records FROM marts.fct_leads WHERE email = 'ana.story@northwindbank.com'"
        ).fetchall() == [("S-099", 3)]
        # D-001: E-S01 and E-S03 as before, plus the late E-LATE-1 and E-LATE-3 (via S-099);
        # not E-ORPHAN, which belongs to S-777 since night 4
        assert conn.execute(
            "SELECT originating_person_id, influencing_touches FROM marts.fct_deals WHERE deal_id = 'D-001'"
        ).fetchall() == [("S-099", 4)]
        # the re-sent E-S01 is quarantined, and the first version (webinar_attendance) counts
        assert conn.execute(
            "SELECT count(*) FROM audit.quarantine WHERE entity = 'engagement_events' AND raw_row LIKE '%E-S01%'"
        ).fetchone()[0] == 1
        assert conn.execute(
            "SELECT event_type FROM marts.fct_attribution_touches WHERE deal_id = 'D-001' AND event_id = 'E-S01'"
        ).fetchall() == [("webinar_attendance",)]
        # D-002 closed won
        assert conn.execute("SELECT is_won FROM marts.fct_deals WHERE deal_id = 'D-002'").fetchall() == [(True,)]
        # night 4: E-FUTURE (2026-11-20) counts for the open D-003 once the as-of date is 2026-11-25
        assert conn.execute(
            "SELECT count(*) FROM intermediate.int_deal_touches WHERE deal_id = 'D-003' AND event_id = 'E-FUTURE'"
        ).fetchone()[0] == 1
        # night 4: A-003 now has 300 employees, so its lead (S-004, 50 before) passes company_size
        assert conn.execute(
            "SELECT employee_count, rule_results['company_size'] FROM marts.fct_leads WHERE lead_id = 'S-004'"
        ).fetchall() == [(300, "passed")]
        # night 4: C-01's touches of every deal, closed or open, are now in the events channel
        assert conn.execute(
            "SELECT DISTINCT channel FROM marts.fct_attribution_touches WHERE campaign_id = 'C-01'"
        ).fetchall() == [("events",)]
        assert conn.execute(
            "SELECT count(*) FROM marts.fct_attribution_touches WHERE campaign_id = 'C-01' AND deal_id = 'D-001'"
        ).fetchone()[0] > 0


def test_e_orphan_was_a_touch_of_d_001_until_night_4(nightly_and_full: tuple[Path, Path, str]) -> None:
    """Night 4 can only prove the incremental build drops it if night 3 had counted it."""
    nightly, _, _ = nightly_and_full
    with duckdb.connect(str(nightly.parent / "after_night_3.duckdb"), read_only=True) as conn:
        assert conn.execute(
            "SELECT lead_id FROM intermediate.int_deal_touches WHERE deal_id = 'D-001' AND event_id = 'E-ORPHAN'"
        ).fetchall() == [("S-099",)]


def test_a_nightly_run_reuses_dbt_s_parse_of_the_night_before(nightly_and_full: tuple[Path, Path, str]) -> None:
    """Night 3 runs with the same profile as night 2, so dbt parses only what changed (nothing);
    a full parse of the project costs about 3 s of every nightly run."""
    _, _, night_3_dbt_log = nightly_and_full
    assert "Running with dbt" in night_3_dbt_log
    assert "Unable to do partial parsing" not in night_3_dbt_log


def test_generated_nights_equal_one_full_build(tmp_path: Path) -> None:
    """The same comparison on generated data (5,000 leads, 100,000 events): merged persons, deals
    with several contacts, re-sent leads and deals, a day's events for new and old leads, an as-of
    date that moves each night."""
    from baton.dev.generate import generate, generate_increment

    generated = tmp_path / "generated"
    generate(generated, 5000, seed=11, progress=lambda _: None)
    generate_increment(generated, 5000, 11, "2026-11-01", progress=lambda _: None)
    landing = tmp_path / "landing"
    nights = [("_0001.", "2026-10-30"), ("_0002.", "2026-10-31"), ("_0003.", "2026-11-01")]
    nightly_tmp, nightly = tmp_path / "nightly", tmp_path / "nightly" / "warehouse.duckdb"
    nightly_tmp.mkdir()
    for drop, as_of in nights:
        for source in sorted(generated.rglob(f"*{drop}*")):
            target = landing / source.relative_to(generated)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
        _run(nightly_tmp, landing, nightly, as_of=as_of)
    full_tmp, full = tmp_path / "full", tmp_path / "full" / "warehouse.duckdb"
    full_tmp.mkdir()
    _run(full_tmp, landing, full, as_of=nights[-1][1])

    with duckdb.connect(str(nightly), read_only=True) as conn:
        assert [row[0] for row in conn.execute("SELECT mode FROM audit.dbt_builds ORDER BY built_at").fetchall()] == [
            "full",
            "changes",
            "changes",
        ]
        assert conn.execute("SELECT count(*) FROM marts.fct_deals WHERE influencing_touches > 0").fetchone()[0] > 10
    for schema in ("marts", "intermediate"):
        assert_same_tables(_tables(nightly, schema), _tables(full, schema), f"{schema} tables of the nightly and the full build")

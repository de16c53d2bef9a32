"""The synthetic landing folder generators (baton.dev.generate, scripts/generate_sample.py) and the
benchmark harness smoke test."""

from __future__ import annotations

import csv
import filecmp
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from baton.lib.extract.entities import ENTITIES, EVENT_TYPES
from baton.lib.extract.loader import load_entity
from baton.dev.generate import ENTITY_FILES, generate, generate_increment
from baton.lib.vocabularies import CLOSED_STAGES, FREE_MAIL_DOMAINS

REPO_ROOT = Path(__file__).resolve().parents[1]
N = 2000
FINANCE = ("cfo", "chief financial", "finance", "financial controller", "controller", "comptroller", "fp&a",
           "treasurer", "accountant", "accounting")
TARGET_INDUSTRIES = {"financial services", "banking", "insurance", "software", "manufacturing", "healthcare", "retail", "logistics"}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("generated") / "landing"
    counts = generate(out, leads=N, progress=lambda message: None)
    return out, counts


def test_layout_and_counts(landing):
    out, counts = landing
    expected_files = {
        "leads": ["leads_0001.csv", "leads_0002.csv"],
        "engagement_events": ["engagement_events_0001.csv", "engagement_events_0002.csv"],
        "deals": ["deals_0001.csv", "deals_0002.csv"],
        "deal_contacts": ["deal_contacts_0001.csv", "deal_contacts_0002.csv"],
        "accounts": ["accounts_0001.csv"],
        "campaigns": ["campaigns_0001.csv"],
        "target_accounts": ["target_accounts_0001.csv"],
    }
    for entity, names in expected_files.items():
        assert sorted(p.name for p in (out / entity).iterdir()) == names
        for name in names:
            with (out / entity / name).open() as handle:
                # column names and order as in CONTRACT.md section 2
                assert handle.readline().strip().split(",") == ENTITY_FILES[entity] == list(ENTITIES[entity].column_names)
    resent = N * 95 // 100 // 100  # 1% of the first drop comes again in the second
    assert counts == {
        "accounts": N // 10,
        "campaigns": 500,
        "target_accounts": N // 10 // 50,
        "leads": N + resent,
        "deals": N // 50,
        "deal_contacts": 3 * N // 50,
        "engagement_events": 20 * N,
    }
    assert sum(len(rows(p)) for p in (out / "engagement_events").iterdir()) == 20 * N


def test_lead_proportions(landing):
    out, _ = landing
    first, second = rows(out / "leads" / "leads_0001.csv"), rows(out / "leads" / "leads_0002.csv")
    first_ids = {r["lead_id"] for r in first}
    # the current version of every record: the second drop replaces re-sent ones
    current = {r["lead_id"]: r for r in first + second}
    records = list(current.values())
    assert len(records) == N

    emails = [r["email"] for r in records if r["email"]]
    assert 0.99 * N <= len(emails) <= N  # ~0.5% have no email
    normalized = [e.strip().lower() for e in emails]
    duplicate_share = 1 - len(set(normalized)) / len(records)
    assert 0.04 <= duplicate_share <= 0.06

    # a second record of a person: another lead_id, the email in another case, created later
    by_email: dict[str, list[dict[str, str]]] = {}
    for r in records:
        if r["email"]:
            by_email.setdefault(r["email"].lower(), []).append(r)
    groups = [sorted(g, key=lambda r: r["created_at"]) for g in by_email.values() if len(g) > 1]
    assert 0.04 * N <= sum(len(g) - 1 for g in groups) <= 0.06 * N
    for group in groups:
        first_record, *later = group
        assert first_record["email"] == first_record["email"].lower()  # the first record is in lower case ...
        for record in later:  # ... the later ones spell it in another case, under another lead_id
            assert record["email"] != first_record["email"] and record["lead_id"] != first_record["lead_id"]
            assert record["created_at"] > first_record["created_at"]

    free_share = sum(e.split("@")[1] in FREE_MAIL_DOMAINS for e in normalized) / len(normalized)
    assert 0.08 <= free_share <= 0.12
    missing_title = sum(not r["job_title"] for r in records) / N
    missing_size = sum(not r["employee_count"] for r in records) / N
    assert 0.025 <= missing_title <= 0.06
    assert 0.025 <= missing_size <= 0.06
    titles = [r["job_title"].lower() for r in records if r["job_title"]]
    finance_share = sum(any(k in t for k in FINANCE) for t in titles) / len(titles)
    assert 0.35 <= finance_share <= 0.45
    industries = [r["industry"].strip().lower() for r in records if r["industry"]]
    assert 0.7 <= sum(i in TARGET_INDUSTRIES for i in industries) / len(industries) <= 0.95
    assert {r["lead_source"] for r in records} == {
        "webinar", "ebook", "paid_search", "paid_social", "organic", "newsletter", "event",
        "sales_outbound", "partner", "referral",
    }
    assert all("2024-01-01T00:00:00Z" <= r["created_at"] <= "2026-10-31T23:59:59Z" for r in records)
    assert all(r["created_at"].endswith("Z") for r in records)

    # second drop: 1% of the first re-sent with changes, plus new records
    resent = [r for r in second if r["lead_id"] in first_ids]
    new = [r for r in second if r["lead_id"] not in first_ids]
    assert 0.008 <= len(resent) / len(first) <= 0.012
    assert len(new) == N - len(first)
    original = {r["lead_id"]: r for r in first}
    assert all(r != original[r["lead_id"]] for r in resent)


def test_events_deals_and_accounts(landing):
    out, _ = landing
    events = [r for p in sorted((out / "engagement_events").iterdir()) for r in rows(p)]
    assert {r["event_type"] for r in events} == set(EVENT_TYPES)
    with_lead_id = sum(bool(r["lead_id"]) for r in events) / len(events)
    email_only = sum(not r["lead_id"] and bool(r["email"]) for r in events) / len(events)
    assert 0.85 <= with_lead_id <= 0.95
    assert 0.05 <= email_only <= 0.15
    assert all(r["lead_id"] or r["email"] for r in events)
    assert all("2024-01-01T00:00:00Z" <= r["occurred_at"] <= "2026-10-31T23:59:59Z" for r in events)
    assert len({r["event_id"] for r in events}) == len(events)

    first, second = rows(out / "deals" / "deals_0001.csv"), rows(out / "deals" / "deals_0002.csv")
    deals = list({r["deal_id"]: r for r in first + second}.values())
    stages = {r["stage"].lower().replace(" ", "_") for r in deals}
    assert set(CLOSED_STAGES) <= stages and stages - set(CLOSED_STAGES)
    assert all(r["closed_at"] for r in deals if r["stage"].lower().replace(" ", "_") in CLOSED_STAGES)
    assert 0.4 <= sum(bool(r["originating_lead_id"]) for r in deals) / len(deals) <= 0.8
    assert all(float(r["amount"]) > 0 for r in deals)
    contacts = [r for p in sorted((out / "deal_contacts").iterdir()) for r in rows(p)]
    assert len(contacts) == 3 * len(deals)

    accounts = rows(out / "accounts" / "accounts_0001.csv")
    targets = rows(out / "target_accounts" / "target_accounts_0001.csv")
    assert len(targets) == len(accounts) // 50
    assert all(t["account_id"] or t["domain"] for t in targets)


def test_every_row_passes_the_contract(landing, tmp_path):
    out, counts = landing
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for entity in ENTITIES:
        results = load_entity(conn, entity, out, progress=lambda message: None)
        assert results and all(r.status == "loaded" for r in results), results
        assert sum(r.rows_read for r in results) == counts[entity]
        assert sum(r.rows_quarantined for r in results) == 0, conn.execute(
            "SELECT entity, reason, count(*) FROM audit.quarantine GROUP BY ALL"
        ).fetchall()
    assert conn.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM audit.load_ledger WHERE status <> 'loaded'").fetchone()[0] == 0


def test_parquet_passes_the_contract(tmp_path):
    out = tmp_path / "landing"
    counts = generate(out, leads=300, fmt="parquet", progress=lambda message: None)
    assert sorted(p.name for p in (out / "leads").iterdir()) == ["leads_0001.parquet", "leads_0002.parquet"]
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for entity in ENTITIES:
        results = load_entity(conn, entity, out, progress=lambda message: None)
        assert all(r.status == "loaded" for r in results), results
        assert sum(r.rows_loaded for r in results) == counts[entity]
    assert conn.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0] == 0


def test_deterministic(landing, tmp_path):
    out, _ = landing
    again = tmp_path / "again"
    generate(again, leads=N, progress=lambda message: None)
    comparison = filecmp.dircmp(out, again)
    files = [p.relative_to(out) for p in out.rglob("*") if p.is_file()]
    assert len(files) == 11
    for relative in files:
        assert (out / relative).read_bytes() == (again / relative).read_bytes(), relative
    assert not comparison.left_only and not comparison.right_only
    other = tmp_path / "other_seed"
    generate(other, leads=N, seed=7, progress=lambda message: None)
    assert (other / "leads" / "leads_0001.csv").read_bytes() != (out / "leads" / "leads_0001.csv").read_bytes()


def test_generate_increment_adds_one_drop(tmp_path):
    out = tmp_path / "landing"
    generate(out, leads=N, progress=lambda message: None)
    before = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    counts = generate_increment(out, leads=N, seed=42, day="2026-11-01")
    added = {p.relative_to(out) for p in out.rglob("*") if p.is_file()} - before
    assert added == {
        Path("leads/leads_0003.csv"),
        Path("engagement_events/engagement_events_0003.csv"),
        Path("deals/deals_0003.csv"),
    }
    assert counts == {"leads": N // 1000, "engagement_events": round(20 * N / 730), "deals": max(1, N // 50 // 100)}
    events = rows(out / "engagement_events" / "engagement_events_0003.csv")
    assert all(r["occurred_at"].startswith("2026-11-01T") for r in events)
    new_leads = rows(out / "leads" / "leads_0003.csv")
    assert all(r["created_at"].startswith("2026-11-01T") for r in new_leads)
    old_ids = {r["lead_id"] for p in ("leads_0001.csv", "leads_0002.csv") for r in rows(out / "leads" / p)}
    assert not old_ids & {r["lead_id"] for r in new_leads}
    old_deals = {r["deal_id"]: r for p in ("deals_0001.csv", "deals_0002.csv") for r in rows(out / "deals" / p)}
    for deal in rows(out / "deals" / "deals_0003.csv"):
        assert deal != old_deals[deal["deal_id"]]  # re-sent with a new stage or amount

    second = generate_increment(out, leads=N, seed=42, day="2026-11-02")
    assert (out / "leads" / "leads_0004.csv").exists() and second["leads"] == counts["leads"]
    assert rows(out / "deals" / "deals_0004.csv") != rows(out / "deals" / "deals_0003.csv")

    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for entity in ENTITIES:
        results = load_entity(conn, entity, out, progress=lambda message: None)
        assert all(r.status == "loaded" for r in results), results
    assert conn.execute("SELECT count(*) FROM audit.quarantine").fetchone()[0] == 0


def test_generate_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path / "x", leads=5, progress=lambda message: None)
    with pytest.raises(ValueError):
        generate(tmp_path / "x", leads=100, fmt="jsonl", progress=lambda message: None)


@pytest.mark.slow
def test_benchmark_smoke(tmp_path):
    results = tmp_path / "results"
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--scale", "tiny", "--keep", str(tmp_path / "work"), "--results-dir", str(results)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    reports = sorted(p.name for p in results.iterdir())
    assert len(reports) == 2 and reports[0].endswith(".json") and reports[1].endswith(".md")
    report = json.loads((results / reports[0]).read_text())
    (scale,) = report["scales"]
    assert scale["scale"] == "tiny" and scale["leads"] == 1000
    for run in ("full", "incremental", "unchanged"):
        assert scale[run]["wall_s"] > 0 and scale[run]["peak_rss_mb"] > 0
        assert scale[run]["stages"]["dbt_build_s"] is not None
        assert set(scale[run]["stages"]["extract_s"]) >= {"leads", "engagement_events", "deals"}
    assert scale["ratios"]["full_over_reference"] > 0
    # the hand-written reference computes the same core figures as Baton
    assert all(figure["equal"] for figure in scale["agreement"].values()), scale["agreement"]
    markdown = (results / reports[1]).read_text()
    assert "full build / reference" in markdown and "| tiny |" in markdown
    # each target is stated, met or not, with what bounds a missed one
    assert "## Targets" in markdown and "| tiny | peak RSS (GiB) <= 2.0 |" in markdown
    assert "| no new file |" in markdown


# --- scripts/generate_sample.py: the shipped sample ---------------------------------------


def _sample_script():
    spec = importlib.util.spec_from_file_location("generate_sample", REPO_ROOT / "scripts" / "generate_sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_sample_script_writes_the_shipped_seeds_byte_for_byte(tmp_path):
    out = tmp_path / "seeds"
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "generate_sample.py"), "--out", str(out), "--no-check"],
        capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert len(written) == 10
    for relative in written:
        assert (out / relative).read_bytes() == (REPO_ROOT / "seeds" / relative).read_bytes(), relative


@pytest.mark.slow
def test_the_sample_check_reads_the_story_from_the_marts(built_warehouse, warehouse_copy):
    # built_warehouse: the shipped sample through `baton run`, as the script's check builds it
    script = _sample_script()
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        assert script.story_failures(conn) == []
    with duckdb.connect(str(warehouse_copy)) as conn:
        conn.execute("UPDATE marts.fct_leads SET sal_status = 'rejected' WHERE lead_id = 'S-001'")
        conn.execute("UPDATE marts.fct_deals SET influencing_touches = 3 WHERE deal_id = 'D-001'")
        conn.execute("DELETE FROM audit.quarantine WHERE row_number = 9")
        failures = script.story_failures(conn)
    assert [f.split(":")[0] for f in failures] == [
        "fct_leads S-001 (sal_status, sal_reasons)",
        "fct_deals D-001 (pipeline_category, influencing_touches)",
        "audit.quarantine",
    ]

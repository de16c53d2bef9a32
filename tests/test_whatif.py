"""`baton rules diff`: a proposed SAL definition next to the agreed one, read-only."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import pytest

from baton.lib.whatif import evaluate, render
from conftest import REPO_ROOT, baton_env, run_baton

pytestmark = pytest.mark.slow


def proposed_rules(tmp_path: Path) -> Path:
    """Company size widened to 50,000 and media added to the target industries."""
    text = (REPO_ROOT / "rules" / "default.yml").read_text()
    text = text.replace('version: "icp-2026.1"', 'version: "icp-2027.1-proposal"')
    text = text.replace("max_inclusive: 10000 ", "max_inclusive: 50000 ")
    text = text.replace("      - logistics\n", "      - logistics\n      - media\n")
    path = tmp_path / "proposed.yml"
    path.write_text(text)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_story_leads_flip_as_worked_out_by_hand(warehouse_copy: Path, tmp_path: Path) -> None:
    before = digest(warehouse_copy)
    result = evaluate(warehouse_copy, proposed_rules(tmp_path), flips_csv=tmp_path / "flips.csv", max_flips=10_000)
    flips = {row[0]: row[1:] for row in result.flips}
    # S-007: account 3000 employees, media now allowed, blank title still unknown -> undetermined.
    assert flips["S-007"] == ("rejected", "undetermined", "finance_role:unknown; industry:failed", "finance_role:unknown")
    # S-009 (media, but an Accounts Payable Clerk) and S-004 (exactly 50 employees) stay rejected.
    assert "S-009" not in flips and "S-004" not in flips
    assert (result.agreed_version, result.proposed_version) == ("icp-2026.1", "icp-2027.1-proposal")
    # nobody loses SAL status when the definition only widens
    assert all(status_before != "accepted" for status_before, _, _, _ in flips.values())
    moved = {(a, b): n for a, b, n in result.transitions}
    assert sum(n for (a, b), n in moved.items() if a != b) == result.flip_count == len(flips)
    with (tmp_path / "flips.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["lead_id"] for row in rows} == set(flips)
    assert digest(warehouse_copy) == before  # read-only: the warehouse file is untouched
    text = render(result)
    assert "S-007: rejected (finance_role:unknown; industry:failed) -> undetermined (finance_role:unknown)" in text


def test_cli_prints_the_diff_and_refuses_a_bad_proposal(warehouse_copy: Path, tmp_path: Path) -> None:
    env = baton_env(tmp_path, BATON_DUCKDB_PATH=str(warehouse_copy))
    completed = run_baton(env, "rules", "diff", str(proposed_rules(tmp_path)), "--out", str(tmp_path / "f.csv"))
    assert completed.returncode == 0, completed.stderr
    assert "LeadToSAL per month x source" in completed.stdout and "Leads that flip:" in completed.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text("version: x\nsal_rules:\n  seniority: {}\n")
    completed = run_baton(env, "rules", "diff", str(bad))
    assert completed.returncode == 2 and "line" in completed.stderr


def test_on_spark_without_the_tables_spark_builds_it_fails_saying_so(warehouse_copy: Path, tmp_path: Path) -> None:
    """BATON_ENGINE=spark: the what-if reads the rule chain's inputs from the tables Spark built
    (tests/test_spark.py runs it on a Spark build); before any Spark build it stops, naming what is missing."""
    env = baton_env(tmp_path, BATON_DUCKDB_PATH=str(warehouse_copy), BATON_ENGINE="spark", BATON_LAKE_DIR=str(tmp_path))
    completed = run_baton(env, "rules", "diff", str(proposed_rules(tmp_path)))
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "no table intermediate." in completed.stderr and "did dbt build on Spark run?" in completed.stderr

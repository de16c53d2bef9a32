"""The nightly HTML report (lib/report/, defs/report.py, docs/report.md).

Fast tier: the number formats, a report of tiny hand-made marts (CRM text is
escaped, empty marts still give every page, the folder is replaced whole and a
folder that is not a report is never touched, nothing refers outside the folder).
Slow tier, on the sample built by `baton run`: every figure query against SQL
written independently on the marts, the Dagster asset (built, and not rebuilt
when a landing file failed), and the report opened in headless Chromium from
disk and from `python -m http.server`: no console error, no request leaving the
machine, the headline figures equal to the marts, a screenshot of every page
kept in test-artifacts/report/.
"""

from __future__ import annotations

import datetime as dt
import html.parser
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from urllib.parse import urlparse

import duckdb
import pytest

from baton.lib.report import PAGES, NotAReportFolder, build_report, read_figures
from baton.lib.report.formatting import amount, count, pct
from baton.lib.report.figures import rules_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_AS_OF = dt.date(2026, 11, 15)
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("BATON_TEST_ARTIFACTS") or REPO_ROOT / "test-artifacts") / "report"


# --- the number formats (docs/report.md, "Number formats") --------------------------------------


def test_shares_are_exact_and_rounded_half_up_to_a_tenth_of_a_percent() -> None:
    assert pct(82, 313) == "26.2%"
    assert pct(1, 16) == "6.3%"  # 6.25 exactly: half up, where float formatting gives 6.2
    assert pct(1, 8) == "12.5%"
    assert pct(2, 3) == "66.7%"
    assert pct(0, 5) == "0.0%"
    assert pct(5, 5) == "100.0%"
    assert pct(3, 0) == pct(None, None) == "—"


def test_amounts_are_whole_units_grouped_by_thousands_and_counts_grouped() -> None:
    assert amount(2197435.56) == "2,197,436"
    assert amount(1234567.5) == "1,234,568"
    assert amount(0.5) == "1"
    assert amount(Decimal("999.49")) == "999"
    assert amount(0) == "0"
    assert amount(None) == "—"
    assert count(1234) == "1,234"


# --- tiny hand-made marts -----------------------------------------------------------------------

EVIL = "</script><script>alert(1)</script><b>"

TINY_MARTS = f"""
CREATE SCHEMA marts;
CREATE TABLE marts.fct_leads AS SELECT * FROM (VALUES
    ('L1', 'webinar', 'C1', TIMESTAMP '2026-10-02 10:00', 'accepted', '', true, 'v-{EVIL}'),
    ('L2', 'webinar', 'C1', TIMESTAMP '2026-10-03 10:00', 'rejected', 'finance_role:failed', false, 'v-{EVIL}'),
    ('L3', '{EVIL}', NULL, TIMESTAMP '2026-11-03 10:00', 'undetermined', 'industry:unknown', false, 'v-{EVIL}')
) t(lead_id, lead_source, campaign_id, created_at, sal_status, sal_reasons, is_sal, rules_version);
CREATE TABLE marts.lead_to_sal_monthly AS
    SELECT date_trunc('month', created_at)::DATE AS month, lead_source, count(*) AS leads, count(*) FILTER (WHERE is_sal) AS sals,
           count(*) FILTER (WHERE sal_status = 'rejected') AS rejected, count(*) FILTER (WHERE sal_status = 'undetermined') AS undetermined,
           count(*) FILTER (WHERE is_sal) / count(*) AS lead_to_sal_pct, count(*) FILTER (WHERE sal_status = 'undetermined') / count(*) AS undetermined_pct
    FROM marts.fct_leads GROUP BY ALL;
CREATE TABLE marts.fct_deals AS SELECT * FROM (VALUES
    ('D1', TIMESTAMP '2026-10-10 00:00', 1000.5, true, true, true, true, 'marketing_sourced'),
    ('D2', TIMESTAMP '2026-11-01 00:00', 250.25, false, false, false, true, 'marketing_influenced'),
    ('D3', TIMESTAMP '2026-11-02 00:00', 99.0, false, true, false, false, 'sales_only')
) t(deal_id, created_at, amount, is_won, is_closed, is_marketing_sourced, is_marketing_influenced, pipeline_category);
CREATE TABLE marts.fct_attribution_touches AS SELECT * FROM (VALUES
    ('D1', 'E1', '{EVIL}', 1000.5, 1000.5),
    ('D2', 'E2', 'webinar', 250.25, 250.25)
) t(deal_id, event_id, channel, credited_first_touch, credited_linear);
CREATE TABLE marts.campaign_performance AS SELECT * FROM (VALUES
    ('C1', '{EVIL}', 'webinar', 100.0, 2, 1, 1, 1000.5, 1000.5, 1000.5, 1000.5, 1000.5, 50.0, 100.0),
    (NULL, NULL, 'unknown', NULL, 1, 0, 1, 250.25, 250.25, 250.25, 0.0, 0.0, NULL, NULL)
) t(campaign_id, campaign_name, channel, cost, leads, sals, influenced_deals, influenced_pipeline,
    attributed_pipeline_first_touch, attributed_pipeline_linear, attributed_won_first_touch, attributed_won_linear, cost_per_lead, cost_per_sal);
CREATE TABLE marts.abm_accounts AS SELECT * FROM (VALUES
    ('A1', 'acme.com', '{EVIL}', '1', 2, 1, 1, 3, 250.25, 1000.5, 'customer')
) t(account_id, domain, account_name, tier, leads, sals, engaged_contacts_90d, touches_90d, open_pipeline, won_arr, journey_stage);
CREATE TABLE marts.funnel_monthly AS
    SELECT month, lead_source, leads, sals, 0 AS opportunities, 0 AS sal_opportunities, 0 AS won,
           lead_to_sal_pct, NULL::DOUBLE AS sal_to_opportunity_pct, NULL::DOUBLE AS opportunity_to_won_pct
    FROM marts.lead_to_sal_monthly;
"""


def make_db(path: Path, sql: str) -> Path:
    conn = duckdb.connect(str(path))
    conn.execute(sql)
    conn.close()
    return path


@pytest.fixture
def tiny_marts(tmp_path: Path) -> Path:
    return make_db(tmp_path / "tiny.serving.duckdb", TINY_MARTS)


class _Refs(html.parser.HTMLParser):
    """Every src / href of a page, and the text of its scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [value or "" for name, value in attrs if name in ("src", "href")]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def kpi(page: str, id: str) -> tuple[str, str]:
    """(text, data-value) of a headline figure in a page's HTML."""
    match = re.search(f'<div id="{id}"[^>]*? data-value="([^"]*)">([^<]*)</div>', page)
    assert match, id
    return match.group(2), match.group(1)


def test_tiny_marts_give_every_page_with_crm_text_escaped_and_nothing_outside_the_folder(tiny_marts: Path, tmp_path: Path) -> None:
    result = build_report(tiny_marts, tmp_path / "report", SAMPLE_AS_OF)
    assert [p.name for p in result.pages] == [p.file for p in PAGES]
    assert result.headline.leads == 3 and result.headline.sals == 1
    assert result.headline.pipeline == {"marketing_sourced": Decimal("1000.5"), "marketing_influenced": Decimal("250.25"), "sales_only": Decimal("99")}
    for page in result.pages:
        text = page.read_text(encoding="utf-8")
        assert "<script>alert(1)" not in text and "<b>" not in text, page.name
        refs = parse(page)
        for ref in refs.refs:
            # relative paths inside the folder, anchors, or the empty data: favicon; never a scheme or a host
            assert ref == "data:," or not urlparse(ref).scheme and not ref.startswith("//") and ".." not in ref, (page.name, ref)
            target = ref.split("#")[0]
            if target and ref != "data:,":
                assert (result.out_dir / target).is_file(), (page.name, ref)
        for script in refs.scripts:
            assert "http://" not in script and "https://" not in script, page.name
    assert "&lt;/script&gt;" in (result.out_dir / "campaigns.html").read_text(encoding="utf-8")
    css = (result.out_dir / "assets" / "report.css").read_text(encoding="utf-8")
    assert "@import" not in css and "url(" not in css
    summary = json.loads((result.out_dir / "report.json").read_text(encoding="utf-8"))
    assert summary["as_of"] == "2026-11-15" and summary["headline"]["leads"] == 3


def test_empty_marts_still_give_every_page(tmp_path: Path) -> None:
    source = make_db(tmp_path / "empty.duckdb", TINY_MARTS + "".join(
        f"DELETE FROM marts.{t};" for t in ("fct_leads", "lead_to_sal_monthly", "fct_deals", "fct_attribution_touches",
                                             "campaign_performance", "abm_accounts", "funnel_monthly")))
    result = build_report(source, tmp_path / "report", None)
    index = result.index.read_text(encoding="utf-8")
    assert kpi(index, "kpi-lead-to-sal") == ("—", "")
    assert kpi(index, "kpi-pipeline-sourced") == ("0", "0")
    assert 'id="as-of">not recorded<' in index
    assert all(page.is_file() for page in result.pages)


def test_missing_marts_are_said_not_guessed(tmp_path: Path) -> None:
    from baton.lib.report import MissingMarts

    source = make_db(tmp_path / "nothing.duckdb", "CREATE SCHEMA marts; CREATE TABLE marts.other (x INT);")
    with pytest.raises(MissingMarts, match="marts.fct_deals, marts.fct_leads"):
        build_report(source, tmp_path / "report", None)
    assert not (tmp_path / "report").exists()


def test_the_folder_is_replaced_whole_and_a_folder_that_is_not_a_report_is_left_alone(tiny_marts: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    build_report(tiny_marts, out, SAMPLE_AS_OF)
    (out / "stale-page.html").write_text("from an older version")
    conn = duckdb.connect(str(tiny_marts))
    conn.execute("UPDATE marts.fct_deals SET amount = 2000 WHERE deal_id = 'D1'")
    conn.close()
    second = build_report(tiny_marts, out, SAMPLE_AS_OF)
    assert second.headline.pipeline["marketing_sourced"] == Decimal("2000")
    assert kpi((out / "index.html").read_text(encoding="utf-8"), "kpi-pipeline-sourced") == ("2,000", "2000")
    assert not (out / "stale-page.html").exists()  # the whole folder is new, not files written over the old ones
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "tiny.serving.duckdb"]  # no staging folder left
    (tmp_path / ".report.0123.tmp").mkdir()  # left by a build killed half-way: cleared by the next
    build_report(tiny_marts, out, SAMPLE_AS_OF)
    assert not (tmp_path / ".report.0123.tmp").exists()

    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(NotAReportFolder):
        build_report(tiny_marts, precious, SAMPLE_AS_OF)
    assert [p.name for p in precious.iterdir()] == ["thesis.txt"]


def test_the_plotly_bundle_is_the_one_inside_the_wheel() -> None:
    import plotly.offline

    from baton.lib.report.build import plotly_asset

    name, script = plotly_asset()
    assert name == f"plotly-{plotly.offline.get_plotlyjs_version()}.min.js"
    assert len(script) > 1_000_000 and "cdn" not in name


# --- the sample: every figure against independent SQL -------------------------------------------


def q(db: Path, sql: str) -> list[tuple]:
    conn = duckdb.connect(str(db), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def serving_of(warehouse: Path) -> Path:
    return warehouse.with_name("warehouse.serving.duckdb")


@pytest.fixture(scope="module")
def sample_figures(built_warehouse: Path):
    conn = duckdb.connect(str(serving_of(built_warehouse)), read_only=True)
    try:
        return read_figures(conn)
    finally:
        conn.close()


@pytest.mark.slow
def test_headline_figures_equal_the_marts(built_warehouse: Path, sample_figures) -> None:
    h = sample_figures.headline
    leads, sals, rejected, undetermined = q(
        built_warehouse,
        "SELECT count(*), sum(is_sal::INT), sum((sal_status = 'rejected')::INT), sum((sal_status = 'undetermined')::INT) FROM marts.fct_leads",
    )[0]
    assert (h.leads, h.sals, h.rejected, h.undetermined) == (leads, sals, rejected, undetermined)
    sourced, influenced, sales_only, won = q(
        built_warehouse,
        """SELECT sum(amount) FILTER (WHERE is_marketing_sourced), sum(amount) FILTER (WHERE is_marketing_influenced AND NOT is_marketing_sourced),
                  sum(amount) FILTER (WHERE NOT is_marketing_sourced AND NOT is_marketing_influenced), sum(amount) FILTER (WHERE stage = 'closed_won')
           FROM marts.fct_deals""",
    )[0]
    assert float(h.pipeline["marketing_sourced"]) == pytest.approx(sourced, abs=1e-6)
    assert float(h.pipeline["marketing_influenced"]) == pytest.approx(influenced, abs=1e-6)
    assert float(h.pipeline["sales_only"]) == pytest.approx(sales_only, abs=1e-6)
    assert float(h.won_arr) == pytest.approx(won, abs=1e-6)
    assert h.lead_to_sal == pytest.approx(sals / leads)


@pytest.mark.slow
def test_lead_to_sal_pages_add_up_to_fct_leads(built_warehouse: Path, sample_figures) -> None:
    f = sample_figures
    by_month = q(
        built_warehouse,
        "SELECT date_trunc('month', created_at)::DATE, count(*), sum(is_sal::INT), sum((sal_status = 'undetermined')::INT) FROM marts.fct_leads GROUP BY 1 ORDER BY 1",
    )
    assert [(r["month"], r["leads"], r["sals"], r["undetermined"]) for r in f.lead_to_sal_by_month] == by_month
    by_source = dict(((s, (n, a)) for s, n, a in q(built_warehouse, "SELECT lead_source, count(*), sum(is_sal::INT) FROM marts.fct_leads GROUP BY 1")))
    assert {r["lead_source"]: (r["leads"], r["sals"]) for r in f.lead_to_sal_by_source} == by_source
    assert len(f.lead_to_sal_detail) == q(built_warehouse, "SELECT count(*) FROM marts.lead_to_sal_monthly")[0][0]
    # funnel cohorts hold the same leads and SALs
    assert [(r["month"], r["leads"], r["sals"]) for r in f.funnel_by_cohort] == [(m, n, s) for m, n, s, _ in by_month]


@pytest.mark.slow
def test_reasons_match_the_per_rule_results(built_warehouse: Path, sample_figures) -> None:
    # independent path: the rule_results map of fct_leads, not the sal_reasons text the report parses
    expected = {
        rule: (failed, unknown)
        for rule, failed, unknown in q(
            built_warehouse,
            """SELECT e.key, sum((e.value = 'failed')::INT), sum((e.value = 'unknown')::INT)
               FROM (SELECT unnest(map_entries(rule_results)) AS e FROM marts.fct_leads) GROUP BY 1""",
        )
        if failed or unknown
    }
    assert {r["rule"]: (r["failed"], r["unknown"]) for r in sample_figures.rule_outcomes} == expected
    not_accepted = q(built_warehouse, "SELECT count(*) FROM marts.fct_leads WHERE sal_status <> 'accepted'")[0][0]
    assert sum(r["leads"] for r in sample_figures.reason_combinations) == not_accepted


@pytest.mark.slow
def test_pipeline_attribution_campaigns_and_abm_match_the_marts(built_warehouse: Path, sample_figures) -> None:
    f = sample_figures
    by_month = {
        (m, c): (n, a)
        for m, c, n, a in q(
            built_warehouse,
            "SELECT make_date(year(created_at), month(created_at), 1), pipeline_category, count(*), sum(amount) FROM marts.fct_deals GROUP BY 1, 2",
        )
    }
    assert {(r["month"], r["pipeline_category"]): (r["deals"], pytest.approx(float(r["arr"]))) for r in f.pipeline_by_month} == by_month
    # every model hands out the whole ARR of each deal with touches
    touched = q(built_warehouse, "SELECT sum(amount) FROM marts.fct_deals WHERE influencing_touches > 0")[0][0]
    assert f.models == ["first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay"]
    for model in f.models:
        assert float(sum(r[model] for r in f.attribution_by_channel)) == pytest.approx(touched, abs=1e-4), model
    per_channel = dict(q(built_warehouse, "SELECT channel, sum(credited_w_shaped) FROM marts.fct_attribution_touches GROUP BY 1"))
    assert {r["channel"]: pytest.approx(float(r["w_shaped"])) for r in f.attribution_by_channel} == per_channel
    won = q(built_warehouse, "SELECT sum(amount) FROM marts.fct_deals WHERE is_won AND influencing_touches > 0")[0][0]
    assert float(sum(r["linear"] for r in f.attribution_won_by_channel)) == pytest.approx(won, abs=1e-4)
    ranked = q(built_warehouse, "SELECT campaign_id FROM marts.campaign_performance WHERE cost_per_sal IS NOT NULL ORDER BY cost / sals")
    assert [r["campaign_id"] for r in f.campaigns if r["cost_per_sal"] is not None] == [c for (c,) in ranked]
    assert len(f.campaigns) == q(built_warehouse, "SELECT count(*) FROM marts.campaign_performance")[0][0]
    stages = dict(q(built_warehouse, "SELECT journey_stage, count(*) FROM marts.abm_accounts GROUP BY 1"))
    assert {s: sum(1 for a in f.abm_accounts if a["journey_stage"] == s) for s in stages} == stages
    assert [r["rules_version"] for r in f.rules_versions] == [v for (v,) in q(built_warehouse, "SELECT DISTINCT rules_version FROM marts.fct_leads")]


# --- the Dagster asset --------------------------------------------------------------------------


@pytest.fixture
def asset_env(built_warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the sample warehouse and its serving copy, the settings pointing at it."""
    for name in ("warehouse.duckdb", "warehouse.serving.duckdb"):
        shutil.copy(built_warehouse.with_name(name), tmp_path / name)
    for key in [k for k in os.environ if k.startswith("BATON_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("BATON_DUCKDB_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("BATON_AS_OF", SAMPLE_AS_OF.isoformat())
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    return tmp_path


def _materialize(folder: Path):
    import dagster as dg

    from baton.defs.report import nightly_report
    from baton.defs.resources import WarehouseResource

    result = dg.materialize(
        [nightly_report], resources={"warehouse": WarehouseResource(database=str(folder / "warehouse.duckdb"))}, raise_on_error=True
    )
    return result.asset_materializations_for_node("report__nightly")


@pytest.mark.slow
def test_asset_writes_the_report_beside_the_warehouse_with_the_headline_as_metadata(asset_env: Path) -> None:
    materializations = _materialize(asset_env)
    assert len(materializations) == 1
    metadata = materializations[0].metadata
    index = asset_env / "report" / "index.html"
    assert metadata["report_path"].value == str(index) and index.is_file()
    assert metadata["source"].value == str(asset_env / "warehouse.serving.duckdb")
    assert metadata["leads"].value == q(asset_env / "warehouse.duckdb", "SELECT count(*) FROM marts.fct_leads")[0][0]
    assert metadata["as_of_date"].value == "2026-11-15"
    text = (asset_env / "report" / "rules.html").read_text(encoding="utf-8")
    assert "financial services, banking" in text  # the settings come from the warehouse's config.rules
    assert '<time id="as-of" datetime="2026-11-15">15 Nov 2026</time>' in text


@pytest.mark.slow
def test_asset_does_not_rebuild_the_report_when_a_landing_file_failed(asset_env: Path) -> None:
    conn = duckdb.connect(str(asset_env / "warehouse.duckdb"))
    conn.execute("INSERT INTO audit.landing_status VALUES ('leads', '/landing/leads/broken.csv', 'failed', 'not CSV', now()::TIMESTAMP)")
    conn.close()
    assert _materialize(asset_env) == []
    assert not (asset_env / "report").exists()


@pytest.mark.slow
def test_the_report_is_downstream_of_the_serving_copy_in_the_definitions() -> None:
    import dagster as dg

    from baton.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["report", "nightly"]))
    assert node.parent_keys == {dg.AssetKey(["serving", "marts"])}
    assert node.group_name == "report"
    assert dg.AssetKey(["report", "nightly"]) in defs.resolve_job_def("nightly").asset_layer.selected_asset_keys


# --- in a real browser --------------------------------------------------------------------------


def ensure_chromium() -> Path:
    """Debian's chromium, installed with apt-get where missing. Fails (not skips) when it cannot be."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 and not shutil.which("sudo"):
        pytest.fail(f"{CHROMIUM} is missing and this user cannot install it: run `apt-get install -y chromium` as root")
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    completed = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
    if completed.returncode != 0:  # stale package lists: update once, then try again
        subprocess.run([*sudo, "apt-get", "update"], env=env, capture_output=True, text=True, timeout=600)
        completed = subprocess.run(install, env=env, capture_output=True, text=True, timeout=1200)
    if completed.returncode != 0 or not CHROMIUM.exists():
        pytest.fail(f"could not install chromium: {completed.stdout[-2000:]}{completed.stderr[-2000:]}")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser():
    chromium = ensure_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need playwright: pip install -e '.[dev]' (it drives the system chromium; never `playwright install`)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        )
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def sample_report(built_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of the sample, built as the asset builds it: from the serving copy, with the build's settings."""
    conn = duckdb.connect(str(built_warehouse), read_only=True)
    try:
        settings_row = rules_settings(conn)
    finally:
        conn.close()
    out = tmp_path_factory.mktemp("report_build") / "report"
    build_report(serving_of(built_warehouse), out, SAMPLE_AS_OF, rules_settings=settings_row)
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def served_report(sample_report: Path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(sample_report)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "index.html", timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("python -m http.server did not start")
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def half_up(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def expected_kpis(warehouse: Path) -> dict[str, str]:
    """The headline texts, from SQL on the warehouse's marts and the documented rules (docs/report.md), written anew here."""
    leads, sals, undetermined = q(
        warehouse, "SELECT count(*), count(*) FILTER (WHERE is_sal), count(*) FILTER (WHERE sal_status = 'undetermined') FROM marts.fct_leads"
    )[0]
    sourced, influenced, sales_only = q(
        warehouse,
        """SELECT round(sum(amount) FILTER (WHERE is_marketing_sourced))::BIGINT,
                  round(sum(amount) FILTER (WHERE is_marketing_influenced AND NOT is_marketing_sourced))::BIGINT,
                  round(sum(amount) FILTER (WHERE NOT is_marketing_sourced AND NOT is_marketing_influenced))::BIGINT
           FROM marts.fct_deals""",
    )[0]
    with localcontext() as context:
        context.prec = 50
        share = lambda n, d: f"{half_up(Decimal(100 * n) / Decimal(d), '0.1')}%"  # noqa: E731
        return {
            "kpi-leads": f"{leads:,}",
            "kpi-sals": f"{sals:,}",
            "kpi-lead-to-sal": share(sals, leads),
            "kpi-undetermined": share(undetermined, leads),
            "kpi-pipeline-sourced": f"{sourced:,}",
            "kpi-pipeline-influenced": f"{influenced:,}",
            "kpi-pipeline-sales-only": f"{sales_only:,}",
        }


def open_every_page(browser, base: str, shots: Path, port: int | None) -> dict[str, dict[str, str]]:
    """Visit every page: fail on a console error, a page error, a failed load or a request leaving the machine;
    wait for every chart to be drawn; keep a full-page screenshot. Returns each page's KPI texts and data-values."""
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    problems: list[str] = []
    outside: list[str] = []

    def gate(route) -> None:
        url = urlparse(route.request.url)
        if url.scheme == "file" or (url.scheme == "http" and url.hostname == "127.0.0.1" and url.port == port):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", gate)
    page = context.new_page()
    page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url} {request.failure}"))
    page.on("response", lambda response: problems.append(f"HTTP {response.status}: {response.url}") if response.status >= 400 else None)
    found: dict[str, dict[str, str]] = {}
    try:
        for spec in PAGES:
            page.goto(base + spec.file, wait_until="load")
            charts = int(page.get_attribute("body", "data-charts"))
            page.wait_for_function(
                "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n && "
                "[...document.querySelectorAll('.plotly-graph-div')].every(d => d.querySelector('.main-svg'))",
                arg=charts, timeout=30_000,
            )
            assert page.locator(".plotly-graph-div").count() == charts, spec.file
            assert page.locator("nav a").count() == len(PAGES)
            assert page.locator('nav a[aria-current="page"]').get_attribute("href") == spec.file
            assert page.locator("#rules-version").inner_text().strip() and page.locator("#built-at").inner_text().strip()
            page.screenshot(path=str(shots / f"{spec.file.removesuffix('.html')}.png"), full_page=True)
            found[spec.file] = {
                element.get_attribute("id"): (element.inner_text().strip(), element.get_attribute("data-value") or "")
                for element in page.locator("[id^=kpi-]").all()
            }
            found[spec.file]["as-of"] = (page.locator("#as-of").inner_text().strip(), page.locator("#as-of").get_attribute("datetime") or "")
            found[spec.file]["rules-version"] = (page.locator("#rules-version").inner_text().strip(), "")
    finally:
        context.close()
    assert not outside, f"requests that would have left the machine: {outside}"
    assert not problems, "\n".join(problems)
    return found


def check_kpis(found: dict[str, dict[str, tuple[str, str]]], warehouse: Path) -> None:
    expected = expected_kpis(warehouse)
    kpis = found["index.html"]
    assert {key: kpis[key][0] for key in expected} == expected
    # data-value carries the unrounded figure
    leads, sals = q(warehouse, "SELECT count(*), count(*) FILTER (WHERE is_sal) FROM marts.fct_leads")[0]
    assert float(kpis["kpi-lead-to-sal"][1]) == pytest.approx(sals / leads, abs=1e-12)
    sourced = q(warehouse, "SELECT sum(amount) FROM marts.fct_deals WHERE is_marketing_sourced")[0][0]
    assert float(kpis["kpi-pipeline-sourced"][1]) == pytest.approx(sourced, abs=1e-6)
    version = q(warehouse, "SELECT DISTINCT rules_version FROM marts.fct_leads")[0][0]
    for page, values in found.items():
        assert values["as-of"] == ("15 Nov 2026", "2026-11-15"), page
        assert values["rules-version"][0] == version, page


@pytest.mark.slow
def test_report_from_disk_in_headless_chromium(browser, sample_report: Path, built_warehouse: Path) -> None:
    found = open_every_page(browser, sample_report.as_uri() + "/", ARTIFACTS / "file", port=None)
    check_kpis(found, built_warehouse)


@pytest.mark.slow
def test_report_from_a_static_web_server_in_headless_chromium(browser, served_report: str, built_warehouse: Path) -> None:
    found = open_every_page(browser, served_report, ARTIFACTS / "http", port=urlparse(served_report).port)
    check_kpis(found, built_warehouse)


@pytest.mark.slow
def test_a_request_leaving_the_machine_is_caught(browser, sample_report: Path, tmp_path: Path) -> None:
    """The gate above works: a page that loads something from the internet fails the check."""
    leaky = tmp_path / "report"
    shutil.copytree(sample_report, leaky)
    index = leaky / "index.html"
    index.write_text(index.read_text(encoding="utf-8").replace("</head>", '<script src="https://cdn.example.com/x.js"></script></head>'))
    with pytest.raises(AssertionError, match="cdn.example.com"):
        open_every_page(browser, leaky.as_uri() + "/", tmp_path / "shots", port=None)

"""Synthetic landing folders for load tests and benchmarks (CONTRACT.md s2, s7).

`generate(out, leads=N)` writes a landing folder with N lead records and the
matching accounts, engagement events, deals, deal contacts, campaigns and
target accounts; `generate_increment` adds one nightly drop to such a folder.

Everything is generated inside DuckDB: rows come from `range()`, and every
random choice is a hash of (row number, purpose, seed), so the output is
byte-identical for a given seed whatever the number of threads, and no Python
code runs per row. Files are written with `COPY ... TO` (CSV with a header, or
Parquet with every column as text, exactly the CSV's values).

Shape for N leads (all proportions are of lead records unless said otherwise):

- accounts N/10; 0.5% share a domain with the previous account; domains are
  sometimes written with `www.`, `https://` or in upper case;
- leads: 80% work at an account (leads of account `a` are the records
  `a, a + A, a + 2A, ...`), 20% at a company that is not in `accounts`;
  5% are a second record of an earlier person (same email in another case,
  another lead_id, later created_at: every record `i` with `i % 20 == 7`);
  10% use a free-mail address; 0.5% have no email; ~4% have no title, ~4% no
  employee count; ~40% finance titles; ~80% of the industries are in the
  default target list (in varying case); ten lead sources, campaign ids where
  the source has a campaign; created_at spread evenly over 2024-01-01 ..
  2026-10-31;
- engagement events 20 x N of the eleven contract types, time-ordered, each
  for a person created before it (or a few days after: events before
  created_at happen), favouring recent leads; 35% of the people (whole
  accounts at a time) never engage, so some deals are sales-only; 70% of the
  events carry lead_id and email, 22% lead_id only, 8% email only, and 0.5%
  come from unknown visitors (an email matching no lead);
- deals N/50, three contacts each (80% by lead_id, 20% by email, mostly
  people of the deal's account), 60% with an originating lead;
  closed won / closed lost / open stages (`Closed Won` spelled both ways);
- 500 campaigns; target accounts: 2% of the accounts (80% by account_id, 20%
  by domain only).

Leads, engagement events, deals and deal contacts come in two drops
(`<entity>/<entity>_0001.<ext>`, `_0002`): the first holds the oldest 95% of
the records, the second the newest 5% plus, for leads and deals, 1% of the
first drop's records re-sent with changes (a new title and employee count; a
deal closed or re-priced). Accounts, campaigns and target accounts come as one
file each in their own folder.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from baton.lib.sqltext import quote_literal
from baton.lib.vocabularies import CLOSED_STAGES, EVENT_TYPES as CONTRACT_EVENT_TYPES, FREE_MAIL_DOMAINS, check_subset

__all__ = ["generate", "generate_increment", "ENTITY_FILES"]

START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
END = dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
START_S = int(START.timestamp())
END_S = int(END.timestamp())
SPAN_S = END_S - START_S
DAY_S = 86400

CAMPAIGNS = 500
# Campaign channels cycle over the campaigns: campaign c has channel CHANNELS[(c - 1) % 7].
CHANNELS = ["webinar", "ebook", "paid_search", "paid_social", "newsletter", "event", "content"]
_CAMPAIGN_SLOTS = CAMPAIGNS // len(CHANNELS)  # 71: campaign = channel_index + 1 + 7 * slot

# Lead source -> (weight %, channel index of its campaigns or None, share with a campaign).
LEAD_SOURCES = {
    "webinar": (15, 0, 0.9),
    "ebook": (15, 1, 0.9),
    "paid_search": (12, 2, 0.85),
    "paid_social": (12, 3, 0.85),
    "organic": (14, 6, 0.2),
    "newsletter": (8, 4, 0.8),
    "event": (7, 5, 0.9),
    "sales_outbound": (9, None, 0.0),
    "partner": (5, None, 0.0),
    "referral": (3, None, 0.0),
}

# Event type -> (weight %, channel index of its campaigns or None, share with a campaign).
EVENT_TYPES = {
    "website_visit": (25, 6, 0.2),
    "blog_view": (15, 6, 0.5),
    "email_click": (12, 4, 0.9),
    "newsletter_open": (12, 4, 0.9),
    "ad_click": (10, 2, 1.0),  # paid_search or paid_social, see below
    "ebook_download": (7, 1, 0.95),
    "webinar_registration": (6, 0, 0.95),
    "webinar_attendance": (4, 0, 0.95),
    "form_submission": (5, 6, 0.6),
    "event_attendance": (2, 5, 0.95),
    "demo_request": (2, None, 0.0),
}
check_subset("baton.dev.generate EVENT_TYPES", EVENT_TYPES, CONTRACT_EVENT_TYPES, every=True)

TARGET_INDUSTRIES = [
    "Financial Services", "Banking", "Insurance", "Software",
    "Manufacturing", "Healthcare", "Retail", "Logistics",
]
OTHER_INDUSTRIES = ["Education", "Government", "Media", "Telecommunications", "Energy", "Consulting", "Nonprofit"]
FINANCE_TITLES = [
    "CFO", "Chief Financial Officer", "VP Finance", "Finance Director", "Director of Finance",
    "Financial Controller", "Controller", "Head of FP&A", "FP&A Manager", "Treasurer",
    "Senior Accountant", "Accounting Manager", "Group Financial Controller", "Finance Manager",
]
OTHER_TITLES = [
    "Marketing Manager", "CEO", "CTO", "Head of Sales", "Software Engineer", "Operations Manager",
    "HR Director", "Product Manager", "Data Analyst", "IT Manager", "Procurement Lead", "COO",
    "Customer Success Manager", "Office Manager",
]
FREE_MAIL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "icloud.com", "gmx.net", "proton.me", "aol.com"]
check_subset("baton.dev.generate FREE_MAIL", FREE_MAIL, FREE_MAIL_DOMAINS)
# The stages that close a deal, as written: canonical, or spelled as a CRM shows them (`Closed Won`).
WON, LOST = (quote_literal(stage) for stage in CLOSED_STAGES)
WON_SPELLED, LOST_SPELLED = (quote_literal(stage.replace("_", " ").title()) for stage in CLOSED_STAGES)
FIRST_NAMES = [
    "Ana", "Bob", "Carla", "Dan", "Erin", "Farid", "Gina", "Hank", "Ivan", "Julia", "Kenji", "Lena",
    "Mateo", "Nadia", "Omar", "Priya", "Quinn", "Ryan", "Sofia", "Tomas", "Uma", "Victor", "Wen",
    "Xenia", "Yusuf", "Zoe", "Alice", "Noah", "Maya", "Lucas", "Emma", "Liam",
]
LAST_NAMES = [
    "Story", "Jones", "Smith", "Moreau", "Nguyen", "Schmidt", "Kowalski", "Garcia", "Rossi",
    "Tanaka", "Olsen", "Brown", "Dubois", "Silva", "Khan", "Novak", "Berg", "Meyer", "Lopez",
    "Costa", "Murphy", "Jensen", "Ivanova", "Okafor", "Park", "Fischer", "Weber", "Hughes",
]
NAME_WORDS = [
    "Northwind", "Globex", "Initech", "Umbrella", "Hooli", "Acme", "Stark", "Wayne", "Tyrell",
    "Cyberdyne", "Oakridge", "Summit", "Foxglove", "Tamarack", "Lakeshore", "Delta", "Bluebird",
    "Redwood", "Silverline", "Ironbridge", "Harbor", "Crescent", "Pinnacle", "Evergreen",
]
NAME_SUFFIXES = [
    "Bank", "Software", "Retail", "Health", "Insurance", "Logistics", "Mutual", "Trust",
    "Systems", "Labs", "Group", "Industries", "Partners", "Capital", "Foods", "Motors",
]
TLDS = [(70, ".com"), (10, ".io"), (8, ".co.uk"), (7, ".de"), (5, ".net")]
COUNTRIES = [(45, "US"), (15, "GB"), (10, "DE"), (8, "FR"), (7, "CA"), (5, "SE"), (5, "NL"), (5, "AU")]
OPEN_STAGES = ["qualification", "discovery", "proposal", "negotiation"]
ROLES = ["economic_buyer", "champion", "user", "evaluator"]
ASSETS = [
    "Q1 webinar", "Forecasting webinar", "The Modern Finance Stack", "Cash forecasting 101",
    "What is FP&A?", "Close faster checklist", "CFO survey 2026", "Pricing page", "Product tour",
    "Monthly newsletter", "Budgeting template", "Customer story",
]
CAMPAIGN_THEMES = ["Finance Leaders", "Modern Finance Stack", "CFO audience", "Close Faster", "FP&A Summit", "Cash Forecasting"]

# Column order of every entity, as in CONTRACT.md section 2.
ENTITY_FILES = {
    "leads": [
        "lead_id", "email", "first_name", "last_name", "job_title", "company_name", "company_domain",
        "employee_count", "industry", "country", "lead_source", "campaign_id", "created_at",
    ],
    "engagement_events": ["event_id", "lead_id", "email", "event_type", "campaign_id", "asset_name", "occurred_at"],
    "accounts": ["account_id", "account_name", "domain", "employee_count", "industry", "country"],
    "deals": ["deal_id", "account_id", "deal_name", "created_at", "closed_at", "stage", "amount", "originating_lead_id"],
    "deal_contacts": ["deal_id", "lead_id", "email", "role"],
    "campaigns": ["campaign_id", "campaign_name", "channel", "cost", "start_date", "end_date"],
    "target_accounts": ["account_id", "domain", "tier", "added_at"],
}

FIRST_DROP_SHARE = 0.95
QUIET_SHARE = 0.35
LEAD_CAMPAIGN_HASH = "h(i, 'l_cs')"
EVENT_CAMPAIGN_HASH = "h(i, 'e_cs')"
_DROP_FILE = re.compile(r"_(\d{4,})\.(csv|parquet)$")


# --- SQL building blocks ------------------------------------------------------------------


def _list(values: list[str]) -> str:
    return "[" + ", ".join(quote_literal(v) for v in values) + "]"


def _pick(values: list[str], index_expr: str) -> str:
    """values[index_expr % len] (index_expr a non-negative integer expression)."""
    return f"{_list(values)}[1 + ({index_expr}) % {len(values)}]"


def _weighted(choices: list[tuple[float, str]], u: str) -> str:
    """A CASE picking a SQL expression by cumulative weight of the uniform `u`."""
    total = sum(w for w, _ in choices)
    parts, cumulative = [], 0.0
    for weight, expr in choices[:-1]:
        cumulative += weight / total
        parts.append(f"WHEN {u} < {cumulative:.6f} THEN {expr}")
    return f"CASE {' '.join(parts)} ELSE {choices[-1][1]} END"


def _iso(seconds_expr: str) -> str:
    return f"strftime(make_timestamp(({seconds_expr})::BIGINT * 1000000), '%Y-%m-%dT%H:%M:%SZ')"


def _date(seconds_expr: str) -> str:
    return f"strftime(make_timestamp(({seconds_expr})::BIGINT * 1000000), '%Y-%m-%d')"


def _campaign_of(channel_index: int, h: str) -> str:
    return quote_literal("C-") + f" || lpad(({channel_index + 1} + {len(CHANNELS)} * (({h}) % {_CAMPAIGN_SLOTS}))::VARCHAR, 4, '0')"


def _connect(seed: int) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect()
    conn.execute("SET preserve_insertion_order = true")
    conn.execute("SET enable_progress_bar = false")
    seed = int(seed)
    # h(i, purpose): a 64-bit hash; u(i, purpose): uniform in [0, 1). Deterministic, thread-independent.
    conn.execute(f"CREATE TEMP MACRO h(i, k) AS (hash(i, k, {seed}::BIGINT) >> 1)::BIGINT")
    conn.execute(f"CREATE TEMP MACRO u(i, k) AS (hash(i, k, {seed}::BIGINT) >> 11)::DOUBLE / 9007199254740992.0")
    return conn


def _sizes(leads: int) -> dict[str, int]:
    if leads < 10:
        raise ValueError("leads must be at least 10")
    return {
        "leads": leads,
        "accounts": max(1, leads // 10),
        "deals": max(1, leads // 50),
        "engagement_events": 20 * leads,
        "campaigns": CAMPAIGNS,
    }


def _first_drop(n: int) -> int:
    return min(n, max(1, math.ceil(n * FIRST_DROP_SHARE)))


def _copy(conn: duckdb.DuckDBPyConnection, entity: str, select_sql: str, path: Path, fmt: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ", ".join(f'"{c}"::VARCHAR AS "{c}"' for c in ENTITY_FILES[entity])
    options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet, COMPRESSION zstd"
    target = quote_literal(str(path))
    # COPY reports the number of rows written.
    result = conn.execute(f"COPY (SELECT {columns} FROM ({select_sql})) TO {target} ({options})").fetchone()
    return int(result[0]) if result else 0


# --- entity SQL ---------------------------------------------------------------------------


def _accounts_sql(n_accounts: int) -> str:
    a = "a"
    industry = _weighted(
        [(2, "NULL")]
        + [(80 / len(TARGET_INDUSTRIES), quote_literal(x)) for x in TARGET_INDUSTRIES]
        + [(18 / len(OTHER_INDUSTRIES), quote_literal(x)) for x in OTHER_INDUSTRIES],
        f"u({a}, 'a_ind')",
    )
    tld = _weighted([(w, quote_literal(t)) for w, t in TLDS], f"u({a}, 'a_tld')")
    employees = _weighted(
        [
            (2, "NULL"),
            (15, f"(5 + h({a}, 'a_ec1') % 46)"),
            (73, f"round(exp(ln(51) + u({a}, 'a_ec1') * (ln(10000) - ln(51))))::BIGINT"),
            (10, f"(10001 + h({a}, 'a_ec1') % 90000)"),
        ],
        f"u({a}, 'a_ec')",
    )
    country = _weighted([(w, quote_literal(c)) for w, c in COUNTRIES], f"u({a}, 'a_cty')")
    word = _pick(NAME_WORDS, f"h({a}, 'a_w1')")
    suffix = _pick(NAME_SUFFIXES, f"h({a}, 'a_w2')")
    return f"""
        SELECT a,
               'A-' || lpad(a::VARCHAR, 7, '0') AS account_id,
               {word} || ' ' || {suffix} || ' ' || a AS account_name,
               lower({word} || '-' || {suffix}) || a || {tld} AS own_domain,
               {industry} AS industry,
               {employees} AS employee_count,
               {country} AS country
        FROM range(1, {n_accounts + 1}) t(a)
    """


def _account_base_sql(n_accounts: int) -> str:
    """Accounts with `domain` (normalized; 0.5% share the previous account's) and the written domain."""
    return f"""
        WITH acc AS ({_accounts_sql(n_accounts)})
        SELECT acc.*,
               CASE WHEN acc.a % 200 = 0 THEN prev.own_domain ELSE acc.own_domain END AS domain
        FROM acc LEFT JOIN acc AS prev ON prev.a = acc.a - 1
    """


def _written_domain(domain: str, u: str) -> str:
    return _weighted(
        [(88, domain), (5, f"'www.' || {domain}"), (4, f"upper({domain})"), (3, f"'https://www.' || {domain} || '/'")],
        u,
    )


def _leads_sql(index_source: str, n_accounts: int, created_expr: str, changed: str = "false") -> str:
    """Lead records for the indexes `i` of `index_source` (a relation with columns i, p).

    `p` is the person: i for a first record, an earlier first record for a
    second record of a person (same email in another case). Person attributes
    (names, company, email) hash p, record attributes (title, source, created
    at) hash i. `created_expr` is SQL over i and p giving epoch seconds.
    `changed` is a SQL boolean: the re-sent version of the record (another
    title, employee count x 1.1).
    """
    title = f"""CASE
        WHEN u(i, 'l_notitle') < 0.04 THEN NULL
        WHEN u(i, 'l_fin') < 0.40 THEN {_pick(FINANCE_TITLES, "h(i, CASE WHEN " + changed + " THEN 'l_t2' ELSE 'l_t' END)")}
        ELSE {_pick(OTHER_TITLES, "h(i, CASE WHEN " + changed + " THEN 'l_t2' ELSE 'l_t' END)")}
    END"""
    source_u = "u(i, 'l_src')"
    source = _weighted([(w, quote_literal(s)) for s, (w, _, _) in LEAD_SOURCES.items()], source_u)
    campaign_cases = " ".join(
        f"WHEN {quote_literal(s)} THEN CASE WHEN u(i, 'l_camp') < {share} THEN {_campaign_of(ci, LEAD_CAMPAIGN_HASH)} END"
        for s, (_, ci, share) in LEAD_SOURCES.items()
        if ci is not None
    )
    own_industry = _weighted(
        [(5, "NULL")]
        + [(75 / len(TARGET_INDUSTRIES), quote_literal(x)) for x in TARGET_INDUSTRIES]
        + [(20 / len(OTHER_INDUSTRIES), quote_literal(x)) for x in OTHER_INDUSTRIES],
        "u(p, 'l_ind')",
    )
    own_employees = _weighted(
        [(20, "(2 + h(p, 'l_ec1') % 49)"), (70, "round(exp(ln(51) + u(p, 'l_ec1') * (ln(10000) - ln(51))))::BIGINT"), (10, "(10001 + h(p, 'l_ec1') % 50000)")],
        "u(p, 'l_ec')",
    )
    country = _weighted([(w, quote_literal(c)) for w, c in COUNTRIES], "u(p, 'l_cty')")
    first = _pick(FIRST_NAMES, "h(p, 'l_fn')")
    last = _pick(LAST_NAMES, "h(p, 'l_ln')")
    own_word = _pick(NAME_SUFFIXES, "h(p, 'l_ow')")
    free = _pick(FREE_MAIL, "h(p, 'l_fm')")
    return f"""
        WITH base AS (
            SELECT src.i, src.p, src.i <> src.p AS is_dup,
                   CASE WHEN u(src.p, 'l_acct') < 0.8 THEN ((src.p - 1) % {n_accounts}) + 1 END AS acct,
                   {first} AS first_name, {last} AS last_name,
                   lower({last}) || '-' || lower({own_word}) || src.p || '.com' AS own_domain,
                   {last} || ' ' || {own_word} AS own_company,
                   u(src.p, 'l_free') < 0.10 AS free_mail,
                   u(src.p, 'l_noemail') < 0.005 AND src.p % 20 <> 6 AS no_email
            FROM ({index_source}) AS src
        ),
        enriched AS (
            SELECT base.*, acc.account_name, acc.domain AS acct_domain, acc.industry AS acct_industry,
                   acc.employee_count AS acct_employees, acc.country AS acct_country,
                   coalesce(acc.domain, base.own_domain) AS work_domain
            FROM base LEFT JOIN accounts_base AS acc ON acc.a = base.acct
        ),
        records AS (
            SELECT i, p,
                   CASE WHEN no_email THEN NULL
                        ELSE lower(first_name) || '.' || lower(last_name) || p || '@'
                             || CASE WHEN free_mail THEN {free} ELSE work_domain END
                   END AS person_email,
                   is_dup, first_name, last_name, acct, account_name, acct_domain, acct_industry, acct_employees,
                   acct_country, own_domain, own_company
            FROM enriched
        )
        SELECT i, p,
               'L-' || lpad(i::VARCHAR, 8, '0') AS lead_id,
               CASE WHEN NOT is_dup THEN person_email
                    WHEN u(i, 'l_case') < 0.5 THEN upper(person_email)
                    ELSE upper(person_email[1]) || person_email[2:]
               END AS email,
               lower(person_email) AS norm_email,
               first_name, last_name,
               {title} AS job_title,
               coalesce(account_name, own_company) AS company_name,
               CASE WHEN acct IS NOT NULL AND u(p, 'l_cd') < 0.55 THEN {_written_domain("acct_domain", "u(p, 'l_cdw')")}
                    WHEN acct IS NULL AND u(p, 'l_cd') < 0.70 THEN {_written_domain("own_domain", "u(p, 'l_cdw')")}
               END AS company_domain,
               CASE WHEN u(i, 'l_noec') < 0.04 THEN NULL
                    ELSE round(coalesce(acct_employees, {own_employees}) * CASE WHEN {changed} THEN 1.1 ELSE 1 END)::BIGINT
               END AS employee_count,
               CASE WHEN acct IS NOT NULL THEN CASE WHEN u(i, 'l_noind') < 0.15 THEN NULL
                                                    WHEN u(i, 'l_indc') < 0.3 THEN lower(acct_industry)
                                                    ELSE acct_industry END
                    ELSE {own_industry}
               END AS industry,
               coalesce(acct_country, {country}) AS country,
               {source} AS lead_source,
               CASE {source} {campaign_cases} END AS campaign_id,
               {created_expr} AS created_s,
               -- 35% of the people never engage (whole accounts at a time): their deals are sales-only
               u(coalesce(acct, -p), 'l_quiet') < {QUIET_SHARE} AS quiet
        FROM records
    """


def _lead_index_source(first: int, last: int) -> str:
    """Lead record indexes first..last with their person: a record i with i % 20 == 7 is a second
    record of the person of an earlier first record (i - 1 - 20k, k < 250)."""
    return f"""
        SELECT i, CASE WHEN i % 20 = 7
                       THEN i - 1 - 20 * (h(i, 'l_dupk') % (least(250, (i - 2) // 20) + 1))
                       ELSE i END AS p
        FROM range({first}, {last + 1}) t(i)
    """


def _base_created(n_leads: int, x: str) -> str:
    return f"({START_S} + floor((({x}) - 1 + u({x}, 'l_t')) * {SPAN_S} / {n_leads}))::BIGINT"


def _base_lead_created(n_leads: int) -> str:
    own = _base_created(n_leads, "i")
    person = _base_created(n_leads, "p")
    later = f"least({END_S}, {person} + 3600 + floor(u(i, 'l_dt') * {120 * DAY_S}))::BIGINT"
    return f"CASE WHEN i = p THEN {own} ELSE {later} END"


def _lead_file_select(where: str) -> str:
    return f"""
        SELECT lead_id, email, first_name, last_name, job_title, company_name, company_domain, employee_count,
               industry, country, lead_source, campaign_id, {_iso("created_s")} AS created_at
        FROM {where}
    """


def _deals_sql(index_source: str, n_leads: int, n_accounts: int, n_deals: int) -> str:
    d = "d"
    created = f"({START_S + 30 * DAY_S} + floor((d - 1 + u(d, 'd_t')) * {SPAN_S - 30 * DAY_S} / {n_deals}))::BIGINT"
    amount = f"(round((5000 + pow(u(d, 'd_amt'), 2) * 245000) / 500) * 500)::BIGINT"
    return f"""
        WITH base AS (
            SELECT d, 1 + h(d, 'd_acct') % {n_accounts} AS a, {created} AS created_s,
                   14 * {DAY_S} + floor(u(d, 'd_dur') * {200 * DAY_S})::BIGINT AS duration_s
            FROM ({index_source}) AS src
        ),
        staged AS (
            SELECT *,
                   least({n_leads}, greatest(1, floor((created_s - {START_S}) / {SPAN_S} * {n_leads})))::BIGINT AS rmax,
                   created_s + duration_s <= {END_S} AND u(d, 'd_closed') < 0.8 AS closed,
                   u(d, 'd_won') < 0.4 AS won
            FROM base
        )
        SELECT d, a, created_s, rmax, closed, won,
               'D-' || lpad(d::VARCHAR, 7, '0') AS deal_id,
               'A-' || lpad(a::VARCHAR, 7, '0') AS account_id,
               {_pick(NAME_WORDS, "h(d, 'd_n1')")} || ' ' || {_pick(["pilot", "platform", "expansion", "renewal", "rollout"], "h(d, 'd_n2')")} || ' ' || d AS deal_name,
               CASE WHEN closed THEN created_s + duration_s END AS closed_s,
               CASE WHEN closed AND won THEN CASE WHEN u(d, 'd_sp') < 0.1 THEN {WON_SPELLED} ELSE {WON} END
                    WHEN closed THEN CASE WHEN u(d, 'd_sp') < 0.1 THEN {LOST_SPELLED} ELSE {LOST} END
                    ELSE {_pick(OPEN_STAGES, "h(d, 'd_stage')")}
               END AS stage,
               {amount} AS amount,
               u(d, 'd_orig') < 0.6 AS has_origin,
               -- the contacts: leads of the deal's account created before it (a, a + A, ...), else any three
               CASE WHEN rmax >= a THEN (rmax - a) // {n_accounts} + 1 ELSE 0 END AS m,
               h(d, 'd_k0') AS k0
        FROM staged
    """


def _deal_contact_index(j: int, n_leads: int, n_accounts: int) -> str:
    return (
        f"CASE WHEN m >= 3 THEN a + {n_accounts} * ((k0 % m + {j}) % m) "
        f"ELSE ((k0 + {j}) % least({n_leads}, greatest(rmax, 3))) + 1 END"
    )


def _deal_file_select(where: str, resent: str = "false") -> str:
    """Deal rows; `resent` is a SQL boolean: the re-sent version (an open deal closes, a closed one is re-priced)."""
    return f"""
        SELECT deal_id, account_id, deal_name, {_iso("created_s")} AS created_at,
               CASE WHEN {resent} AND closed_s IS NULL
                    THEN {_iso(f"greatest(created_s, {END_S} - floor(u(d, 'd_rc') * {5 * DAY_S}))")}
                    ELSE {_iso("closed_s")} END AS closed_at,
               CASE WHEN {resent} AND closed_s IS NULL THEN CASE WHEN u(d, 'd_rw') < 0.5 THEN {WON} ELSE {LOST} END
                    ELSE stage END AS stage,
               (CASE WHEN {resent} AND closed_s IS NOT NULL THEN round(amount * 1.1 / 500) * 500 ELSE amount END)::BIGINT AS amount,
               originating_lead_id
        FROM {where}
    """


def _events_sql(first: int, last: int, time_expr: str, pick_lead: str, order_by: str = "") -> str:
    """Events first..last: `time_expr` gives occurred_s from i, `pick_lead` a lead index from i and occurred_s.

    The rows come out in event order without an ORDER BY (sorting 20M rows doubles the time and
    takes gigabytes): the join's build side is the smaller lead table and DuckDB preserves the
    order of the range. Small drops pass `ORDER BY i` (there the events may be the build side)."""
    etype = _weighted([(w, quote_literal(t)) for t, (w, _, _) in EVENT_TYPES.items()], "u(i, 'e_type')")
    campaign_cases = " ".join(
        f"WHEN {quote_literal(t)} THEN CASE WHEN u(i, 'e_camp') < {share} THEN "
        + (
            _campaign_of(ci, EVENT_CAMPAIGN_HASH)
            if t != "ad_click"
            else f"CASE WHEN u(i, 'e_ch') < 0.5 THEN {_campaign_of(2, EVENT_CAMPAIGN_HASH)} ELSE {_campaign_of(3, EVENT_CAMPAIGN_HASH)} END"
        )
        + " END"
        for t, (_, ci, share) in EVENT_TYPES.items()
        if ci is not None
    )
    return f"""
        WITH timed AS (
            SELECT i, {time_expr} AS occurred_s FROM range({first}, {last + 1}) t(i)
        ),
        picked AS (
            SELECT i, occurred_s, {pick_lead} AS r, {etype} AS event_type, u(i, 'e_id') AS how
            FROM timed
        )
        SELECT 'E-' || lpad(i::VARCHAR, 9, '0') AS event_id,
               CASE WHEN how < 0.005 THEN NULL
                    WHEN how < 0.92 OR leads.email IS NULL THEN leads.lead_id END AS lead_id,
               CASE WHEN how < 0.005 THEN 'visitor' || i || '@unknown-' || (h(i, 'e_vd') % 997) || '.com'
                    WHEN how < 0.70 OR how >= 0.92 THEN leads.email END AS email,
               event_type,
               CASE event_type {campaign_cases} END AS campaign_id,
               CASE WHEN u(i, 'e_noasset') < 0.3 THEN NULL ELSE {_pick(ASSETS, "h(i, 'e_asset')")} END AS asset_name,
               {_iso("occurred_s")} AS occurred_at
        FROM picked JOIN event_pool AS leads ON leads.pr = picked.r
        {order_by}
    """


# --- public API ---------------------------------------------------------------------------


def _build_bases(conn: duckdb.DuckDBPyConnection, n: int) -> dict[str, int]:
    sizes = _sizes(n)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE accounts_base AS {_account_base_sql(sizes['accounts'])}")
    leads_sql = _leads_sql(_lead_index_source(1, n), sizes["accounts"], _base_lead_created(n))
    conn.execute(f"CREATE OR REPLACE TEMP TABLE lead_base AS {leads_sql} ORDER BY i")
    conn.execute("CREATE OR REPLACE TEMP TABLE lead_keys AS SELECT i AS li, lead_id, email, created_s FROM lead_base ORDER BY i")
    # the people who engage, numbered 1.. in lead order: events pick from them
    conn.execute(
        "CREATE OR REPLACE TEMP TABLE event_pool AS "
        "SELECT row_number() OVER (ORDER BY i) AS pr, lead_id, email FROM lead_base WHERE NOT quiet ORDER BY i"
    )
    return sizes


def generate(out: Path, leads: int, fmt: str = "csv", seed: int = 42, progress: Callable[[str], None] = print) -> dict[str, int]:
    """Write a synthetic landing folder for `leads` lead records into `out`.

    Returns the rows written per entity (over all of its files). Same
    arguments, same bytes. Existing files of the same names are overwritten.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be csv or parquet, not {fmt!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = int(leads)
    started = time.monotonic()
    conn = _connect(seed)
    try:
        sizes = _build_bases(conn, n)
        n_acc, n_deals, n_events = sizes["accounts"], sizes["deals"], sizes["engagement_events"]
        counts: dict[str, int] = {}

        def write(entity: str, drop: int, sql: str) -> None:
            t0 = time.monotonic()
            path = out / entity / f"{entity}_{drop:04d}.{fmt}"
            rows = _copy(conn, entity, sql, path, fmt)
            counts[entity] = counts.get(entity, 0) + rows
            progress(f"generate: {path.relative_to(out)}: {rows:,} rows in {time.monotonic() - t0:.1f}s")

        # accounts, campaigns, target accounts: one file each
        write(
            "accounts",
            1,
            f"""SELECT account_id, account_name, {_written_domain("domain", "u(a, 'a_dw')")} AS domain,
                       employee_count, industry, country FROM accounts_base ORDER BY a""",
        )
        write("campaigns", 1, _campaigns_sql())
        write(
            "target_accounts",
            1,
            f"""SELECT CASE WHEN u(a, 't_by') < 0.8 THEN account_id END AS account_id,
                       CASE WHEN u(a, 't_by') >= 0.8 THEN {_written_domain("domain", "u(a, 't_dw')")}
                            WHEN u(a, 't_both') < 0.3 THEN domain END AS domain,
                       (1 + h(a, 't_tier') % 3)::VARCHAR AS tier,
                       {_date(f"{START_S} + floor(u(a, 't_add') * {SPAN_S})")} AS added_at
                FROM accounts_base WHERE a % 50 = 25 ORDER BY a""",
        )

        # leads: two drops; the second re-sends 1% of the first (i % 100 == 50) with a new title and size
        n1 = _first_drop(n)
        write("leads", 1, _lead_file_select(f"lead_base WHERE i <= {n1} ORDER BY i"))
        resent_leads = _leads_sql(
            f"SELECT i, p FROM lead_base WHERE i <= {n1} AND i % 100 = 50", n_acc, _base_lead_created(n), changed="true"
        )
        write(
            "leads",
            2,
            _lead_file_select(
                f"(SELECT * FROM lead_base WHERE i > {n1} UNION ALL SELECT * FROM ({resent_leads})) ORDER BY i"
            ),
        )

        # deals and their contacts
        conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE deal_base AS
                SELECT deals.*, CASE WHEN has_origin THEN origin.lead_id END AS originating_lead_id
                FROM ({_deals_sql(f"SELECT d FROM range(1, {n_deals + 1}) t(d)", n, n_acc, n_deals)}) AS deals
                LEFT JOIN lead_keys AS origin ON origin.li = {_deal_contact_index(0, n, n_acc)}
                ORDER BY d"""
        )
        d1 = _first_drop(n_deals)
        write("deals", 1, _deal_file_select(f"deal_base WHERE d <= {d1} ORDER BY d"))
        write(
            "deals",
            2,
            _deal_file_select(f"deal_base WHERE d > {d1} OR d % 100 = 50 ORDER BY d", resent=f"d <= {d1}"),
        )
        contacts = _contacts_sql(n, n_acc)
        write("deal_contacts", 1, f"{contacts} WHERE d <= {d1} ORDER BY d, j")
        write("deal_contacts", 2, f"{contacts} WHERE d > {d1} ORDER BY d, j")

        # events: time-ordered, each for a lead created before it (or up to ~0.5% of the span after)
        e1 = _first_drop(n_events)
        slot = f"((i - 1 + u(i, 'e_t')) / {n_events})"
        time_expr = f"({START_S} + floor({slot} * {SPAN_S}))::BIGINT"
        # events pick an engaging person among those created before (or ~0.5% of the span after),
        # favouring the recently created: the pool is in lead order, so a prefix of it is "created by then"
        pool = conn.execute("SELECT count(*) FROM event_pool").fetchone()[0]
        lead_cap = max(1, math.ceil(pool * 0.005))
        rmax = f"least({pool}, greatest(1, floor((occurred_s - {START_S}) / {SPAN_S} * {pool}) + {lead_cap}))::BIGINT"
        pick = f"greatest(1, {rmax} - floor({rmax} * u(i, 'e_r1') * u(i, 'e_r2'))::BIGINT)"
        write("engagement_events", 1, _events_sql(1, e1, time_expr, pick))
        write("engagement_events", 2, _events_sql(e1 + 1, n_events, time_expr, pick))
    finally:
        conn.close()
    progress(f"generate: {n:,} leads into {out} ({fmt}) in {time.monotonic() - started:.1f}s")
    return counts


def _campaigns_sql() -> str:
    channel = f"{_list(CHANNELS)}[1 + (c - 1) % {len(CHANNELS)}]"
    start = f"{START_S} + floor(u(c, 'c_start') * {SPAN_S - 60 * DAY_S})"
    return f"""
        SELECT 'C-' || lpad(c::VARCHAR, 4, '0') AS campaign_id,
               {_pick(CAMPAIGN_THEMES, "h(c, 'c_name')")} || ' - ' || {channel} || ' ' || c AS campaign_name,
               {channel} AS channel,
               CASE WHEN u(c, 'c_nocost') < 0.05 THEN NULL
                    ELSE printf('%.2f', round(1000 + u(c, 'c_cost') * 49000, 2)) END AS cost,
               {_date(start)} AS start_date,
               {_date(f"{start} + {30 * DAY_S} + floor(u(c, 'c_len') * {335 * DAY_S})")} AS end_date
        FROM range(1, {CAMPAIGNS + 1}) t(c)
        ORDER BY c
    """


def _contacts_sql(n: int, n_acc: int) -> str:
    """Three contacts per deal (j = 0, 1, 2), distinct leads; 20% by email only (never for a second
    record of a person, whose email is another record's too: keys stay unique within a file)."""
    index = " ".join(f"WHEN {j} THEN {_deal_contact_index(j, n, n_acc)}" for j in range(3))
    return f"""
        SELECT * FROM (
            SELECT deal_id, d, j,
                   CASE WHEN by_email THEN NULL ELSE lead_id END AS lead_id,
                   CASE WHEN by_email THEN upper(email[1]) || email[2:]
                        WHEN u(d * 3 + j, 'dc_both') < 0.3 THEN email END AS email,
                   {_pick(ROLES, "h(d * 3 + j, 'dc_role')")} AS role
            FROM (
                SELECT pairs.deal_id, pairs.d, pairs.j, leads.lead_id, leads.email,
                       u(pairs.d * 3 + pairs.j, 'dc_email') < 0.2 AND leads.email IS NOT NULL AND pairs.r % 20 <> 7 AS by_email
                FROM (
                    SELECT deal_id, d, j, CASE j {index} END AS r
                    FROM deal_base CROSS JOIN range(3) t(j)
                ) AS pairs
                JOIN lead_keys AS leads ON leads.li = pairs.r
            )
        )
    """


def _next_drop(out: Path) -> int:
    highest = 0
    for entity in ("leads", "engagement_events", "deals"):
        folder = out / entity
        if folder.is_dir():
            for path in folder.iterdir():
                match = _DROP_FILE.search(path.name)
                if match:
                    highest = max(highest, int(match.group(1)))
    return max(highest + 1, 3)


def _existing_format(out: Path) -> str:
    for path in sorted((out / "leads").glob("leads_*")):
        if path.suffix in (".csv", ".parquet"):
            return path.suffix.lstrip(".")
    return "csv"


def generate_increment(out: Path, leads: int, seed: int, day: str, progress: Callable[[str], None] = print) -> dict[str, int]:
    """Add one nightly drop to a folder made by `generate(out, leads, seed=seed)`.

    The drop (the next free file number, 0003 and up) holds 0.1% new leads
    created on `day` (YYYY-MM-DD), one day of engagement events (20 x N / 730)
    on `day`, and 1% of the deals re-sent with a new stage or amount. Returns
    the rows written per entity.
    """
    out = Path(out)
    n = int(leads)
    day_s = int(dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=dt.timezone.utc).timestamp())
    fmt = _existing_format(out)
    drop = _next_drop(out)
    started = time.monotonic()
    sizes = _sizes(n)
    n_acc, n_deals, n_events = sizes["accounts"], sizes["deals"], sizes["engagement_events"]
    new_leads = max(1, round(n * 0.001))
    new_events = max(1, round(20 * n / 730))
    # every drop has its own block of lead and event numbers after the generated ones
    first_lead = n + (drop - 3) * new_leads + 1
    last_lead = first_lead + new_leads - 1
    first_event = n_events + (drop - 3) * new_events + 1
    last_event = first_event + new_events - 1
    conn = _connect(seed)
    counts: dict[str, int] = {}
    try:
        conn.execute(f"CREATE OR REPLACE TEMP TABLE accounts_base AS {_account_base_sql(n_acc)}")
        created = f"({day_s} + floor(u(i, 'l_t') * {DAY_S}))::BIGINT"
        all_leads = _leads_sql(_lead_index_source(1, last_lead), n_acc, f"CASE WHEN i <= {n} THEN {_base_lead_created(n)} ELSE {created} END")
        conn.execute(f"CREATE OR REPLACE TEMP TABLE lead_base AS {all_leads} ORDER BY i")
        conn.execute("CREATE OR REPLACE TEMP TABLE lead_keys AS SELECT i AS li, lead_id, email, created_s FROM lead_base ORDER BY i")

        def write(entity: str, sql: str) -> None:
            t0 = time.monotonic()
            path = out / entity / f"{entity}_{drop:04d}.{fmt}"
            counts[entity] = _copy(conn, entity, sql, path, fmt)
            progress(f"generate: {path.relative_to(out)}: {counts[entity]:,} rows in {time.monotonic() - t0:.1f}s")

        write("leads", _lead_file_select(f"lead_base WHERE i >= {first_lead} ORDER BY i"))

        time_expr = f"({day_s} + floor(((i - {first_event}) + u(i, 'e_t')) / {new_events} * {DAY_S}))::BIGINT"
        # 20% of the day's events come from the day's new leads, the rest from any earlier lead
        # the pool: the drop's new leads first (1..new_leads), then every earlier engaging person
        conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE event_pool AS
                SELECT row_number() OVER (ORDER BY new DESC, i) AS pr, lead_id, email FROM (
                    SELECT i, i >= {first_lead} AS new, lead_id, email FROM lead_base WHERE i >= {first_lead} OR NOT quiet
                ) ORDER BY pr"""
        )
        pool = conn.execute("SELECT count(*) FROM event_pool").fetchone()[0]
        pick = (
            f"CASE WHEN u(i, 'e_new') < 0.2 OR {pool} = {new_leads} THEN 1 + h(i, 'e_r1') % {new_leads} "
            f"ELSE {new_leads + 1} + h(i, 'e_r1') % {max(1, pool - new_leads)} END"
        )
        write("engagement_events", _events_sql(first_event, last_event, time_expr, pick, "ORDER BY i"))

        # deals: 1% re-sent, a different 1% in every drop (and never those re-sent in drop 2);
        # deals in a fixed shuffled order, drop k takes the k-th slice (wrapping around)
        # an open deal moves on (closes on `day`, or to the next stage with a new amount), a closed one is re-priced
        per_drop = max(1, round(n_deals * 0.01))
        candidates = n_deals - len(range(50, n_deals + 1, 100))
        slice_start = ((drop - 3) * per_drop) % max(1, candidates)
        picked_deals = f"""
            SELECT d FROM (
                SELECT d, row_number() OVER (ORDER BY h(d, 'inc_pick'), d) - 1 AS slot
                FROM range(1, {n_deals + 1}) t(d) WHERE d % 100 <> 50
            ) WHERE (slot - {slice_start} + {max(1, candidates)}) % {max(1, candidates)} < {per_drop}
        """
        conn.execute(
            f"""CREATE OR REPLACE TEMP TABLE deal_base AS
                SELECT deals.*, CASE WHEN has_origin THEN origin.lead_id END AS originating_lead_id
                FROM ({_deals_sql(picked_deals, n, n_acc, n_deals)}) AS deals
                LEFT JOIN lead_keys AS origin ON origin.li = {_deal_contact_index(0, n, n_acc)}
                ORDER BY d"""
        )
        closes = f"closed_s IS NULL AND u(d, 'inc_close' || {drop}) < 0.5"
        write(
            "deals",
            f"""SELECT deal_id, account_id, deal_name, {_iso("created_s")} AS created_at,
                       CASE WHEN {closes} THEN {_iso(f"greatest(created_s, {day_s} + floor(u(d, 'inc_t') * {DAY_S}))")}
                            ELSE {_iso("closed_s")} END AS closed_at,
                       CASE WHEN {closes} THEN CASE WHEN u(d, 'inc_won') < 0.45 THEN {WON} ELSE {LOST} END
                            WHEN closed_s IS NULL THEN 'negotiation'
                            ELSE stage END AS stage,
                       (round(amount * (0.8 + 0.4 * u(d, 'inc_amt')) / 500) * 500)::BIGINT AS amount,
                       originating_lead_id
                FROM deal_base ORDER BY d""",
        )
    finally:
        conn.close()
    progress(f"generate: drop {drop:04d} for {day} into {out} in {time.monotonic() - started:.1f}s")
    return counts

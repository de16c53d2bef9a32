#!/usr/bin/env python3
"""Regenerate the shipped sample landing folder ``seeds/``.

Usage::

    .venv/bin/python scripts/generate_sample.py [--out seeds] [--no-check]

Writes a small but realistic set of raw exports (two drops for most
entities) in the layout of the input contract (CONTRACT.md, sections 2, 3
and 7):

    seeds/leads/leads_2026_10_01.csv            drop 1
    seeds/leads/leads_2026_11_01.csv            drop 2: new leads + whole-record re-sends
    seeds/engagement_events/events_2026_10_01.csv
    seeds/engagement_events/events_2026_11_01.jsonl
    seeds/accounts/accounts_2026_10_01.csv
    seeds/deals/deals_2026_10_01.csv            drop 1
    seeds/deals/deals_2026_11_01.csv            drop 2: new deals + re-sends
    seeds/deal_contacts/deal_contacts_2026_10_01.csv
    seeds/campaigns.csv                         single-file form
    seeds/target_accounts.csv                   single-file form

The output is fully deterministic: one ``random.Random(SEED)`` drives every
choice, all dates are fixed (2026-01-05 .. 2026-11-14; tests use the as-of
date 2026-11-15) and nothing reads the clock, so running the script twice
gives byte-identical files.

Two kinds of records are written:

* **Story records** (accounts A-001.., leads S-001.., deals D-001.., events
  E-S01..) are copied verbatim from the STORY_* blocks below. Tests check
  them by hand, so random data never touches them: random events only go to
  random leads, random deals only use random accounts and leads.
* **Random records** (leads L-0001.., accounts A-101.., deals D-101..,
  events E-000001.., campaigns C-05..) give the volume and the edge cases:
  free-mail addresses, duplicated persons, missing firmographics, casing
  and padding noise, an unknown campaign id (C-99), unmatched event emails.

After writing, the sample is checked through the real pipeline, not a copy
of its rules: `baton run` builds it into a throw-away warehouse (default
rules, as of 2026-11-15, BATON_SETTLE_SECONDS=0), a short summary is printed
from the warehouse (rows per file, persons and shares, SAL outcome, events,
pipeline categories), and the story is checked against the marts: each story
person's SAL verdict and reasons, each story deal's pipeline category and
touches, the two story events in quarantine, every file loaded, every SAL
verdict and pipeline category present. A broken story exits 1. Run it with
the project's Python (`.venv/bin/python`): it needs `baton` (the event types,
closed stages and free-mail providers it may write come from the vocabularies
of dbt_project/dbt_project.yml, through baton.lib.vocabularies).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from baton.lib.vocabularies import CLOSED_STAGES, EVENT_TYPES as CONTRACT_EVENT_TYPES, FREE_MAIL_DOMAINS, check_subset

# --------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------

SEED = 20261128

FIRST_DAY = datetime(2026, 1, 5)                   # earliest random timestamp
LAST_DAY = datetime(2026, 11, 14, 23, 59, 59)      # latest random timestamp
DROP2_START = datetime(2026, 10, 1)                # records from here on arrive in drop 2
AS_OF = date(2026, 11, 15)                         # as-of date the tests use

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "seeds"

# volumes of random records
N_LEADS_DROP1 = 300          # random lead records created before DROP2_START (duplicates included)
N_LEADS_DROP2 = 20           # random lead records created in drop 2
N_DUPLICATE_RECORDS = 16     # of the above: extra records of an existing person (~5%)
N_LEAD_RESENDS = 10          # drop-1 leads re-sent (changed) in drop 2
N_ACCOUNTS = 44              # random accounts A-101..
N_OTHER_COMPANIES = 45       # companies leads work at that are not accounts
N_DEALS_DROP1 = 34           # random deals D-101..
N_DEALS_DROP2 = 4            # new random deals in drop 2
N_DEAL_RESENDS = 6           # drop-1 random deals re-sent (changed) in drop 2
N_SALES_ONLY_DEALS = 6       # deals whose contacts are kept free of events
N_UNMATCHED_EVENTS = 60      # events whose email matches no lead (~2%)

# shares
SHARE_ACCOUNT_EMAIL = 0.70   # lead email at an account's domain
SHARE_FREEMAIL = 0.10        # lead email at a free-mail provider (rest: other companies)
SHARE_FINANCE_TITLE = 0.40
SHARE_BLANK_TITLE = 0.025

LEAD_COLUMNS = ["lead_id", "email", "first_name", "last_name", "job_title", "company_name",
                "company_domain", "employee_count", "industry", "country", "lead_source",
                "campaign_id", "created_at"]
EVENT_COLUMNS = ["event_id", "lead_id", "email", "event_type", "campaign_id", "asset_name",
                 "occurred_at"]
ACCOUNT_COLUMNS = ["account_id", "account_name", "domain", "employee_count", "industry", "country"]
DEAL_COLUMNS = ["deal_id", "account_id", "deal_name", "created_at", "closed_at", "stage",
                "amount", "originating_lead_id"]
DEAL_CONTACT_COLUMNS = ["deal_id", "lead_id", "email", "role"]
CAMPAIGN_COLUMNS = ["campaign_id", "campaign_name", "channel", "cost", "start_date", "end_date"]
TARGET_ACCOUNT_COLUMNS = ["account_id", "domain", "tier", "added_at"]

LEAD_SOURCES = {  # source -> weight
    "webinar": 14, "ebook": 12, "paid_search": 12, "paid_social": 10, "organic": 12,
    "newsletter": 6, "event": 7, "sales_outbound": 14, "partner": 7, "referral": 6,
}
NON_MARKETING_SOURCES = {"sales_outbound", "partner", "referral"}
SOURCE_CHANNEL = {  # lead_source -> campaign channel its campaign_id comes from
    "webinar": "webinar", "ebook": "ebook", "paid_search": "paid_search",
    "paid_social": "paid_social", "newsletter": "newsletter", "event": "events",
    "organic": "blog",
}

EVENT_TYPES = {  # event_type -> (weight, channels a campaign may come from, share with campaign)
    "website_visit": (20, ["paid_search", "paid_social"], 0.20),
    "blog_view": (12, ["blog"], 0.45),
    "newsletter_open": (14, ["newsletter"], 0.95),
    "email_click": (10, ["newsletter", "webinar", "ebook"], 0.75),
    "ad_click": (10, ["paid_social", "paid_search"], 1.00),
    "webinar_registration": (6, ["webinar"], 1.00),
    "webinar_attendance": (4, ["webinar"], 1.00),
    "ebook_download": (6, ["ebook"], 1.00),
    "form_submission": (5, ["ebook", "webinar", "events", "paid_search"], 0.60),
    "event_attendance": (3, ["events"], 1.00),
    "demo_request": (2, ["paid_search"], 0.25),
}
check_subset("generate_sample EVENT_TYPES", EVENT_TYPES, CONTRACT_EVENT_TYPES, every=True)
# spellings a source system might use; the contract reads them as the canonical type
EVENT_TYPE_VARIANTS = {"website_visit": "Website Visit", "email_click": "email-click",
                       "webinar_attendance": "Webinar_Attendance", "ad_click": " ad_click"}
check_subset("generate_sample EVENT_TYPE_VARIANTS", EVENT_TYPE_VARIANTS, CONTRACT_EVENT_TYPES)
UNCAMPAIGNED_ASSETS = {
    "website_visit": ["Homepage", "Pricing page", "Customers page", "Integrations page",
                      "Security page"],
    "blog_view": ["SAL blog", "Month-end close checklist", "What is FP&A?", "Cash forecasting 101"],
    "form_submission": ["Contact us form", "Newsletter signup"],
    "demo_request": ["Demo request form"],
}

INDUSTRIES_IN_ICP = ["financial services", "banking", "insurance", "software", "manufacturing",
                     "healthcare", "retail", "logistics"]
INDUSTRIES_OTHER = ["media", "education", "government", "hospitality"]
INDUSTRY_SUFFIXES = {
    "financial services": ["Capital", "Partners", "Wealth"],
    "banking": ["Bank", "Savings", "Trust"],
    "insurance": ["Insurance", "Mutual", "Assurance"],
    "software": ["Software", "Labs", "Systems", "Cloud"],
    "manufacturing": ["Manufacturing", "Industries", "Works"],
    "healthcare": ["Health", "Medical", "Clinics"],
    "retail": ["Retail", "Stores", "Outfitters"],
    "logistics": ["Logistics", "Freight", "Shipping"],
    "media": ["Media", "Studios", "Publishing"],
    "education": ["Academy", "Learning", "College"],
    "government": ["County", "Agency", "Authority"],
    "hospitality": ["Hotels", "Resorts", "Hospitality"],
}
NAME_STEMS = ["Apex", "Bluefin", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Harbor",
              "Ironwood", "Juniper", "Keystone", "Lumen", "Maple", "Nova", "Orion", "Pioneer",
              "Quartz", "Redwood", "Summit", "Tidal", "Unity", "Vertex", "Willow", "Zenith",
              "Atlas", "Beacon", "Crest", "Silverline", "Copperleaf", "Aurora", "Brightwater",
              "Northstar", "Oakridge", "Pinnacle", "Riverside", "Stonebridge", "Trident",
              "Upland", "Westfield", "Yellowstone", "Cobalt", "Driftwood", "Emberly", "Foxglove",
              "Highland", "Lakeshore", "Meridian", "Palisade", "Sequoia", "Tamarack"]
# domains the story records use: random records stay away from them
STORY_DOMAINS = {"northwindbank.com", "globex.io", "initech.com", "umbrella-health.com",
                 "hooli.com", "acme-logistics.com", "unknown-co.com"}
FREEMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com"]
check_subset("generate_sample FREEMAIL_DOMAINS", FREEMAIL_DOMAINS, FREE_MAIL_DOMAINS)
COUNTRIES = {"US": 45, "GB": 12, "DE": 10, "FR": 7, "CA": 7, "NL": 5, "AU": 5, "SE": 3, "ES": 3,
             "IE": 3}
COUNTRY_TLD = {"GB": ".co.uk", "DE": ".de", "FR": ".fr", "NL": ".nl", "AU": ".com.au",
               "SE": ".se", "ES": ".es", "IE": ".ie"}

FINANCE_TITLES = ["CFO", "Chief Financial Officer", "VP Finance", "VP, Finance",
                  "Vice President of Finance", "Finance Director", "Head of Finance",
                  "Finance Manager", "Financial Controller", "Group Financial Controller",
                  "Controller", "Comptroller", "FP&A Manager", "Senior FP&A Analyst",
                  "Accountant", "Senior Accountant", "Chief Accountant", "Treasurer",
                  "Assistant Treasurer", "Head of Accounting", "Accounting Manager", "cfo",
                  "Director of Finance & Operations"]
OTHER_TITLES = ["CTO", "Chief Technology Officer", "CEO", "COO", "Marketing Manager",
                "Head of Marketing", "Demand Generation Manager", "HR Director",
                "People Operations Lead", "Accounts Payable Clerk", "Software Engineer",
                "Data Engineer", "IT Manager", "Sales Director", "Account Executive",
                "Procurement Manager", "Operations Manager", "Product Manager", "Office Manager",
                "Customer Success Manager", "Legal Counsel", "Payroll Specialist",
                "Business Analyst", "Founder"]

FIRST_NAMES = ["Aaron", "Abigail", "Adam", "Aisha", "Alex", "Alice", "Amir", "Andrea", "Anika",
               "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Daniel", "Diana", "Elena", "Emma",
               "Ethan", "Fatima", "Felix", "Grace", "Hannah", "Hiro", "Isabel", "Ivan", "Jack",
               "Jana", "Javier", "Julia", "Karim", "Katrin", "Leo", "Lena", "Liam", "Lucia",
               "Marco", "Maria", "Mei", "Mohammed", "Nadia", "Noah", "Olivia", "Omar", "Paul",
               "Priya", "Rafael", "Rosa", "Ryan", "Sara", "Sofia", "Sven", "Tom", "Uma",
               "Victor", "Wei", "Yara", "Zoe", "Ines", "Lars"]
LAST_NAMES = ["Anderson", "Bauer", "Becker", "Costa", "Dubois", "Evans", "Fischer", "Garcia",
              "Gupta", "Hansen", "Ito", "Jensen", "Khan", "Kowalski", "Lambert", "Larsen", "Lee",
              "Lopez", "Martin", "Meyer", "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak",
              "O'Brien", "Patel", "Peters", "Quinn", "Rossi", "Schmidt", "Silva", "Singh",
              "Smith", "Svensson", "Tanaka", "Taylor", "Thomas", "Vargas", "Walsh", "Weber",
              "Williams", "Wilson", "Young", "Zhang", "de Vries", "Novotny", "Okafor"]

CONTACT_ROLES = ["economic_buyer", "champion", "user", "decision_maker", "influencer",
                 "technical_evaluator"]
DEAL_PRODUCTS = ["platform", "expansion", "renewal", "pilot", "add-on seats", "FP&A module",
                 "close automation", "multi-entity rollout"]
OPEN_STAGES = ["discovery", "proposal", "negotiation"]
WON_STAGE, LOST_STAGE = CLOSED_STAGES

# (id, name, channel, cost, start, end, assets); C-01..C-04 are used by story records
CAMPAIGNS = [
    ("C-01", "Finance Leaders Webinar Series", "webinar", "18000.00", "2026-01-05", "2026-12-31",
     ["Q1 webinar", "Q2 webinar", "Q3 webinar"]),
    ("C-02", "ICP ebook: The Modern Finance Stack", "ebook", "7500.00", "2026-01-12", "2026-09-30",
     ["ICP ebook"]),
    ("C-03", "LinkedIn Ads - CFO audience", "paid_social", "42350.75", "2026-02-01",
     "2026-11-30", ["LinkedIn ad", "LinkedIn carousel - close faster"]),
    ("C-04", "Monthly newsletter", "newsletter", "1200", "2026-01-05", "2026-12-31", []),
    ("C-05", "Google Ads - brand", "paid_search", "9800.00", "2026-01-05", "2026-12-31",
     ["Brand search ad"]),
    ("C-06", "Google Ads - generic finance automation", "paid_search", "31200.40", "2026-03-01",
     "2026-11-30", ["Generic search ad - close automation", "Generic search ad - FP&A"]),
    ("C-07", "Finance Ops Summit Berlin", "events", "55000.00", "2026-05-18", "2026-05-20",
     ["Summit booth", "Summit talk"]),
    ("C-08", "CFO blog program", "blog", "", "2026-01-05", "2026-12-31",
     ["Month-end close checklist", "What is FP&A?", "Cash forecasting 101"]),
    ("C-09", "Ebook: Close the books in 3 days", "ebook", "6200.00", "2026-06-01", "2026-12-31",
     ["Close in 3 days ebook"]),
    ("C-10", "Autumn webinar: Forecasting under uncertainty", "webinar", "9500.00", "2026-09-01",
     "2026-11-14", ["Forecasting webinar"]),
    ("C-11", "Meta retargeting", "paid_social", "12750.25", "2026-04-01", "2026-10-31",
     ["Retargeting ad"]),
    ("C-12", "CFO Roundtable London", "events", "23000.00", "2026-10-06", "2026-10-08",
     ["Roundtable dinner"]),
]
UNKNOWN_CAMPAIGN_ID = "C-99"   # used by a couple of leads, not in campaigns.csv
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# --------------------------------------------------------------------------
# Story records (verbatim; tests check them by hand)
# --------------------------------------------------------------------------

STORY_ACCOUNTS = """\
A-001,Northwind Bank,northwindbank.com,800,Banking,US
A-002,Globex Software,www.globex.io,10000,Software,US
A-003,Initech Retail,initech.com,50,Retail,US
A-004,Initech Retail EU,initech.com,20000,Retail,DE
A-005,Umbrella Health,umbrella-health.com,,,US
A-006,Hooli Media,hooli.com,3000,Media,US
"""
STORY_LEADS_DROP1 = """\
S-001,ana.story@northwindbank.com,Ana,Story,,,,,,US,sales_outbound,,2026-02-01T09:00:00Z
S-002,"  Ana.Story@NorthwindBank.com ",Ana,Story,Chief Financial Officer,Northwind Bank,https://www.northwindbank.com/about,500,Banking,US,webinar,C-01,2026-03-10T09:00:00Z
S-003,bob@globex.io,Bob,Jones,VP Finance,Globex,,12,,US,ebook,C-02,2026-04-02T10:00:00Z
S-004,carol@initech.com,Carol,White,Financial Controller,Initech,,,,US,paid_search,,2026-04-03T10:00:00Z
S-005,dan@gmail.com,Dan,Brown,Accountant,,,51,Software,US,organic,,2026-04-04T10:00:00Z
S-006,erin@umbrella-health.com,Erin,Green,CTO,Umbrella,,200,Healthcare,US,paid_social,C-03,2026-04-05T10:00:00Z
S-007,frank@hooli.com,Frank,Black,,Hooli,,10001,,US,webinar,C-01,2026-04-06T10:00:00Z
S-008,,Hal,Gray,Treasurer,Acme Logistics,acme-logistics.com,,Logistics,US,partner,,2026-04-07T10:00:00Z
S-009,gina@hooli.com,Gina,Blue,Accounts Payable Clerk,Hooli,,3000,Media,US,newsletter,,2026-04-08T10:00:00Z
S-010,hank@globex.io,Hank,Hill,Software Engineer,Globex,,,Software,US,webinar,C-01,2026-05-01T10:00:00Z
"""
STORY_LEADS_DROP2 = """\
S-010,hank@globex.io,Hank,Hill,CFO,Globex,,,,US,webinar,C-01,2026-05-01T10:00:00Z
"""
STORY_DEALS_DROP1 = """\
D-001,A-001,Northwind renewal,2026-06-01T00:00:00Z,2026-08-01T00:00:00Z,Closed Won,120000,S-002
D-002,A-002,Globex expansion,2026-07-01T00:00:00Z,,Negotiation,50000,S-003
D-003,A-006,Hooli pilot,2026-09-01T00:00:00Z,,proposal,30000,
D-004,A-003,Initech POS,2026-04-01T00:00:00Z,2026-05-01T00:00:00Z,closed_lost,8000,S-008
D-005,,Dan consulting,2026-09-15T00:00:00Z,,proposal,10000,S-005
D-006,A-005,Umbrella platform,2026-08-01T00:00:00Z,,discovery,45000,S-999
"""
STORY_DEALS_DROP2 = """\
D-005,,Dan consulting,2026-09-15T00:00:00Z,2026-10-20T00:00:00Z,closed_won,12000,S-005
"""
STORY_DEAL_CONTACTS = """\
D-001,S-001,,economic_buyer
D-003,S-007,,champion
D-003,,GINA@hooli.com,user
D-006,,erin@umbrella-health.com,champion
D-004,S-004,,user
"""
STORY_EVENTS_DROP1 = """\
E-S01,S-001,ana.story@northwindbank.com,webinar_attendance,C-01,Q1 webinar,2026-03-03T00:00:00Z
E-S02,S-001,ana.story@northwindbank.com,ebook_download,C-02,ICP ebook,2026-03-02T23:59:59Z
E-S03,S-002,,ad_click,C-03,LinkedIn ad,2026-08-01T00:00:00Z
E-S04,,ana.story@northwindbank.com,blog_view,,SAL blog,2026-08-01T00:00:01Z
E-S05,,gina@hooli.com,newsletter_open,C-04,Nov newsletter,2026-11-15T23:59:59Z
E-S06,,gina@hooli.com,newsletter_open,C-04,Nov newsletter,2026-11-16T00:00:00Z
E-S07,,erin@umbrella-health.com,webinar_registration,C-01,Q2 webinar,2026-06-01T12:00:00Z
E-S08,,nobody@unknown-co.com,blog_view,,SAL blog,2026-06-01T12:00:00Z
E-S09,S-004,carol@initech.com,podcast_listen,,Podcast,2026-04-10T10:00:00Z
"""
STORY_EVENTS_DROP2 = """\
E-S07,,erin@umbrella-health.com,webinar_registration,C-01,Q2 webinar replay,2026-06-01T12:00:00Z
"""


def parse_story(text: str) -> list[list[str]]:
    """Story blocks are CSV text; parse them with the csv module."""
    return [row for row in csv.reader(io.StringIO(text)) if row]


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def ts(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def random_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A uniformly random second in [start, end]."""
    span = int((end - start).total_seconds())
    return start + timedelta(seconds=rng.randint(0, max(span, 0)))


def business_time(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random weekday-ish working-hours timestamp in [start, end] (clamped)."""
    day = random_time(rng, start, end).replace(hour=0, minute=0, second=0)
    moment = day + timedelta(hours=rng.randint(7, 18), minutes=rng.randint(0, 59),
                             seconds=rng.choice([0, 0, 0, rng.randint(0, 59)]))
    return min(max(moment, start), end)


def weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def slug(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum() or c == " ").strip().replace(" ", "-")


def noisy_industry(rng: random.Random, industry: str) -> str:
    """Sources disagree on casing and padding: 'Banking', ' software ', 'FINANCIAL SERVICES'."""
    roll = rng.random()
    if roll < 0.45:
        return industry.title()
    if roll < 0.55:
        return industry.upper()
    if roll < 0.65:
        return f" {industry} "
    return industry


def pick_employee_count(rng: random.Random) -> int:
    """Company sizes spread from 5 to 50000, mostly inside the ICP band (50, 10000]."""
    roll = rng.random()
    if roll < 0.10:
        return rng.randint(5, 50)
    if roll < 0.87:
        return rng.choice([rng.randint(51, 500), rng.randint(200, 2000), rng.randint(1000, 10000)])
    return rng.randint(10001, 50000)


def pick_industry(rng: random.Random) -> str:
    return rng.choice(INDUSTRIES_IN_ICP) if rng.random() < 0.80 else rng.choice(INDUSTRIES_OTHER)


def pick_title(rng: random.Random) -> str:
    roll = rng.random()
    if roll < SHARE_BLANK_TITLE:
        return ""
    if roll < SHARE_BLANK_TITLE + SHARE_FINANCE_TITLE:
        return rng.choice(FINANCE_TITLES)
    return rng.choice(OTHER_TITLES)


def email_variant(rng: random.Random, email: str) -> str:
    """Same address, different case and/or surrounding white space."""
    local, domain = email.split("@")
    options = [
        f"{local.title()}@{domain}",
        email.upper(),
        f" {email}",
        f"{local.title()}@{domain.title()} ",
        f"  {email.upper()}",
    ]
    return rng.choice(options)


def fmt_amount(rng: random.Random, low: int = 5000, high: int = 250000) -> str:
    if rng.random() < 0.3:
        return f"{rng.randint(low, high - 1)}.{rng.randint(1, 99):02d}"
    return str(rng.randint(low // 500, high // 500) * 500)


# --------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------

@dataclass
class Company:
    name: str
    domain: str              # bare normalized domain (what emails use)
    employee_count: int | None
    industry: str | None     # canonical lower-case
    country: str
    account_id: str | None = None


@dataclass
class Lead:
    lead_id: str
    email: str
    first_name: str
    last_name: str
    job_title: str
    company_name: str
    company_domain: str
    employee_count: str
    industry: str
    country: str
    lead_source: str
    campaign_id: str
    created_at: datetime
    person: str                      # normalized email (or lead_id when no email)
    account_id: str | None = None    # account the person's email domain points to
    is_duplicate: bool = False

    def row(self) -> list[str]:
        return [self.lead_id, self.email, self.first_name, self.last_name, self.job_title,
                self.company_name, self.company_domain, self.employee_count, self.industry,
                self.country, self.lead_source, self.campaign_id, ts(self.created_at)]


@dataclass
class Deal:
    deal_id: str
    account_id: str
    deal_name: str
    created_at: datetime
    closed_at: datetime | None
    stage: str
    amount: str
    originating_lead_id: str
    contacts: list[list[str]] = field(default_factory=list)

    def row(self) -> list[str]:
        return [self.deal_id, self.account_id, self.deal_name, ts(self.created_at),
                ts(self.closed_at) if self.closed_at else "", self.stage, self.amount,
                self.originating_lead_id]


def make_campaigns() -> list[list[str]]:
    return [[cid, name, channel, cost, start, end] for cid, name, channel, cost, start, end, _ in
            CAMPAIGNS]


def make_companies(rng: random.Random) -> tuple[list[Company], list[Company]]:
    """Random accounts (A-101..) and other companies leads work at (not accounts)."""
    used_domains = set(STORY_DOMAINS)
    used_names = set()

    def new_company() -> Company:
        while True:
            industry = pick_industry(rng)
            name = f"{rng.choice(NAME_STEMS)} {rng.choice(INDUSTRY_SUFFIXES[industry])}"
            country = weighted(rng, COUNTRIES)
            domain = slug(name) + (COUNTRY_TLD.get(country, ".com") if rng.random() < 0.5
                                   else (".io" if industry == "software" else ".com"))
            if name not in used_names and domain not in used_domains:
                used_names.add(name)
                used_domains.add(domain)
                return Company(name, domain, pick_employee_count(rng), industry, country)

    accounts = [new_company() for _ in range(N_ACCOUNTS)]
    for i, company in enumerate(accounts):
        company.account_id = f"A-{101 + i}"
    # boundary sizes of the company_size rule, and a few gaps in the CRM
    for company, size in zip(accounts[2:7], [5, 50, 51, 10000, 10001]):
        company.employee_count = size
    accounts[9].employee_count = None
    accounts[17].employee_count = None
    accounts[12].industry = None
    others = [new_company() for _ in range(N_OTHER_COMPANIES)]
    return accounts, others


def account_rows(rng: random.Random, accounts: list[Company]) -> list[list[str]]:
    rows = parse_story(STORY_ACCOUNTS)
    for i, a in enumerate(accounts):
        domain = a.domain
        if i == 8:
            domain = f"www.{a.domain}"            # CRM stores the web address
        elif i == 21:
            domain = f"https://{a.domain}/"
        elif i == 30:
            domain = a.domain.upper()
        rows.append([a.account_id, a.name, domain,
                     "" if a.employee_count is None else str(a.employee_count),
                     "" if a.industry is None else noisy_industry(rng, a.industry), a.country])
    return rows


def campaign_for(rng: random.Random, channel: str, when: datetime) -> tuple[str, ...] | None:
    """A campaign of the channel running on that day (else any of the channel)."""
    day = when.date().isoformat()
    of_channel = [c for c in CAMPAIGNS if c[2] == channel]
    running = [c for c in of_channel if c[4] <= day <= c[5]]
    pool = running or of_channel
    return rng.choice(pool) if pool else None


def make_leads(rng: random.Random, accounts: list[Company], others: list[Company]) -> list[Lead]:
    """Random lead records L-0001.. in created_at order (duplicated persons included)."""
    used_emails: set[str] = set()
    account_weights = [rng.choice([1, 1, 2, 3, 5]) for _ in accounts]

    def unique_email(first: str, last: str, domain: str) -> str:
        f, l = slug(first).replace("-", ""), slug(last).replace("-", "")
        for local in (f"{f}.{l}", f"{f[0]}{l}", f"{f}{l[0]}", f"{f}_{l}", f"{f}.{l}2",
                      f"{f}.{l}{rng.randint(10, 99)}"):
            email = f"{local}@{domain}"
            if email not in used_emails:
                used_emails.add(email)
                return email
        raise RuntimeError("could not make a unique email")

    def new_person(created: datetime) -> Lead:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        title = pick_title(rng)
        roll = rng.random()
        account_id = None
        if roll < SHARE_ACCOUNT_EMAIL:
            company = rng.choices(accounts, weights=account_weights)[0]
            account_id = company.account_id
            email = unique_email(first, last, company.domain)
            company_name = company.name if rng.random() < 0.8 else company.name.split()[0]
            company_domain = rng.choices(
                ["", company.domain, f"https://www.{company.domain}"], [80, 12, 8])[0]
            # the lead's own firmographics: often blank, mostly the account's, sometimes stale
            size_roll, ind_roll = rng.random(), rng.random()
            if size_roll < 0.55:
                employees = ""
            elif size_roll < 0.90 and company.employee_count is not None:
                employees = str(company.employee_count)
            else:
                employees = str(pick_employee_count(rng))
            if ind_roll < 0.50:
                industry = ""
            elif ind_roll < 0.92 and company.industry is not None:
                industry = noisy_industry(rng, company.industry)
            else:
                industry = noisy_industry(rng, pick_industry(rng))
            country = company.country
        elif roll < SHARE_ACCOUNT_EMAIL + SHARE_FREEMAIL:
            email = unique_email(first, last, rng.choice(FREEMAIL_DOMAINS))
            company = rng.choice(accounts if rng.random() < 0.4 else others)
            company_name = company.name if rng.random() < 0.7 else ""
            company_domain = company.domain if rng.random() < 0.45 else ""
            if company_domain and company.account_id:
                account_id = company.account_id
            employees = str(company.employee_count or pick_employee_count(rng)) \
                if rng.random() < 0.80 else ""
            industry = noisy_industry(rng, company.industry or pick_industry(rng)) \
                if rng.random() < 0.80 else ""
            country = weighted(rng, COUNTRIES)
        else:
            company = rng.choice(others)
            email = unique_email(first, last, company.domain)
            company_name = company.name
            company_domain = company.domain if rng.random() < 0.5 else ""
            employees = str(company.employee_count) if rng.random() < 0.92 else ""
            industry = noisy_industry(rng, company.industry) if rng.random() < 0.95 else ""
            country = company.country
        source = weighted(rng, LEAD_SOURCES)
        return Lead("", email, first, last, title, company_name, company_domain, employees,
                    industry, country, source, lead_campaign(rng, source, created), created,
                    person=email.strip().lower(), account_id=account_id)

    def duplicate_of(original: Lead, created: datetime) -> Lead:
        """Another record of the same person: new lead_id, later, email spelled differently."""
        source = weighted(rng, LEAD_SOURCES)
        title = original.job_title
        if rng.random() < 0.4:
            title = rng.choice(FINANCE_TITLES if title and title in FINANCE_TITLES else OTHER_TITLES)
        elif rng.random() < 0.2:
            title = ""
        employees = rng.choice(["", "", original.employee_count, str(pick_employee_count(rng))])
        return Lead("", email_variant(rng, original.email), original.first_name,
                    original.last_name, title, original.company_name, "", employees,
                    rng.choice(["", original.industry]), original.country, source,
                    lead_campaign(rng, source, created), created, person=original.person,
                    account_id=original.account_id, is_duplicate=True)

    created = sorted([business_time(rng, FIRST_DAY, DROP2_START - timedelta(seconds=1))
                      for _ in range(N_LEADS_DROP1)] +
                     [business_time(rng, DROP2_START, LAST_DAY - timedelta(days=1))
                      for _ in range(N_LEADS_DROP2)])
    dup_slots = set(rng.sample(range(40, len(created)), N_DUPLICATE_RECORDS))
    leads: list[Lead] = []
    for i, when in enumerate(created):
        if i in dup_slots:
            candidates = [l for l in leads if not l.is_duplicate and l.created_at < when
                          and not any(d.person == l.person for d in leads if d.is_duplicate)]
            lead = duplicate_of(rng.choice(candidates), when)
        else:
            lead = new_person(when)
        lead.lead_id = f"L-{i + 1:04d}"
        leads.append(lead)
    # a couple of leads carry a campaign id that campaigns.csv does not know
    for lead in rng.sample([l for l in leads if l.campaign_id and not l.is_duplicate], 2):
        lead.campaign_id = UNKNOWN_CAMPAIGN_ID
    return leads


def lead_campaign(rng: random.Random, source: str, created: datetime) -> str:
    channel = SOURCE_CHANNEL.get(source)
    if channel is None or (source == "organic" and rng.random() < 0.6) or rng.random() < 0.08:
        return ""
    campaign = campaign_for(rng, channel, created)
    return campaign[0] if campaign else ""


def make_lead_resends(rng: random.Random, leads: list[Lead]) -> list[Lead]:
    """Drop-1 leads re-sent in drop 2 with changes; the whole record is re-sent."""
    drop1 = [l for l in leads if l.created_at < DROP2_START and not l.is_duplicate]
    resends = []
    for i, old in enumerate(rng.sample(drop1, N_LEAD_RESENDS)):
        new = Lead(**{**old.__dict__})
        change = i % 5
        if change == 0:                       # promotion / corrected title
            new.job_title = rng.choice(FINANCE_TITLES)
        elif change == 1:                     # enrichment filled the firmographics
            new.employee_count = str(pick_employee_count(rng))
            new.industry = noisy_industry(rng, pick_industry(rng))
        elif change == 2:                     # title cleared in the source system
            new.job_title = ""
            new.country = weighted(rng, COUNTRIES)
        elif change == 3:                     # company size corrected
            new.employee_count = str(pick_employee_count(rng))
        else:                                 # blanks replace earlier values too
            new.company_domain = ""
            new.industry = ""
            new.job_title = rng.choice(OTHER_TITLES)
        resends.append(new)
    return resends


def persons_of(leads: list[Lead]) -> dict[str, list[Lead]]:
    """Lead records grouped by person (normalized email), earliest record first."""
    persons: dict[str, list[Lead]] = {}
    for lead in sorted(leads, key=lambda l: (l.created_at, l.lead_id)):
        persons.setdefault(lead.person, []).append(lead)
    return persons


def make_deals(rng: random.Random, leads: list[Lead],
               names: dict[str, str]) -> tuple[list[Deal], set[str]]:
    """Random drop-1 deals D-101.. with their contacts; returns (deals, quiet persons).

    A quiet person gets no engagement events, so deals whose contacts are all
    quiet (and whose originating lead is not marketing) end up sales_only.
    """
    persons = persons_of([l for l in leads if l.created_at < DROP2_START])
    by_account: dict[str, list[list[Lead]]] = {}
    for records in persons.values():
        if records[0].account_id:
            by_account.setdefault(records[0].account_id, []).append(records)
    account_ids = sorted(a for a, p in by_account.items() if len(p) >= 2)
    quiet: set[str] = set()
    sales_only_slots = set(rng.sample(range(N_DEALS_DROP1), N_SALES_ONLY_DEALS))
    deals: list[Deal] = []
    for i in range(N_DEALS_DROP1):
        deal_id = f"D-{101 + i}"
        account_id = rng.choice(account_ids)
        people = by_account[account_id]
        earliest = min(p[0].created_at for p in people)
        created = business_time(rng, max(earliest + timedelta(days=5), datetime(2026, 1, 20)),
                                datetime(2026, 9, 25)).replace(minute=0, second=0)
        known = [p for p in people if p[0].created_at <= created] or people
        stage, closed = deal_stage(rng, created, DROP2_START - timedelta(days=1))
        if i in sales_only_slots:
            non_mkt = [p for p in known if p[0].lead_source in NON_MARKETING_SOURCES]
            chosen = rng.sample(non_mkt or known, min(len(non_mkt or known), rng.randint(1, 2)))
            quiet.update(p[0].person for p in chosen)
            origin = rng.choice([None, chosen[0]]) if chosen[0][0].lead_source in \
                NON_MARKETING_SOURCES else None
            contacts = chosen
        else:
            roll = rng.random()
            mkt = [p for p in known if p[0].lead_source not in NON_MARKETING_SOURCES]
            non_mkt = [p for p in known if p[0].lead_source in NON_MARKETING_SOURCES]
            if roll < 0.50 and mkt:
                origin = rng.choice(mkt)
            elif roll < 0.75 and non_mkt:
                origin = rng.choice(non_mkt)
            else:
                origin = None
            k = rng.choices([1, 2, 3, 4], [35, 35, 20, 10])[0]
            contacts = rng.sample(known, min(k, len(known)))
            if origin is not None and origin not in contacts and rng.random() < 0.5:
                contacts.append(origin)
        name = f"{names[account_id]} {rng.choice(DEAL_PRODUCTS)}"
        deal = Deal(deal_id, account_id, name, created, closed, stage, fmt_amount(rng),
                    record_id(rng, origin) if origin else "")
        for person in contacts:
            record = rng.choice(person) if rng.random() < 0.15 else person[0]
            if rng.random() < 0.8 or not record.email:
                deal.contacts.append([deal_id, record.lead_id, "", rng.choice(CONTACT_ROLES)])
            else:
                email = record.email.strip() if rng.random() < 0.6 else email_variant(rng, record.email.strip())
                deal.contacts.append([deal_id, "", email, rng.choice(CONTACT_ROLES)])
        deals.append(deal)
    return deals, quiet


def record_id(rng: random.Random, person: list[Lead]) -> str:
    """Mostly the person's first record; sometimes a later duplicate record's id."""
    return (rng.choice(person) if rng.random() < 0.2 else person[0]).lead_id


def deal_stage(rng: random.Random, created: datetime,
               latest_close: datetime) -> tuple[str, datetime | None]:
    roll = rng.random()
    closed = created + timedelta(days=rng.randint(20, 120), hours=rng.randint(0, 8))
    if roll < 0.55 and closed <= latest_close:
        if roll < 0.30:
            return rng.choice([WON_STAGE] * 4 + [WON_STAGE.replace("_", " ").title()]), closed
        return rng.choice([LOST_STAGE] * 4 + [LOST_STAGE.replace("_", "-").title()]), closed
    return rng.choice(OPEN_STAGES + ["Proposal"]), None


def make_deals_drop2(rng: random.Random, leads: list[Lead], deals: list[Deal],
                     names: dict[str, str]) -> list[Deal]:
    """New deals created in drop 2 plus re-sends of drop-1 deals (stage/amount/closed_at)."""
    out: list[Deal] = []
    open_deals = [d for d in deals if d.closed_at is None]
    closed_deals = [d for d in deals if d.closed_at is not None]
    resend = rng.sample(open_deals, N_DEAL_RESENDS - 1) + rng.sample(closed_deals, 1)
    for i, old in enumerate(resend):
        new = Deal(**{**old.__dict__, "contacts": []})
        if old.closed_at is not None:          # amount corrected after signature
            new.amount = f"{float(old.amount) * 1.05:.2f}"
        elif i % 3 == 0:
            new.stage = WON_STAGE
            new.closed_at = business_time(rng, DROP2_START, datetime(2026, 11, 13))
            new.amount = fmt_amount(rng)
        elif i % 3 == 1:
            new.stage = LOST_STAGE
            new.closed_at = business_time(rng, DROP2_START, datetime(2026, 11, 13))
        else:
            new.stage = "negotiation"
            new.amount = fmt_amount(rng)
        out.append(new)
    persons = persons_of(leads)
    account_ids = sorted({l.account_id for l in leads if l.account_id})
    for i in range(N_DEALS_DROP2):
        account_id = rng.choice(account_ids)
        created = business_time(rng, DROP2_START, datetime(2026, 11, 10)).replace(minute=0,
                                                                                    second=0)
        people = [p for p in persons.values() if p[0].account_id == account_id
                  and p[0].created_at <= created]
        origin = rng.choice(people) if people and i != 3 else None
        stage, closed = ((WON_STAGE, created + timedelta(days=9)) if i == 0
                         else (rng.choice(OPEN_STAGES), None))
        out.append(Deal(f"D-{101 + N_DEALS_DROP1 + i}", account_id,
                        f"{names[account_id]} {rng.choice(DEAL_PRODUCTS)}",
                        created, closed, stage, fmt_amount(rng),
                        origin[0].lead_id if origin else ""))
    return out


def make_events(rng: random.Random, leads: list[Lead], quiet: set[str]) -> list[list[str]]:
    """Random engagement events E-000001.. (ids in time order) for random leads only."""
    events: list[tuple[datetime, list[str]]] = []
    type_weights = {t: w for t, (w, _, _) in EVENT_TYPES.items()}

    def event(lead: Lead, when: datetime, etype: str, campaign: tuple | None,
              with_lead_id: bool, with_email: bool) -> None:
        if campaign:
            asset = asset_for(rng, campaign, when)
            cid = campaign[0]
        else:
            asset = rng.choice(UNCAMPAIGNED_ASSETS.get(etype, ["Homepage"]))
            cid = ""
        email = ""
        if with_email:
            email = lead.email.strip().lower() if rng.random() < 0.85 else lead.email
        spelled = EVENT_TYPE_VARIANTS.get(etype, etype) if rng.random() < 0.01 else etype
        events.append((when, [lead.lead_id if with_lead_id else "", email, spelled, cid, asset,
                              ts(when)]))

    for person, records in persons_of(leads).items():
        if person in quiet:
            continue
        first = records[0]
        # the conversion that created the lead
        channel = SOURCE_CHANNEL.get(first.lead_source)
        if channel and first.campaign_id and first.campaign_id != UNKNOWN_CAMPAIGN_ID:
            campaign = next(c for c in CAMPAIGNS if c[0] == first.campaign_id)
            etype = {"webinar": "webinar_registration", "ebook": "ebook_download",
                     "paid_search": "ad_click", "paid_social": "ad_click",
                     "newsletter": "form_submission", "events": "event_attendance",
                     "blog": "blog_view"}[channel]
            event(first, first.created_at - timedelta(minutes=rng.randint(1, 20)), etype,
                  campaign, True, True)
        for _ in range(rng.randint(2, 17)):
            etype = weighted(rng, type_weights)
            _, channels, campaign_share = EVENT_TYPES[etype]
            identify = rng.random()
            if identify < 0.10:          # email only; may precede the lead's creation
                when = random_time(rng, max(first.created_at - timedelta(days=30), FIRST_DAY),
                                   LAST_DAY)
                record, with_id, with_email = first, False, True
            else:
                when = random_time(rng, first.created_at, LAST_DAY)
                later = [r for r in records if r.created_at <= when]
                record = rng.choice(later) if rng.random() < 0.3 else first
                with_id, with_email = True, identify >= 0.13
            campaign = campaign_for(rng, rng.choice(channels), when) \
                if rng.random() < campaign_share else None
            event(record, when, etype, campaign, with_id, with_email)

    # visitors who never became leads
    for n in range(N_UNMATCHED_EVENTS):
        when = random_time(rng, FIRST_DAY, LAST_DAY)
        visitor = Lead("", f"visitor{n + 1:03d}@{slug(rng.choice(NAME_STEMS))}-prospects.com",
                       "", "", "", "", "", "", "", "", "", "", when, person="")
        etype = rng.choice(["blog_view", "website_visit", "newsletter_open", "ad_click"])
        _, channels, share = EVENT_TYPES[etype]
        campaign = campaign_for(rng, rng.choice(channels), when) if rng.random() < share else None
        event(visitor, when, etype, campaign, False, True)

    events.sort(key=lambda e: (e[0], e[1]))
    return [[f"E-{i + 1:06d}"] + row for i, (_, row) in enumerate(events)]


def asset_for(rng: random.Random, campaign: tuple, when: datetime) -> str:
    cid, _, channel, *_rest, assets = campaign
    if channel == "newsletter":
        return f"{MONTHS[when.month - 1]} newsletter"
    if cid == "C-01":
        return ["Q1 webinar", "Q2 webinar", "Q3 webinar", "Q4 webinar"][(when.month - 1) // 3]
    return rng.choice(assets)


def make_target_accounts(rng: random.Random, accounts: list[Company]) -> list[list[str]]:
    rows = [["A-001", "", "1", "2026-01-05"],
            ["", "hooli.com", "2", "2026-02-15"]]
    picks = rng.sample(accounts, 12)
    for i, a in enumerate(picks):
        tier = str(rng.choice([1, 2, 2, 3, 3, 3]))
        added = (date(2026, 1, 5) + timedelta(days=rng.randint(0, 240))).isoformat()
        if i < 5:
            rows.append([a.account_id, "", tier, added])
        elif i < 9:
            domain = a.domain if i != 6 else f"https://www.{a.domain}/"
            rows.append(["", domain, tier, added])
        else:
            rows.append([a.account_id, a.domain, tier, added])
    rows.append(["", "wayne-enterprises.com", "1", "2026-03-01"])   # not an account (yet)
    return rows


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------

def _field(value: str | None) -> str:
    """One CSV field. Like csv.QUOTE_MINIMAL, but a value with surrounding
    white space is quoted too, so the padding is unmistakable."""
    value = "" if value is None else str(value)
    if any(c in value for c in ',"\r\n') or value != value.strip():
        return '"' + value.replace('"', '""') + '"'
    return value


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(",".join(_field(v) for v in row) + "\n" for row in [header] + rows)
    # round-trip through the csv module: what we wrote is what a reader gets
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed == [[str(v) for v in row] for row in [header] + rows], path
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def write_jsonl(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            obj = {k: (v if v != "" else None) for k, v in zip(header, row)}
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")


def generate(out: Path) -> None:
    rng = random.Random(SEED)
    accounts, others = make_companies(rng)
    leads = make_leads(rng, accounts, others)
    resends = make_lead_resends(rng, leads)
    names = {a.account_id: a.name for a in accounts}
    deals, quiet = make_deals(rng, leads, names)
    deals_drop2 = make_deals_drop2(rng, leads, deals, names)
    events = make_events(rng, leads, quiet)
    targets = make_target_accounts(rng, accounts)

    leads_drop1 = [l.row() for l in leads if l.created_at < DROP2_START]
    leads_drop2 = [l.row() for l in leads if l.created_at >= DROP2_START] + \
        [l.row() for l in resends]
    events_drop1 = [e for e in events if parse_ts(e[-1]) < DROP2_START]
    events_drop2 = [e for e in events if parse_ts(e[-1]) >= DROP2_START]

    write_csv(out / "accounts" / "accounts_2026_10_01.csv", ACCOUNT_COLUMNS,
              account_rows(rng, accounts))
    write_csv(out / "leads" / "leads_2026_10_01.csv", LEAD_COLUMNS,
              parse_story(STORY_LEADS_DROP1) + leads_drop1)
    write_csv(out / "leads" / "leads_2026_11_01.csv", LEAD_COLUMNS,
              parse_story(STORY_LEADS_DROP2) + leads_drop2)
    write_csv(out / "engagement_events" / "events_2026_10_01.csv", EVENT_COLUMNS,
              parse_story(STORY_EVENTS_DROP1) + events_drop1)
    write_jsonl(out / "engagement_events" / "events_2026_11_01.jsonl", EVENT_COLUMNS,
                parse_story(STORY_EVENTS_DROP2) + events_drop2)
    write_csv(out / "deals" / "deals_2026_10_01.csv", DEAL_COLUMNS,
              parse_story(STORY_DEALS_DROP1) + [d.row() for d in deals])
    write_csv(out / "deals" / "deals_2026_11_01.csv", DEAL_COLUMNS,
              parse_story(STORY_DEALS_DROP2) + [d.row() for d in deals_drop2])
    write_csv(out / "deal_contacts" / "deal_contacts_2026_10_01.csv", DEAL_CONTACT_COLUMNS,
              parse_story(STORY_DEAL_CONTACTS) + [c for d in deals for c in d.contacts])
    write_csv(out / "campaigns.csv", CAMPAIGN_COLUMNS, make_campaigns())
    write_csv(out / "target_accounts.csv", TARGET_ACCOUNT_COLUMNS, targets)


# --------------------------------------------------------------------------
# Self-check: the sample built by the real pipeline, the story read from the marts
# --------------------------------------------------------------------------

# What the story records become (CONTRACT.md; tests/test_end_to_end.py works out
# every column by hand, with the reason beside it).
STORY_VERDICTS = {  # story person -> (sal_status, sal_reasons)
    "S-001": ("accepted", ""),  # S-002 merged in: its CFO title, A-001's 800 / banking
    "S-003": ("accepted", ""),
    "S-004": ("rejected", "company_size:failed"),  # A-003, the smaller id on initech.com: 50
    "S-005": ("accepted", ""),  # gmail.com is free mail: the lead's own 51 / software
    "S-006": ("rejected", "finance_role:failed"),
    "S-007": ("rejected", "finance_role:unknown; industry:failed"),
    "S-008": ("undetermined", "company_size:unknown"),
    "S-009": ("rejected", "finance_role:failed; industry:failed"),
    "S-010": ("accepted", ""),  # re-sent as CFO in drop 2
}
STORY_PIPELINE = {  # story deal -> (pipeline_category, influencing_touches)
    "D-001": ("marketing_influenced", 2),  # window bounds: E-S01 and E-S03 in, E-S02 and E-S04 out
    "D-002": ("marketing_sourced", 0),
    "D-003": ("marketing_influenced", 1),  # E-S05 at the as-of day's last second, not E-S06
    "D-004": ("sales_only", 0),  # its only event, E-S09, has an unknown type
    "D-005": ("marketing_sourced", 0),  # re-sent closed_won in drop 2
    "D-006": ("marketing_influenced", 1),  # E-S07 delivered twice counts once
}
STORY_QUARANTINE = [  # (entity, file, row): the unknown event type, the re-sent event
    ("engagement_events", "events_2026_10_01.csv", 9),
    ("engagement_events", "events_2026_11_01.jsonl", 1),
]


def build(out: Path, warehouse: Path) -> None:
    """`baton run` on the landing folder `out` into a fresh `warehouse` (default rules, as of
    AS_OF), as a subprocess with nothing of the caller's BATON_* settings."""
    baton = Path(sys.executable).with_name("baton")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BATON_")}
    env.update(
        BATON_LANDING_DIR=str(out.resolve()),
        BATON_DUCKDB_PATH=str(warehouse),
        BATON_AS_OF=AS_OF.isoformat(),
        BATON_SETTLE_SECONDS="0",  # the files were written a moment ago, and completely
        DAGSTER_HOME=str(warehouse.parent / "dagster_home"),
        DO_NOT_TRACK="1",
    )
    (warehouse.parent / "dagster_home").mkdir(parents=True, exist_ok=True)
    command = [str(baton) if baton.exists() else "baton", "run"]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"baton run on {out} failed ({completed.returncode}):\n"
                         f"{completed.stdout[-3000:]}\n{completed.stderr[-5000:]}")


def story_failures(conn) -> list[str]:
    """Each way the marts of a built sample differ from the story (empty: none)."""
    failures = []

    def expect(what: str, got, want) -> None:
        if got != want:
            failures.append(f"{what}: {got!r}, expected {want!r}")

    leads = {lead_id: (status, reasons) for lead_id, status, reasons in conn.execute(
        "select lead_id, sal_status, sal_reasons from marts.fct_leads where lead_id like 'S-%'").fetchall()}
    expect("story persons", sorted(leads), sorted(STORY_VERDICTS))
    for lead_id, verdict in STORY_VERDICTS.items():
        expect(f"fct_leads {lead_id} (sal_status, sal_reasons)", leads.get(lead_id), verdict)
    deals = {deal_id: (category, touches) for deal_id, category, touches in conn.execute(
        "select deal_id, pipeline_category, influencing_touches from marts.fct_deals "
        "where deal_id like 'D-00%'").fetchall()}
    for deal_id, pipeline in STORY_PIPELINE.items():
        expect(f"fct_deals {deal_id} (pipeline_category, influencing_touches)", deals.get(deal_id), pipeline)
    quarantined = [(entity, Path(path).name, row) for entity, path, row in conn.execute(
        "select entity, source_file, row_number from audit.quarantine order by all").fetchall()]
    expect("audit.quarantine", quarantined, STORY_QUARANTINE)
    expect("files not loaded", conn.execute(
        "select count(*) from audit.load_ledger where status <> 'loaded'").fetchone()[0], 0)
    # the random records give every verdict and every category
    for what, sql, want in [
        ("sal_status values", "select distinct sal_status from marts.fct_leads",
         {"accepted", "rejected", "undetermined"}),
        ("pipeline_category values", "select distinct pipeline_category from marts.fct_deals",
         {"marketing_sourced", "marketing_influenced", "sales_only"}),
    ]:
        expect(what, {row[0] for row in conn.execute(sql).fetchall()}, want)
    return failures


def summary(conn, out: Path) -> list[str]:
    """A few lines on what the sample became (all read from the built warehouse)."""
    def q(sql: str):
        return conn.execute(sql).fetchall()

    lines = [f"  {Path(os.path.relpath(path, out)).as_posix():50s} {read:5d} rows ({quarantined} quarantined)"
             for path, read, quarantined in q(
                 "select file_path, rows_read, rows_quarantined from audit.load_ledger order by file_id")]
    persons, finance, mapped, several = q(
        "select count(*), avg((job_function = 'finance')::int), avg((account_id is not null)::int), "
        "avg((lead_records > 1)::int) from marts.fct_leads")[0]
    lines.append(f"leads: {persons} persons; finance title {finance:.1%}, mapped to an account "
                 f"{mapped:.1%}, with more than one record {several:.1%}")
    lines.append("  SAL (default rules): " + ", ".join(f"{s} {n} ({p:.1%})" for s, n, p in q(
        "select sal_status, count(*), count(*) / sum(count(*)) over () from marts.fct_leads "
        "group by 1 order by 1")))
    events, unmatched = q("select count(*), avg((lead_id is null)::int) "
                          "from intermediate.int_engagement_events")[0]
    lines.append(f"events: {events} loaded, matching no lead {unmatched:.1%}")
    lines.append("deals: " + ", ".join(f"{c} {n} ({w} won)" for c, n, w in q(
        "select pipeline_category, count(*), count(*) filter (where is_won) from marts.fct_deals "
        "group by 1 order by 1")))
    return lines


def check(out: Path) -> int:
    """Build `out` with `baton run` on a throw-away warehouse, print a summary of the marts and
    check the story against them. Returns the exit status: 1 when the story does not hold."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="baton-sample-check-") as tmp:
        warehouse = Path(tmp) / "warehouse.duckdb"
        build(out, warehouse)
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            lines, failures = summary(conn, out), story_failures(conn)
    print(f"Sample written to {out}, built with baton run (as of {AS_OF}):")
    print("\n".join(lines))
    for failure in failures:
        print(f"STORY BROKEN: {failure}", file=sys.stderr)
    print("story: " + ("BROKEN" if failures else "holds in the marts"))
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="landing folder to write (default: the repo's seeds/)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the check (a baton run of the sample, the story read from its marts)")
    args = parser.parse_args(argv)
    generate(args.out)
    return 0 if args.no_check else check(args.out)


if __name__ == "__main__":
    sys.exit(main())

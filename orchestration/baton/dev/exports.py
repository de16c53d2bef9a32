"""The shipped sample landing folder (`seeds/`) as HubSpot and Salesforce export it.

`generate(out)` writes `out/hubspot/`, `out/salesforce/` and `out/README.md`: the
same story records as `seeds/`, in the vendors' shapes (their column headers, value
spellings, date formats and associations), so that Baton reading them through its
built-in presets (`baton/lib/extract/presets/*.yml`, CONTRACT.md s8) builds marts that
are identical, value for value, to the marts of `seeds/` (tests/test_crm_exports.py).

    .venv/bin/python -m baton.dev.exports [--out DIR]     # default: sample_exports/

Deterministic (no randomness, no clock): the same `seeds/` gives the same bytes.

How it stays faithful:

- **Values through the presets.** A value that a preset maps (`values:`) is written
  the way the vendor spells it: the export value the preset's map reads back as the
  sample's value (`paid_search` -> `Paid Search`, `Software` -> `Computer Software`,
  `closed_won` -> `Closed Won`). The maps are read from the preset YAML files
  themselves, so the generator and the presets cannot drift; every value written is
  read back through the preset's map (and every time through its `formats`) and
  checked against the sample before the file is written. A value no map holds is
  written as it is (the vendors' picklists are customizable).
- **Files and drops.** Every sample file becomes the file of the same name (a JSON
  lines file becomes `.csv` where it is mapped), one per drop, so "latest file wins"
  picks the same records. Where one sample file holds records of two vendor objects,
  it becomes two files of the same drop: `<name>.csv` and `<name>_<object>.csv`, which
  sort right after it.
- **Bad rows stay bad.** The sample's deliberately bad rows (an unknown event type, a
  re-sent immutable event) are written in the same shape, so the same records are
  quarantined.
- **Associations.** A deal contact given by e-mail only (the sample has some) is
  written as the ID of the sample's lead record with that e-mail (the smallest such
  lead_id): both vendors associate records by ID. Baton maps a lead_id through its
  person, and the person is the e-mail's, so the deal's contacts are the same people; a
  deal contact whose e-mail names no lead maps to no one in the sample, and is left out.

What each vendor cannot say is copied contract-shaped (a landing folder may mix mapped
and contract-shaped files): HubSpot has no engagement events, campaigns or target
accounts in this scope; Salesforce no target accounts, and of the engagement events only
the campaign responses that name a lead (CampaignMember: a campaign and a lead or contact;
web visits, blog views... without a campaign, or events known by e-mail only, stay
contract-shaped).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from baton.lib.settings import REPO_ROOT, SAMPLE_LANDING_DIR

__all__ = ["DEFAULT_OUT", "PRESETS_DIR", "Preset", "generate", "load_presets", "main", "manifest", "read_sample"]

PRESETS_DIR = Path(__file__).resolve().parents[1] / "lib" / "extract" / "presets"
DEFAULT_OUT = REPO_ROOT / "sample_exports"
ENTITY_NAMES = (
    "leads", "engagement_events", "accounts", "deals", "deal_contacts", "campaigns", "target_accounts",
)
SPLIT_SEPARATOR = ";"

Row = dict[str, str]  # a sample row: every column present, blank ("" or JSON null) as ""
Spec = list[tuple[str, Callable[[Row], str]]]  # an export's columns: header, value of a sample row


# --- the presets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A mapping file (CONTRACT.md s8) as the generator needs it."""

    name: str
    entity: str
    detect: tuple[str, ...]
    columns: dict[str, str]
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    formats: dict[str, tuple[str, ...]] = field(default_factory=dict)
    split: dict[str, str] = field(default_factory=dict)
    timezone: str = "UTC"

    def read_value(self, column: str, text: str) -> str | None:
        """What Baton makes of an export value of `column`: trimmed, blank is null, then the
        values map (exact match first, then case-insensitive); unlisted values pass unchanged."""
        text = text.strip()
        if not text:
            return None
        mapping = self.values.get(column, {})
        if text in mapping:
            return mapping[text]
        for key, value in mapping.items():
            if key.strip().casefold() == text.casefold():
                return value
        return text

    def write_value(self, column: str, value: str, same: Callable[[str], str] = lambda v: v.strip()) -> str:
        """The export spelling of a sample value: the preset's key that reads back as the
        value (labels before internal names: exports write labels), else the value itself.
        `same` says when two values are the same to Baton (e.g. industry: lower-cased)."""
        if not value.strip():
            return ""
        target = same(value)
        keys = [k for k, v in self.values.get(column, {}).items() if v is not None and same(v) == target]
        keys.sort(key=_looks_internal)  # stable: the map's order within labels / internal names
        for candidate in [*keys, value]:
            read = self.read_value(column, candidate)
            if read is not None and same(read) == target:
                return candidate
        raise ValueError(f"{self.name}: {column} value {value!r} cannot be written so that the preset reads it back")

    def read_time(self, column: str, text: str) -> dt.datetime:
        """An export time read with the preset's formats, tried in order (no offset: the
        preset's time zone), in UTC."""
        for pattern in self.formats.get(column, ()):
            try:
                parsed = dt.datetime.strptime(text.strip(), pattern)
            except ValueError:
                continue
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=ZoneInfo(self.timezone))
            return parsed.astimezone(dt.timezone.utc)
        raise ValueError(f"{self.name}: no format of {column} reads {text!r}")


def _looks_internal(key: str) -> bool:
    """An internal option name (COMPUTER_SOFTWARE, closedwon) rather than a label."""
    return bool(re.fullmatch(r"[A-Z0-9_]+|[a-z0-9_]+", key))


def load_presets(folder: Path = PRESETS_DIR) -> dict[str, Preset]:
    presets = {}
    for path in sorted(folder.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        presets[data["name"]] = Preset(
            name=data["name"],
            entity=data["entity"],
            detect=tuple(data["detect"]),
            columns=dict(data["columns"]),
            values={column: dict(mapping) for column, mapping in (data.get("values") or {}).items()},
            formats={column: tuple(patterns) for column, patterns in (data.get("formats") or {}).items()},
            split=dict(data.get("split") or {}),
            timezone=data.get("timezone") or "UTC",
        )
    return presets


# --- how Baton compares values (CONTRACT.md s7) ------------------------------------------------


def _trimmed(value: str) -> str:
    return value.strip()


def _lowered(value: str) -> str:  # industry: the marts lower-case and trim it
    return value.strip().lower()


def _canonical(value: str) -> str:  # stage, event type: trimmed, lower-cased, spaces/hyphens as _
    return re.sub(r"[ \-]", "_", value.strip().lower())


def _normalized_email(value: str) -> str:
    return value.strip().lower()


# --- reading the sample ------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleFile:
    entity: str
    path: Path  # in the sample
    relative: Path  # in a landing folder
    header: tuple[str, ...]
    rows: tuple[Row, ...]
    lines: tuple[str, ...] = ()  # JSON lines: each row's line as written


def read_sample(landing: Path) -> list[SampleFile]:
    """The files of a contract-shaped landing folder in load order: per entity the single
    `<entity>.csv`, then the folder's files in sorted name order (CONTRACT.md s7)."""
    files = []
    for entity in ENTITY_NAMES:
        single = landing / f"{entity}.csv"
        paths = [single] if single.is_file() else []
        folder = landing / entity
        if folder.is_dir():
            paths += sorted(p for p in folder.iterdir() if p.is_file())
        for path in paths:
            files.append(_read_file(entity, path, path.relative_to(landing)))
    return files


def _read_file(entity: str, path: Path, relative: Path) -> SampleFile:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        lines = tuple(line for line in text.splitlines() if line.strip())
        objects = [json.loads(line) for line in lines]
        header = tuple(dict.fromkeys(key for obj in objects for key in obj))
        rows = tuple({k: "" if obj.get(k) is None else str(obj[k]) for k in header} for obj in objects)
        return SampleFile(entity, path, relative, header, rows, lines)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = tuple({k: v or "" for k, v in row.items()} for row in reader)
    return SampleFile(entity, path, relative, tuple(reader.fieldnames or ()), rows)


def _time(value: str) -> dt.datetime | None:
    """A sample time (ISO 8601; a date is its midnight; no offset is UTC), in UTC."""
    if not value.strip():
        return None
    when = dt.datetime.fromisoformat(value.strip())
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Written:
    relative: Path  # in the vendor's landing folder
    preset: str | None  # None: contract-shaped
    source: Path  # the sample file it comes from
    rows: int
    subset: bool = False  # contract-shaped: only some of the sample file's rows
    sample_rows: tuple[Row, ...] = field(default=(), repr=False)  # mapped: the rows written, in order


class Exporter:
    """One vendor's landing folder: files written, and what each is."""

    def __init__(self, vendor: str, out: Path, presets: dict[str, Preset]) -> None:
        self.vendor, self.out, self.presets = vendor, out / vendor, presets
        self.written: list[Written] = []

    def copy(self, sample: SampleFile) -> None:
        target = self.out / sample.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample.path, target)
        self.written.append(Written(sample.relative, None, sample.relative, len(sample.rows)))

    def contract_subset(self, sample: SampleFile, keep: list[bool]) -> None:
        """The rows of `sample` with `keep`, contract-shaped, under the sample file's name."""
        target = self.out / sample.relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if sample.lines:
            target.write_text("".join(f"{line}\n" for line, k in zip(sample.lines, keep) if k), encoding="utf-8")
        else:
            _write_csv(target, sample.header, [[row[c] for c in sample.header] for row, k in zip(sample.rows, keep) if k])
        self.written.append(Written(sample.relative, None, sample.relative, sum(keep), subset=True))

    def mapped(self, sample: SampleFile, preset: str, spec: Spec, rows: Iterable[Row], suffix: str = "") -> None:
        """Rows of `sample` in the vendor's shape (`spec`: header -> value), read through
        `preset`, as `<sample file's name><suffix>.csv`; nothing when there is no row."""
        rows = tuple(rows)
        header, values = [name for name, _ in spec], [[make(row) for _, make in spec] for row in rows]
        if not values:
            return
        used = self.presets[preset]
        missing = [c for c in [*used.columns.values(), *used.detect] if c not in header]
        if missing:
            raise ValueError(f"{preset}: the {sample.relative} export lacks the columns {missing}")
        relative = sample.relative.with_name(f"{sample.relative.name.split('.')[0]}{suffix}.csv")
        target = self.out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_csv(target, header, values, quote_all=self.vendor == "salesforce")  # Data Loader quotes all
        self.written.append(Written(relative, preset, sample.relative, len(values), sample_rows=rows))


def _write_csv(path: Path, header: Iterable[str], rows: Iterable[list[str]], quote_all: bool = False) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerow(list(header))
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


# --- what the sample's records are ------------------------------------------------------------


@dataclass
class Story:
    """Facts over the whole sample that the vendors' shapes need."""

    files: list[SampleFile]
    lead_records: dict[str, Row] = field(default_factory=dict)  # lead_id -> its current version
    lead_by_email: dict[str, str] = field(default_factory=dict)  # normalized e-mail -> smallest lead_id
    deal_rows: dict[str, Row] = field(default_factory=dict)  # deal_id -> its first version
    deal_contact_ids: dict[str, list[str]] = field(default_factory=dict)  # deal_id -> contact IDs, in order
    campaign_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for sample in self.files:
            for row in sample.rows:
                if sample.entity == "leads" and row["lead_id"].strip():
                    self.lead_records[row["lead_id"].strip()] = row
                elif sample.entity == "deals" and row["deal_id"].strip():
                    self.deal_rows.setdefault(row["deal_id"].strip(), row)
                elif sample.entity == "campaigns":
                    self.campaign_names[row["campaign_id"].strip()] = row["campaign_name"]
        for lead_id in sorted(self.lead_records):
            email = _normalized_email(self.lead_records[lead_id]["email"])
            if email:
                self.lead_by_email.setdefault(email, lead_id)
        for sample in self.files:
            if sample.entity == "deal_contacts":
                for row in sample.rows:
                    contact = self.contact_id(row)
                    ids = self.deal_contact_ids.setdefault(row["deal_id"].strip(), [])
                    if contact and contact not in ids:
                        ids.append(contact)

    def contact_id(self, deal_contact: Row) -> str | None:
        """The ID a CRM associates a deal contact by: its lead_id when it names a lead record,
        else the lead of its e-mail (as Baton maps it, CONTRACT.md s7), else its lead_id."""
        lead_id = deal_contact["lead_id"].strip()
        if lead_id in self.lead_records:
            return lead_id
        return self.lead_by_email.get(_normalized_email(deal_contact["email"])) or lead_id or None

    def salesforce_contacts(self) -> set[str]:
        """Lead records that are Contacts in Salesforce: the people on opportunities (contact
        roles, primary contacts); every other record is a Lead."""
        ids = {i for contacts in self.deal_contact_ids.values() for i in contacts}
        ids |= {row["originating_lead_id"].strip() for sample in self.files if sample.entity == "deals"
                for row in sample.rows}
        return ids & set(self.lead_records)


# --- HubSpot -----------------------------------------------------------------------------------


def _hubspot_time(value: str) -> str:
    when = _time(value)
    if when is None:
        return ""
    # HubSpot writes minutes; the sample's few second-precise times keep their seconds.
    return when.strftime("%Y-%m-%d %H:%M" if when.second == 0 and when.microsecond == 0 else "%Y-%m-%d %H:%M:%S")


def export_hubspot(story: Story, exporter: Exporter) -> None:
    p = exporter.presets
    contacts, companies, deals = p["hubspot-contacts"], p["hubspot-companies"], p["hubspot-deals"]
    lead_spec = [
        ("Record ID", lambda r: r["lead_id"]),
        ("First Name", lambda r: r["first_name"]),
        ("Last Name", lambda r: r["last_name"]),
        ("Email", lambda r: r["email"]),
        ("Job Title", lambda r: r["job_title"]),
        ("Company Name", lambda r: r["company_name"]),
        ("Website URL", lambda r: r["company_domain"]),
        ("Number of Employees", lambda r: r["employee_count"]),
        ("Industry", lambda r: contacts.write_value("industry", r["industry"], _lowered)),
        ("Country/Region", lambda r: r["country"]),
        ("Original Source", lambda r: contacts.write_value("lead_source", r["lead_source"])),
        ("First Touch Converting Campaign", lambda r: r["campaign_id"]),
        ("Create Date", lambda r: _hubspot_time(r["created_at"])),
    ]
    company_spec = [
        ("Record ID", lambda r: r["account_id"]),
        ("Company name", lambda r: r["account_name"]),
        ("Company Domain Name", lambda r: r["domain"]),
        ("Number of Employees", lambda r: r["employee_count"]),
        ("Industry", lambda r: companies.write_value("industry", r["industry"], _lowered)),
        ("Country/Region", lambda r: r["country"]),
    ]
    deal_spec = [
        ("Record ID", lambda r: r["deal_id"]),
        ("Deal Name", lambda r: r["deal_name"]),
        ("Pipeline", lambda r: "Sales Pipeline"),
        ("Deal Stage", lambda r: deals.write_value("stage", r["stage"], _canonical)),
        ("Amount", lambda r: r["amount"]),
        ("Close Date", lambda r: _hubspot_time(r["closed_at"])),
        ("Create Date", lambda r: _hubspot_time(r["created_at"])),
        ("Originating Contact ID", lambda r: r["originating_lead_id"]),
        ("Associated Company IDs (Primary)", lambda r: r["account_id"]),
        ("Associated Contact IDs", lambda r: SPLIT_SEPARATOR.join(story.deal_contact_ids.get(r["deal_id"].strip(), []))),
    ]
    for sample in story.files:
        if sample.entity == "leads":
            exporter.mapped(sample, "hubspot-contacts", lead_spec, sample.rows)
        elif sample.entity == "accounts":
            exporter.mapped(sample, "hubspot-companies", company_spec, sample.rows)
        elif sample.entity == "deals":
            exporter.mapped(sample, "hubspot-deals", deal_spec, sample.rows)
        elif sample.entity == "deal_contacts":
            # The deals export again, in the deal_contacts folder: the deals with contacts.
            deal_ids = dict.fromkeys(row["deal_id"].strip() for row in sample.rows)
            rows = [story.deal_rows[d] for d in deal_ids if d in story.deal_rows and story.deal_contact_ids.get(d)]
            exporter.mapped(sample, "hubspot-deal-contacts", deal_spec, rows)
        else:
            exporter.copy(sample)


# --- Salesforce --------------------------------------------------------------------------------


def _salesforce_datetime(value: str) -> str:
    when = _time(value)
    return "" if when is None else when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _salesforce_date_or_datetime(value: str) -> str:
    """CloseDate is a date; the sample's closing times of day are kept (as Data Loader writes
    a date-time) where they are not midnight."""
    when = _time(value)
    if when is None:
        return ""
    return when.strftime("%Y-%m-%d") if when.time() == dt.time(0) else _salesforce_datetime(value)


def export_salesforce(story: Story, exporter: Exporter) -> None:
    p = exporter.presets
    leads, contacts, accounts = p["salesforce-leads"], p["salesforce-contacts"], p["salesforce-accounts"]
    opportunities, roles = p["salesforce-opportunities"], p["salesforce-opportunity-contact-roles"]
    campaigns, members = p["salesforce-campaigns"], p["salesforce-campaign-members"]
    contact_ids = story.salesforce_contacts()
    lead_spec = [
        ("Id", lambda r: r["lead_id"]),
        ("FirstName", lambda r: r["first_name"]),
        ("LastName", lambda r: r["last_name"]),
        ("Email", lambda r: r["email"]),
        ("Title", lambda r: r["job_title"]),
        ("Company", lambda r: r["company_name"]),
        ("Website", lambda r: r["company_domain"]),
        ("NumberOfEmployees", lambda r: r["employee_count"]),
        ("Industry", lambda r: leads.write_value("industry", r["industry"], _lowered)),
        ("Country", lambda r: r["country"]),
        ("LeadSource", lambda r: leads.write_value("lead_source", r["lead_source"])),
        ("Status", lambda r: "Open - Not Contacted"),
        ("IsConverted", lambda r: "false"),
        ("Primary_Campaign__c", lambda r: r["campaign_id"]),
        ("CreatedDate", lambda r: _salesforce_datetime(r["created_at"])),
    ]
    contact_spec = [
        ("Id", lambda r: r["lead_id"]),
        ("FirstName", lambda r: r["first_name"]),
        ("LastName", lambda r: r["last_name"]),
        ("Email", lambda r: r["email"]),
        ("Title", lambda r: r["job_title"]),
        ("AccountId", lambda r: ""),
        ("Account.Name", lambda r: r["company_name"]),
        ("Account.Website", lambda r: r["company_domain"]),
        ("Account.NumberOfEmployees", lambda r: r["employee_count"]),
        ("Account.Industry", lambda r: contacts.write_value("industry", r["industry"], _lowered)),
        ("MailingCountry", lambda r: r["country"]),
        ("LeadSource", lambda r: contacts.write_value("lead_source", r["lead_source"])),
        ("Primary_Campaign__c", lambda r: r["campaign_id"]),
        ("CreatedDate", lambda r: _salesforce_datetime(r["created_at"])),
    ]
    account_spec = [
        ("Id", lambda r: r["account_id"]),
        ("Name", lambda r: r["account_name"]),
        ("Website", lambda r: r["domain"]),
        ("NumberOfEmployees", lambda r: r["employee_count"]),
        ("Industry", lambda r: accounts.write_value("industry", r["industry"], _lowered)),
        ("BillingCountry", lambda r: r["country"]),
    ]
    opportunity_spec = [
        ("Id", lambda r: r["deal_id"]),
        ("AccountId", lambda r: r["account_id"]),
        ("Name", lambda r: r["deal_name"]),
        ("StageName", lambda r: opportunities.write_value("stage", r["stage"], _canonical)),
        ("Amount", lambda r: r["amount"]),
        ("CloseDate", lambda r: _salesforce_date_or_datetime(r["closed_at"])),
        ("IsClosed", lambda r: "true" if _canonical(r["stage"]) in ("closed_won", "closed_lost") else "false"),
        ("IsWon", lambda r: "true" if _canonical(r["stage"]) == "closed_won" else "false"),
        ("ContactId", lambda r: r["originating_lead_id"]),
        ("CreatedDate", lambda r: _salesforce_datetime(r["created_at"])),
    ]
    campaign_spec = [
        ("Id", lambda r: r["campaign_id"]),
        ("Name", lambda r: r["campaign_name"]),
        ("Type", lambda r: campaigns.write_value("channel", r["channel"])),
        ("StartDate", lambda r: r["start_date"]),
        ("EndDate", lambda r: r["end_date"]),
        ("ActualCost", lambda r: r["cost"]),
    ]

    role_spec = [
        ("Id", lambda r: r["role_id"]),
        ("OpportunityId", lambda r: r["deal_id"]),
        ("ContactId", lambda r: r["lead_id"]),
        ("Role", lambda r: roles.write_value("role", r["role"])),
        ("IsPrimary", lambda r: "true" if story.deal_rows.get(r["deal_id"], {}).get(
            "originating_lead_id", "").strip() == r["lead_id"] else "false"),
    ]

    def member_id_columns(lead_id: str) -> tuple[str, str]:
        return ("", lead_id) if lead_id in contact_ids else (lead_id, "")

    member_spec = [
        ("Id", lambda r: r["event_id"]),
        ("CampaignId", lambda r: r["campaign_id"]),
        ("Campaign.Name", lambda r: story.campaign_names.get(r["campaign_id"].strip(), "")),
        ("LeadOrContactId", lambda r: r["lead_id"]),
        ("LeadId", lambda r: member_id_columns(r["lead_id"].strip())[0]),
        ("ContactId", lambda r: member_id_columns(r["lead_id"].strip())[1]),
        ("Email", lambda r: r["email"]),
        ("Status", lambda r: members.write_value("event_type", r["event_type"], _canonical)),
        ("HasResponded", lambda r: "true"),
        ("CreatedDate", lambda r: _salesforce_datetime(r["occurred_at"])),
    ]
    for sample in story.files:
        if sample.entity == "leads":
            exporter.mapped(sample, "salesforce-leads", lead_spec,
                            [row for row in sample.rows if row["lead_id"].strip() not in contact_ids])
            exporter.mapped(sample, "salesforce-contacts", contact_spec,
                            [row for row in sample.rows if row["lead_id"].strip() in contact_ids], "_contacts")
        elif sample.entity == "accounts":
            exporter.mapped(sample, "salesforce-accounts", account_spec, sample.rows)
        elif sample.entity == "deals":
            exporter.mapped(sample, "salesforce-opportunities", opportunity_spec, sample.rows)
        elif sample.entity == "deal_contacts":
            exporter.mapped(sample, "salesforce-opportunity-contact-roles", role_spec, _contact_roles(story, sample))
        elif sample.entity == "campaigns":
            exporter.mapped(sample, "salesforce-campaigns", campaign_spec, sample.rows)
        elif sample.entity == "engagement_events":
            # Campaign responses naming a lead are campaign members; the rest stays as it is.
            is_member = [bool(row["campaign_id"].strip() and row["lead_id"].strip()) for row in sample.rows]
            exporter.contract_subset(sample, [not m for m in is_member])
            exporter.mapped(sample, "salesforce-campaign-members", member_spec,
                            [row for row, m in zip(sample.rows, is_member) if m], "_campaign_members")
        else:
            exporter.copy(sample)


def _contact_roles(story: Story, sample: SampleFile) -> list[Row]:
    """One contact role per deal and contact, by ContactId (the last row of a pair wins, as it
    would in Baton; deal contacts that name no one are left out), numbered OCR-0001..."""
    pairs: dict[tuple[str, str], Row] = {}
    for row in sample.rows:
        contact = story.contact_id(row)
        if contact:
            pairs.pop((row["deal_id"].strip(), contact), None)
            pairs[(row["deal_id"].strip(), contact)] = row
    return [{**row, "deal_id": deal_id, "lead_id": contact, "email": "", "role_id": f"OCR-{number:04d}"}
            for number, ((deal_id, contact), row) in enumerate(pairs.items(), start=1)]


# --- checks: every mapped file reads back as the sample ----------------------------------------

# Sample values a vendor has no place for (in no mart): a campaign member's asset is its
# campaign (Campaign.Name).
_NOT_KEPT = {"asset_name"}
_SAME = {"industry": _lowered, "stage": _canonical, "event_type": _canonical, "email": _normalized_email}


def check_round_trip(exporter: Exporter, story: Story) -> None:
    """Read every mapped file back the way its preset says (values map, formats, split) and
    compare with the sample rows it was written from, as Baton compares values (CONTRACT.md s7)."""
    for written in exporter.written:
        if written.preset is None:
            continue
        preset = exporter.presets[written.preset]
        with open(exporter.out / written.relative, newline="", encoding="utf-8") as handle:
            exported = list(csv.DictReader(handle))
        for got, want in zip(exported, written.sample_rows, strict=True):
            for column, header in preset.columns.items():
                if column in preset.split:
                    parts = [p.strip() for p in got[header].split(preset.split[column]) if p.strip()]
                    read, wanted = list(dict.fromkeys(parts)), story.deal_contact_ids.get(want["deal_id"].strip())
                elif column not in want or column in _NOT_KEPT:
                    continue
                elif column in preset.formats:
                    read = preset.read_time(column, got[header]) if got[header].strip() else None
                    wanted = _time(want[column])
                else:
                    same = _SAME.get(column, _trimmed)
                    value = preset.read_value(column, got[header])
                    read, wanted = (None if value is None else same(value)), (same(want[column]) or None)
                if read != wanted:
                    raise ValueError(f"{written.relative}: {column} reads back as {read!r}, not {wanted!r}")


# --- the whole thing ---------------------------------------------------------------------------


def generate(out: Path = DEFAULT_OUT, seeds: Path = SAMPLE_LANDING_DIR) -> list[Exporter]:
    """Write `out/hubspot/`, `out/salesforce/` (replaced whole) and `out/README.md`."""
    presets = load_presets()
    story = Story(read_sample(seeds))
    exporters = []
    for vendor, export in (("hubspot", export_hubspot), ("salesforce", export_salesforce)):
        exporter = Exporter(vendor, out, presets)
        if exporter.out.exists():
            shutil.rmtree(exporter.out)
        exporter.out.mkdir(parents=True)
        export(story, exporter)
        check_round_trip(exporter, story)
        exporters.append(exporter)
    (out / "README.md").write_text(readme(exporters), encoding="utf-8")
    return exporters


def manifest(exporters: list[Exporter]) -> dict[str, dict[str, str | None]]:
    """{vendor: {file in its landing folder: preset, or None when contract-shaped}}."""
    return {e.vendor: {w.relative.as_posix(): w.preset for w in e.written} for e in exporters}


_VENDOR_TEXT = {
    "hubspot": (
        "HubSpot CRM exports (CRM > Contacts / Companies / Deals > Export, CSV): property labels as "
        "headers, option labels as values (`Paid Search`, `Computer Software`, `Closed Won`), "
        "date-times as `2026-03-10 09:00` (UTC here; HubSpot writes the portal's time zone). "
        "Deal contacts are the deals export's `Associated Contact IDs` column (several IDs "
        "separated by `;`): the deal_contacts folder holds the deals export again (the deals "
        "with contacts), read through `hubspot-deal-contacts`, which splits that column."
    ),
    "salesforce": (
        "Salesforce Data Loader exports (CSV, every value quoted): API field names as headers, "
        "date-times as `2026-03-10T09:00:00.000Z`, dates as `2026-03-10`. People on "
        "opportunities (contact roles, an opportunity's primary contact `ContactId`) are "
        "Contacts (`leads/*_contacts.csv`), everyone else a Lead; engagement events that are "
        "campaign responses naming a lead_id are CampaignMembers (`*_campaign_members.csv`, "
        "event type from the member `Status`), the other events stay contract-shaped."
    ),
}


def readme(exporters: list[Exporter]) -> str:
    lines = [
        "# sample_exports/: the sample as CRMs export it",
        "",
        "The shipped sample landing folder (`seeds/`) written in the shapes of two CRMs' exports.",
        "Each sub-folder is a landing folder (`BATON_LANDING_DIR`) that Baton reads through its",
        "built-in import mappings (`orchestration/baton/lib/extract/presets/*.yml`, CONTRACT.md s8)",
        "into exactly the marts of `seeds/`, value for value (tests/test_crm_exports.py).",
        "",
        "Generated, do not edit: `.venv/bin/python -m baton.dev.exports` (writes this folder;",
        "`--out DIR` elsewhere) from `seeds/` and the presets' own value maps; deterministic.",
        "",
        "Where the sample says more than a real export would, the sample wins (so the marts stay",
        "identical): times keep their seconds (HubSpot writes minutes); a closed deal's close",
        "date keeps its time of day (Salesforce's CloseDate is a date); an open opportunity has",
        "no CloseDate (Salesforce requires one: the expected date); campaigns of leads and",
        "originating contacts of deals are in custom fields (`First Touch Converting Campaign`,",
        "`Originating Contact ID`, `Primary_Campaign__c`: see the presets' comments); the record",
        "IDs are the sample's (`L-0001`, `D-101`), not the vendors' formats.",
        "",
    ]
    for exporter in exporters:
        lines += [f"## {exporter.vendor}/", "", _VENDOR_TEXT[exporter.vendor], "",
                  "| file | rows | read through | from |", "|---|---:|---|---|"]
        for w in exporter.written:
            through = (f"`{w.preset}`" if w.preset else
                       "contract-shaped (the rows not mapped)" if w.subset else "contract-shaped (copied)")
            lines.append(f"| `{w.relative.as_posix()}` | {w.rows} | {through} | `seeds/{w.source.as_posix()}` |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m baton.dev.exports", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write hubspot/, salesforce/ and README.md into")
    parser.add_argument("--seeds", type=Path, default=SAMPLE_LANDING_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for exporter in generate(args.out, args.seeds):
        print(f"{exporter.out}: {len(exporter.written)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

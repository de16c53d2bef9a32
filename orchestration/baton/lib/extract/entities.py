"""The landing entities of the data contract (CONTRACT.md section 2).

Each entity lists its columns with the type every value must parse as. The
extract step is the only place that parses raw text into types: a value that
does not parse sends its row to quarantine, so everything downstream (dbt) can
rely on typed, trimmed columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# The event types and the closed stages are written once, in dbt_project.yml (vars).
from baton.lib.vocabularies import CLOSED_STAGES, EVENT_TYPES

__all__ = ["CLOSED_STAGES", "ENTITIES", "EVENT_TYPES", "Column", "Entity", "Kind"]


class Kind(str, Enum):
    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    TIMESTAMP = "timestamp"  # ISO 8601; no offset means UTC; stored as UTC
    DATE = "date"
    EVENT_TYPE = "event_type"  # canonical label, one of EVENT_TYPES
    STAGE = "stage"  # canonical label (`Closed Won` -> `closed_won`)
    # A whole number, or a range `A-B` / `A+` (CONTRACT s8): stored as three raw columns, the
    # number (NULL for a range) and the interval `<name>_min` / `<name>_max` (max NULL: no bound).
    HEADCOUNT = "headcount"

    @property
    def sql_type(self) -> str:
        return _SQL_TYPES.get(self, "VARCHAR")

    def raw_columns(self, name: str) -> tuple[tuple[str, str], ...]:
        """The raw table's (column, SQL type) pairs that hold a contract column of this kind."""
        if self is Kind.HEADCOUNT:
            return ((name, "BIGINT"), (f"{name}_min", "BIGINT"), (f"{name}_max", "BIGINT"))
        return ((name, self.sql_type),)


_SQL_TYPES = {Kind.INTEGER: "BIGINT", Kind.NUMBER: "DOUBLE", Kind.TIMESTAMP: "TIMESTAMP", Kind.DATE: "DATE"}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    required: bool = False


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[Column, ...]
    # What identifies a record: one part per tuple, each part the first
    # present of its columns (deal contacts: deal_id + lead_id, else email).
    # Rows sharing a key replace each other: the last one wins.
    key: tuple[tuple[str, ...], ...]
    optional: bool = False
    # At least one of these must be present in a row (e.g. lead_id or email).
    one_of: tuple[str, ...] = ()
    # Records never change once loaded (events): a row whose key was loaded from an earlier file
    # is a duplicate and goes to quarantine; the first loaded version counts. Within one file the
    # last row of a key still wins (the earlier rows are superseded).
    immutable: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def raw_columns(self) -> tuple[tuple[str, str], ...]:
        """(column, SQL type) of the raw table's typed columns, in order."""
        return tuple(pair for c in self.columns for pair in c.kind.raw_columns(c.name))

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


def _cols(spec: str) -> tuple[Column, ...]:
    """`*name:kind` -> Column; `*` marks a required column, kind defaults to text."""
    columns = []
    for item in spec.split():
        required = item.startswith("*")
        name, _, kind = item.lstrip("*").partition(":")
        columns.append(Column(name, Kind[kind.upper()] if kind else Kind.TEXT, required))
    return tuple(columns)


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "leads",
            _cols(
                "*lead_id email first_name last_name job_title company_name company_domain "
                "employee_count:headcount industry country *lead_source campaign_id *created_at:timestamp"
            ),
            key=(("lead_id",),),
        ),
        Entity(
            "engagement_events",
            _cols(
                "*event_id lead_id email *event_type:event_type campaign_id asset_name "
                "*occurred_at:timestamp"
            ),
            key=(("event_id",),),
            one_of=("lead_id", "email"),
            immutable=True,
        ),
        Entity(
            "accounts",
            _cols("*account_id account_name *domain employee_count:headcount industry country"),
            key=(("account_id",),),
        ),
        Entity(
            "deals",
            _cols(
                "*deal_id account_id deal_name *created_at:timestamp closed_at:timestamp "
                "*stage:stage *amount:number originating_lead_id"
            ),
            key=(("deal_id",),),
        ),
        Entity(
            "deal_contacts",
            _cols("*deal_id lead_id email role"),
            key=(("deal_id",), ("lead_id", "email")),
            one_of=("lead_id", "email"),
        ),
        Entity(
            "campaigns",
            _cols("*campaign_id campaign_name channel cost:number start_date:date end_date:date"),
            key=(("campaign_id",),),
            optional=True,
        ),
        Entity(
            "target_accounts",
            _cols("account_id domain tier added_at:timestamp"),
            key=(("account_id", "domain"),),
            optional=True,
            one_of=("account_id", "domain"),
        ),
    )
}

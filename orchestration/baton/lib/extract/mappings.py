"""Import mappings: CRM exports read as they are (CONTRACT.md section 8).

A mapping is a YAML file saying how an export's header and values become an
entity's contract columns:

    name: hubspot-contacts            # unique; recorded in the load ledger
    entity: leads
    detect: [Record ID, Create Date]  # the header holds all of these (case-insensitive)
    columns: {lead_id: Record ID, created_at: Create Date, ...}
    values: {lead_source: {Organic Search: organic_search}}   # unlisted values pass unchanged
    formats: {created_at: ["%Y-%m-%d %H:%M"]}                 # strptime formats, tried in order
    timezone: America/New_York                                 # of timestamps without an offset
    constants: {lead_source: hubspot}                          # a value the export lacks
    split: {lead_id: ";"}                                      # Baton's own: one record per listed value

Mappings come from three places, tried in this order: the user's `*.yml`
files in `<landing>/_mappings/`, then those of the folder `BATON_MAPPINGS`
names, then Baton's presets (`presets/` beside this module). A user mapping
named like a preset replaces it (the way to adjust a preset's time zone or
values: copy it, change it, keep its name). A file uses the first mapping of
its entity whose `detect` columns are all in its header; a header no mapping
detects is read as contract-shaped (loader.py).

Every mapping file is validated before anything is written, with file, line
and key (`load_mappings` raises MappingError), by the same located-YAML reader
as the rules file. The model is strict: an unknown key, a contract column the
entity does not have, a format for a column that is not a date/time, an
unknown time zone, a format DuckDB or Python cannot read, a column given both
an export column and a constant, a values map whose keys differ only in case
but not in their target, two user mappings with one name: all stop the run.

How the mapping is applied (typing, quarantine, row numbers) lives in the
loader: a mapped file goes through the very same SQL as a contract-shaped one.
"""

from __future__ import annotations

import hashlib
import time
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import duckdb
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from baton.lib.extract.entities import ENTITIES, Kind
from baton.lib.located_yaml import TOP_LEVEL, LocatedError, Scalar, as_written, problem, read_document, text

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
USER_FOLDER = "_mappings"  # inside the landing folder
_SUFFIXES = (".yml", ".yaml")
_TIME_KINDS = (Kind.TIMESTAMP, Kind.DATE)


class MappingError(LocatedError):
    """A mapping file that cannot be used, with where the problem is (file, line, key)."""

    label = "mapping file"


def _value_or_null(value: Any) -> Any:
    """A values-map target: its text as written (`yes`, `1` stay text); `~` or nothing is null."""
    if isinstance(value, Scalar) and value.value is None:
        return None
    return as_written(value)


def _formats(value: Any) -> Any:
    """One format or a list of formats."""
    if isinstance(value, Scalar):
        return [value]
    return value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), BeforeValidator(text)]
# Export column names and values are taken as written: `2024`, `Yes` and `1.0` are names, not numbers.
Written = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), BeforeValidator(as_written)]
Target = Annotated[str | None, BeforeValidator(_value_or_null)]
Formats = Annotated[tuple[Written, ...], Field(min_length=1), BeforeValidator(_formats)]
Separator = Annotated[str, StringConstraints(min_length=1), BeforeValidator(as_written)]


class Mapping(BaseModel):
    """One mapping file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: Name
    """Unique name, recorded in the load ledger of every file read through it."""
    entity: Name
    """The entity (CONTRACT s2) whose folder's files this mapping reads."""
    detect: Annotated[tuple[Written, ...], Field(min_length=1)]
    """The mapping is used for a file whose header holds all of these (trimmed, case-insensitive)."""
    columns: dict[str, Written] = {}
    """Contract column: the export column holding it (trimmed, case-insensitive)."""
    values: dict[str, dict[str, Target]] = {}
    """Per contract column, export value: contract value (`~`: null). Unlisted values pass unchanged."""
    formats: dict[str, Formats] = {}
    """Per date/time contract column, strptime formats tried in order (instead of ISO 8601)."""
    timezone: Name | None = None
    """Zone of the timestamps written without an offset (default UTC)."""
    constants: dict[str, Written] = {}
    """A value for a contract column the export lacks."""
    split: dict[str, Separator] = {}
    """Baton's own: the column holds several values joined by this text; each gives one record."""

    # Where the mapping was read from (a file, or `preset:<name>`): not a key of the file.
    source: str = Field(default="", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _no_source_key(cls, data: Any) -> Any:
        if isinstance(data, dict) and "source" in data:
            raise problem("unknown key", at="source")
        return data

    @model_validator(mode="after")
    def _names_contract_columns(self) -> Mapping:
        entity = ENTITIES.get(self.entity)
        if entity is None:
            raise problem(f"unknown entity {self.entity!r} (one of: {', '.join(ENTITIES)})", at="entity")
        kinds = {c.name: c.kind for c in entity.columns}
        for key in ("columns", "values", "formats", "constants", "split"):
            for column in getattr(self, key):
                if column not in kinds:
                    raise problem(
                        f"not a column of {self.entity} (one of: {', '.join(kinds)})", at=(key, column)
                    )
        for column in self.constants:
            if column in self.columns:
                raise problem("given both an export column (in columns) and a constant", at=("constants", column))
        for column in self.split:
            if column in self.constants:
                raise problem("a constant cannot be split", at=("split", column))
        for column, formats in self.formats.items():
            if kinds[column] not in _TIME_KINDS:
                raise problem("formats are for date/time columns only", at=("formats", column))
            for index, fmt in enumerate(formats):
                reason = _format_problem(fmt)
                if reason:
                    raise problem(reason, at=("formats", column, index))
        for column, table in self.values.items():
            seen: dict[str, tuple[str, str | None]] = {}
            for key, target in table.items():
                folded = key.strip().lower()
                if folded in seen and seen[folded][1] != target:
                    raise problem(
                        f"{seen[folded][0]!r} and {key!r} differ only in case but map to different values",
                        at=("values", column, key),
                    )
                seen[folded] = (key, target)
        if self.timezone is not None:
            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise problem(f"unknown time zone {self.timezone!r} (an IANA name such as Europe/Paris)", at="timezone") from None
        return self

    # -- what the loader asks -----------------------------------------------------------

    def detects(self, header: Iterable[str]) -> bool:
        names = {_fold(name) for name in header}
        return all(_fold(column) in names for column in self.detect)

    def value_map(self, column: str) -> tuple[list[str], list[str | None], list[str], list[str | None]]:
        """(exact keys, their targets, lower-cased keys, their targets) of a column's values map:
        keys as they are after trimming, which is how values are compared."""
        table = self.values.get(column, {})
        exact = {key.strip(): target for key, target in table.items()}
        folded = {key.strip().lower(): target for key, target in table.items()}
        return list(exact), list(exact.values()), list(folded), list(folded.values())

    @property
    def origin(self) -> str:
        return "preset" if self.source.startswith("preset:") else self.source


def _fold(name: str) -> str:
    return name.strip().lower()


def _format_problem(fmt: str) -> str | None:
    """Why a strptime format cannot be used (by Python, whose format the contract names, and by
    DuckDB, which applies it), or None."""
    if "%" not in fmt:
        return f"{fmt!r} has no % directive, so it cannot read a date"
    try:
        time.strptime("", fmt)
    except ValueError as error:
        if "bad directive" in str(error) or "stray %" in str(error):
            return f"not a Python strptime format: {error}"
    try:
        duckdb.execute("SELECT try_strptime('', ?)", [fmt])
    except duckdb.Error as error:
        return f"not a format DuckDB can read: {str(error).splitlines()[0]}"
    return None


@dataclass(frozen=True)
class Mappings:
    """Every mapping in force, in the order they are tried."""

    items: tuple[Mapping, ...]
    # fingerprint() is asked for every file of a folder: computed once per entity
    _fingerprints: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def for_entity(self, entity: str) -> tuple[Mapping, ...]:
        return tuple(m for m in self.items if m.entity == entity)

    def detect(self, entity: str, header: Iterable[str]) -> Mapping | None:
        names = list(header)
        return next((m for m in self.for_entity(entity) if m.detects(names)), None)

    @property
    def user(self) -> tuple[Mapping, ...]:
        return tuple(m for m in self.items if m.origin != "preset")

    def summary(self) -> str:
        """One line for a run's header: the user's mappings by name, and how many presets."""
        presets = len(self.items) - len(self.user)
        mine = ", ".join(f"{m.name} ({m.source})" for m in self.user) or "none of the user's"
        return f"{mine}; {presets} built-in preset(s) (`baton mappings` lists them)"

    def fingerprint(self, entity: str) -> str:
        """Changes when a mapping of the entity changes: a file that failed for want of a mapping
        is read again once the mappings differ."""
        if entity not in self._fingerprints:
            digest = hashlib.sha256()
            for mapping in self.for_entity(entity):
                digest.update(mapping.model_dump_json().encode())
            self._fingerprints[entity] = digest.hexdigest()[:16]
        return self._fingerprints[entity]


def mapping_files(landing_dir: Path | None, extra_dir: Path | None) -> list[Path]:
    """The user's mapping files, in the order they are tried."""
    files: list[Path] = []
    if extra_dir is not None and not extra_dir.exists():
        raise MappingError(str(extra_dir), "the mappings folder does not exist (BATON_MAPPINGS / --mappings)")
    for folder in (landing_dir / USER_FOLDER if landing_dir else None, extra_dir):
        if folder is None:
            continue
        if folder.is_file() and folder == extra_dir:  # BATON_MAPPINGS may name one file
            files.append(folder)
        elif folder.is_dir():
            try:
                files += sorted(
                    p for p in folder.iterdir()
                    if p.suffix.lower() in _SUFFIXES and not p.name.startswith(".") and not p.is_dir()
                )
            except OSError as error:
                raise MappingError(str(folder), f"cannot read the mappings folder: {error.strerror or error}") from None
    return files


def preset_files() -> list[Path]:
    return sorted(p for p in PRESETS_DIR.glob("*.yml"))


def read_mapping(path: Path, source: str | None = None) -> Mapping:
    """Read and check one mapping file; MappingError names the file, line and key."""
    document = read_document(path, MappingError, keys_as_written=True)
    if document is None:
        raise MappingError(str(path), "the file is empty; it must be a mapping of keys to values", 1, TOP_LEVEL)
    if not isinstance(document.data, dict):
        raise MappingError(str(path), "must be a mapping of keys to values", document.root_line, TOP_LEVEL)
    try:
        mapping = Mapping.model_validate(document.data)
    except ValidationError as error:
        raise document.located(error) from None
    return mapping.model_copy(update={"source": source or str(path)})


def load_mappings(landing_dir: Path | None = None, extra_dir: Path | None = None) -> Mappings:
    """The user's mappings (landing `_mappings/`, then `extra_dir`), then the presets they do not
    replace. Raises MappingError on the first bad file, or on two user mappings of one name."""
    user: list[Mapping] = []
    names: dict[str, Mapping] = {}
    for path in mapping_files(landing_dir, extra_dir):
        mapping = read_mapping(path)
        if mapping.name in names:
            document = read_document(path, MappingError, keys_as_written=True)
            line = document.line_of(("name",)) if document else None
            raise MappingError(
                str(path), f"the name {mapping.name!r} is already used by {names[mapping.name].source}", line, "name"
            )
        names[mapping.name] = mapping
        user.append(mapping)
    presets = [read_mapping(path, f"preset:{path.stem}") for path in preset_files()]
    return Mappings((*user, *(p for p in presets if p.name not in names)))




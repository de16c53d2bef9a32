"""docs/inputs.md, the input format, generated from the code that defines it.

Every table of columns in that page is rendered here from the definitions the
loader itself uses, so the page cannot drift from what Baton reads:

- the entities and their columns, kinds, keys (`extract/entities.py`);
- the event types and stages (`vocabularies.py`, i.e. `dbt_project.yml`);
- the fields of a mapping file: the pydantic `Mapping` model, its fields'
  types and attribute docstrings (`extract/mappings.py`);
- the built-in presets: every file `preset_files()` finds, read with
  `read_mapping` (the vendor documentation they cite is taken from the
  leading `#` comment lines that hold a URL).

The prose between the tables is written here, as text constants. The output is
deterministic (no dates, presets sorted by name, paths relative to the
repository), so a test can compare the committed page with `render()`.

    python -m baton.dev.inputs_doc           # (re)write docs/inputs.md
    python -m baton.dev.inputs_doc --check   # exit 1 when docs/inputs.md is stale
"""

from __future__ import annotations

import argparse
import re
import sys
import types
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import MinLen
from pydantic.fields import FieldInfo

from baton.lib.extract.entities import ENTITIES, Entity, Kind
from baton.lib.extract.mappings import USER_FOLDER, Mapping, preset_files, read_mapping
from baton.lib.settings import REPO_ROOT
from baton.lib.vocabularies import EVENT_TYPES, LOST_STAGE, WON_STAGE

OUTPUT = REPO_ROOT / "docs" / "inputs.md"
COMMAND = "python -m baton.dev.inputs_doc"
EXAMPLES = 3  # values-map entries shown per column of a preset

# How Baton parses each kind of column, in an analyst's words.
KIND_WORDS = {
    Kind.TEXT: "text",
    Kind.INTEGER: "whole number",
    Kind.NUMBER: "number",
    Kind.TIMESTAMP: "ISO 8601 timestamp",
    Kind.DATE: "ISO 8601 date",
    Kind.EVENT_TYPE: "event type",
    Kind.STAGE: "stage",
    Kind.HEADCOUNT: "employee count: whole number or range",
}

# What the type words promise, once each (the "Values" section).
KIND_NOTES = {
    Kind.TEXT: "as written, trimmed",
    Kind.INTEGER: "digits with an optional sign (`1200`; `1200.0` is read as 1200)",
    Kind.NUMBER: "digits with an optional sign, decimal point and exponent (`1200`, `1200.50`, `1.2e3`)",
    Kind.TIMESTAMP: "`2025-03-01`, `2025-03-01 14:05`, `2025-03-01T14:05:09.123Z`, `2025-03-01 14:05+02:00`",
    Kind.DATE: "`2025-03-01`",
    Kind.EVENT_TYPE: "one of the event types listed above (Event types and stages)",
    Kind.STAGE: "any text; `closed_won` and `closed_lost` close the deal (Event types and stages)",
    Kind.HEADCOUNT: "`1200`, or a range `51-200`, `1,001-5,000`, `10,001+` (see Employee counts)",
}

# The words of a "not a valid ..." quarantine reason (loader.py), by kind.
EXPECTED = {
    "whole number": (Kind.INTEGER,),
    "number": (Kind.NUMBER,),
    "whole number or range": (Kind.HEADCOUNT,),
    "ISO 8601 date/time": (Kind.TIMESTAMP, Kind.DATE),
}

# A remark on a mapping field that its type and docstring do not carry (checked against the model).
FIELD_NOTES = {
    "formats": "A single format may be written without the list brackets.",
    "timezone": "An IANA name, such as `America/New_York` or `Europe/Paris`.",
}

INTRO = f"""\
# Input format: the landing folder

What Baton reads, column by column: the folder layout, each entity's columns
and how their values are parsed, what happens to every file and to every bad
row, and the import mappings that read CRM exports as they are, with the
built-in presets. The binding definition is `CONTRACT.md` (sections 2, 7 and
8); [decisions.md](decisions.md) records Baton's readings where it is silent.

This page is generated from the code that reads the files (the entities, the
vocabularies, the mapping model and the presets): do not edit it by hand. After
changing any of them, run `{COMMAND}` (a test fails while the page is stale).
"""

LAYOUT = f"""\
## The landing folder

One sub-folder per entity, holding any number of export files, one file per
export drop; or a single file `<entity>.csv` at the top of the folder. Your
own import mappings go in `{USER_FOLDER}/`.

```
{{tree}}
```

- **Formats**: `.csv` (UTF-8, comma-separated, double quotes, a header row;
  the dialect is fixed, not guessed), `.jsonl` (one JSON object per line, its
  keys the column names) and `.parquet`. Each may be compressed: `.gz` or
  `.zst` after the format (`leads_0601.csv.gz`, `events.jsonl.zst`); a
  compressed file loads exactly like its plain form.
- **Order**: an entity's files load in sorted file-name order, the single
  `<entity>.csv` (also `.csv.gz`, `.csv.zst`) first. A record sent again in a
  later file replaces the earlier version; within one file the last row wins.
- **Column names** match trimmed and case-insensitively. Columns Baton does
  not know are kept with each loaded row (`_raw_row` of `raw.<entity>`) and
  ignored downstream.
- **Not read**: anything else in an entity folder (a hidden file such as
  `.DS_Store`, a sub-folder, `.txt`, `.xlsx`, `.zip`, a `.gz` whose name does
  not say the format inside) is recorded `ignored` with the reason. At the top
  of the landing folder, names starting with `.` or `_` (such as
  `{USER_FOLDER}/`) and README files are left alone; any other name that is
  no entity's (a typo such as `lead/`) is named by `baton run` before it
  starts.
- **Links** are followed inside the landing folder only: a link leading
  outside it, a link loop or a link to nothing fails that entry alone.
"""

FILES = """\
## What happens to each file

Every file is loaded in one transaction: its good rows go to `raw.<entity>`,
its bad rows to `audit.quarantine`, and one row to `audit.load_ledger` with
the file's status. A file already loaded (same content) is never loaded
twice. The statuses:

- `loaded`: new content, read and committed; for every file,
  **rows read = rows loaded + rows quarantined**.
- `duplicate`: the same content was loaded before, under any name; nothing
  is loaded again.
- `failed`: the file itself cannot be used (not UTF-8, 0 bytes, not Parquet,
  a broken `.gz` / `.zst`, a required column missing from the header, a
  contract column named twice, a link leading outside the folder...): it
  loads nothing, the other files still load, and it is reported again every
  run until it is fixed, removed or skipped; `baton run` exits 3.
- `error`: the load could not be done now for a reason that is not the
  file's (out of memory, a full disk, an I/O error, a lock, an interruption):
  rolled back, and the next run tries again.
- `deferred`: the file may still be being written (modified less than
  `BATON_SETTLE_SECONDS` ago, or changed while it was read): the next run
  tries again.
- `ignored`: not a data file (see above): never read, reported every run.
- `skipped`: a failed file acknowledged with `baton skip FILE` (who and
  when): that version is no longer reported; a new version still loads.

```sql
SELECT file_name, entity, status, mapping, rows_read, rows_loaded, rows_quarantined, reason
FROM audit.load_ledger ORDER BY file_id;
```
"""

VALUES = """\
## Values

- **Blank is null.** Every value is trimmed of white space (spaces, tabs,
  line breaks, non-breaking spaces); an empty or white-space-only value is
  null, in every column.
- **Numbers are never guessed**: `1,200`, `12.5k`, `$1,000`, `n/a` and
  `1e400` are not numbers; the row is quarantined.
- **Timestamps** are ISO 8601: a date, optionally a time (`T` or a space
  before it, seconds and fractions optional), optionally an offset (`Z`,
  `+02`, `+0200`, `+02:00`; hours 00-23, minutes 00-59). A timestamp with an
  offset is converted to UTC; one without an offset is UTC, unless the
  mapping that reads the file names a `timezone`. All timestamps are stored
  in UTC. `2025-02-30`, month 13, hour 25 or an offset such as `+25:00` are
  quarantined, never shifted.
- **Event types and stages** are compared after trimming and lower-casing,
  with spaces and hyphens read as underscores (`Closed Won`, `closed-won` and
  `closed_won` are one stage).

| type | what parses |
|---|---|
{kinds}

### Employee counts

`employee_count` (of leads and of accounts) is a whole number or a range, in
any file, mapped or not: `A-B` or `A+`, whole numbers that may carry `,`
thousands separators inside a range (`51-200`, `1,001-5,000`, `10,001+`;
spaces around `-` are allowed; A must not exceed B). A plain number keeps the
rules of a number: `1,200` alone is still quarantined.

A range is the interval [A, B] (or [A, no upper bound] for `A+`). The
company-size rule **passes** when the whole interval lies inside its bounds,
**fails** when the whole interval lies outside them, and is **unknown** when
the interval straddles a bound (reason token `company_size:unknown`, as for a
missing value). For example, with bounds "more than 50, at most 10,000":
`51-200` passes, `11-50` fails, `10,001+` fails, `11-100` and
`5,001-20,000` are unknown.

In `marts.fct_leads`, `employee_count` is the number when one was given and
NULL for a range; `employee_count_min` and `employee_count_max` hold the
interval (equal for a plain number, `employee_count_max` NULL for `A+`, both
NULL when unknown). The account's value still wins over the lead's, a range
included.
"""

QUARANTINE = """\
## Bad rows: the quarantine

A row that breaks the contract is never silently dropped: it goes to
`audit.quarantine` with its entity, source file, row number, the whole raw
row and a readable reason, and the good rows of the same file still load.
A row with several problems gets every reason, joined by `; `.

**Row numbers**: in CSV, row N is the N-th record after the header (blank
lines are not rows; a quoted value spanning several lines is one row); in
JSON lines, line N of the file; in Parquet, the N-th row.

The reasons, by shape (`<column>` is the contract column; for a file read
through a mapping it also names where the value came from:
`created_at (export column Create Date)`, `lead_source (constant of mapping
my-crm)`):

{reasons}

Rows that cannot even be split into fields are quarantined too: `too few
fields (3 of 5): no value for ...`, `too many fields (6, the header has 5):
extra value after the last column, ...`, `<column>: unterminated quote, or
text after a closing quote`; in JSON lines `line is not valid JSON`, `line is
JSON but not an object (array)`, `the object repeats a key: ...`, and
`<column>: given more than once (keys Email, email)` when two keys of one
line name the same column.

```sql
SELECT entity, source_file, row_number, reason, raw_row FROM audit.quarantine;
```
"""

ENTITIES_INTRO = """\
## Entities

The type column says how Baton parses each value (see Values). Required
columns must have a value in every row, else the row is quarantined; a file
whose header lacks a required column fails as a whole (unless a mapping
gives it). The key identifies a record: a record whose key was loaded before
replaces the earlier version, unless the entity's records are immutable.
"""

VOCABULARIES = """\
## Event types and stages

Read from `dbt_project/dbt_project.yml` (`vars:`), the one place they are
written. Values are compared after trimming and lower-casing, with spaces and
hyphens read as underscores (`Webinar Registration` is
`webinar_registration`). An event type not listed here is quarantined
(`event_type: unknown event type: <value>`), never dropped.

{event_types}

{stages}

`amount` is the deal's annual recurring revenue (ARR), in one currency.
"""

MAPPINGS = """\
## Import mappings

A landing file whose header is not the contract's is read through a
**mapping**: a YAML file saying which export column holds each contract
column of one entity, how values translate, and how dates are written.

```yaml
name: my-crm-contacts             # unique name, recorded in the load ledger
entity: leads                     # the entity folder whose files it reads
detect: [Record ID, Create Date]  # the header holds all of these (case-insensitive)
columns:                          # contract column: export column (case-insensitive)
  lead_id: Record ID
  email: Email
  created_at: Create Date
  lead_source: Original Source
values:                           # per contract column; unlisted values pass unchanged
  lead_source: {Organic Search: organic_search, Paid Search: paid_search, Unknown: ~}
formats:                          # per date/timestamp column, tried in order
  created_at: ["%Y-%m-%d %H:%M", "%m/%d/%Y %I:%M %p"]
timezone: America/New_York        # zone of timestamps written without an offset
constants:                        # a value for a contract column the export lacks
  country: US
```
"""

MAPPING_RULES = f"""\
### How a mapping is chosen

1. **Where mappings come from**, in the order they are tried: your `*.yml` /
   `*.yaml` files in `<landing>/{USER_FOLDER}/` (sorted by file name), then
   those of the folder (or single file) named by `BATON_MAPPINGS` (`baton run
   --mappings FOLDER`), then Baton's built-in presets (below).
2. **A mapping of yours named like a preset replaces it.** To change a
   preset's time zone or values, copy its file into `{USER_FOLDER}/`, edit it
   and keep its `name`. Two of your mappings with one name stop the run.
3. **A file uses the first mapping of its folder's entity whose `detect`
   columns are all in its header** (trimmed, case-insensitive). A
   contract-shaped header needs no mapping.
4. **Through a mapping**, each contract column listed under `columns` comes
   from that export column (null when the header lacks it), a column under
   `constants` has that value in every row, and every other contract column
   is read from an export column of its own name, if there is one. Export
   columns that feed no contract column are kept in `_raw_row`.
5. **No mapping matches and a required column is missing**: the file is
   `failed`, and the reason lists the missing columns and every mapping
   tried, e.g. `leads_0601.csv: missing required column(s) lead_source,
   created_at (header has: ...); no mapping matched the header, tried:
   my-crm-contacts (detect: Record ID, Create Date)`. A file read through a
   mapping that gives no value for a required column fails the same way
   (`read through mapping my-crm-contacts, but no value for the required
   column(s) created_at (Create Date) ...`).
6. **A bad mapping file stops the run before anything is written** (exit 2),
   naming the file, the line and the key, e.g. `mapping file
   /data/landing/{USER_FOLDER}/my-crm.yml, line 14: formats.created_at[0]: not
   a Python strptime format: 'Q' is a bad directive in format '%Q'`. Checked:
   an unknown key or entity, a contract column the entity does not have, a
   format for a column that is not a date or timestamp, a format Python or
   DuckDB cannot read, an unknown time zone, a column given both an export
   column and a constant, values-map keys that differ only in case but map to
   different values, a split constant, two mappings of yours with one name.
7. **The ledger** records the mapping a file was read through in
   `audit.load_ledger.mapping` (null for a contract-shaped file).
8. **A failed file is read again when its entity's mappings change** (one is
   added, edited or removed): add the missing mapping and the next run loads
   the export that failed, without `baton skip`.

### Values maps, formats and time zones

- **Values maps** translate an export's values into the contract's, per
  contract column. A value is compared after trimming: an exact match first,
  then a case-insensitive one. A value the map does not list passes
  unchanged; one it maps to `~` (or to nothing) becomes null, so a required
  column is then quarantined as missing. Targets are text as written (`yes`,
  `1`, `2024` stay text) and still have to parse as the column's type.
- **Formats** replace ISO 8601 for that column: each value is tried against
  the formats in order and the first that parses wins; a value none parses is
  quarantined (`created_at (export column Create Date): not a valid date/time
  in the format(s) %Y-%m-%d %H:%M or %m/%d/%Y %I:%M %p: <value>`). The syntax
  is Python's strptime (`%Y-%m-%d %H:%M`, `%d.%m.%Y`, `%m/%d/%Y %I:%M %p`), as
  DuckDB's `strptime` applies it; a format with `%z` reads an offset, and the
  time is converted to UTC.
- **timezone** is the zone of the timestamps written without an offset (by a
  format without `%z`, or in ISO 8601 without an offset); they are converted
  to UTC. Timestamps with an offset keep theirs; date columns are not
  shifted. Without `timezone`, such timestamps are UTC.
"""

SPLIT = """\
### `split`: Baton's own extension

`split` is not part of the contract's mapping format (CONTRACT section 8); it
is Baton's own, for exports that list several ids in one cell (a deal's
associated contacts, `401;1902;88`). `split: {lead_id: ";"}` makes each row
one record per value of that column: values are cut at the separator,
trimmed, blanks and repeats dropped, and sorted; a row whose cell lists
nothing stays one record with the column null. Every record is checked and
quarantined on its own, all under the row number of its row, and each counts
as a row read (rows read = rows loaded + rows quarantined still holds). A
constant cannot be split.
"""

PRESETS_INTRO = """\
## Built-in presets

Mappings shipped with Baton, for common CRM exports, tried after yours (a
mapping of yours with the same name replaces a preset). Each table lists every
contract column of the preset's entity (required ones in **bold**): the
export column it is read from, or the constant it is given; *(same name)*
means the preset does not map it, so it is read from an export column of
that very name if the file has one.
"""

CHECKING = """\
## Checking a folder

- `baton mappings` lists the mappings in force, in the order a file's header
  is tried against them (yours, then `BATON_MAPPINGS`'s, then the presets),
  with where each comes from and its `detect` columns, after validating every
  mapping file (exit 2 for a bad one).
- `baton check-landing [FOLDER]` (default: `BATON_LANDING_DIR`) loads every
  file of the folder into a throw-away in-memory database, exactly as a run
  would, and shows per file the verdict, the mapping used, which export
  columns feed which contract column and which are left unused, the first
  rows as Baton types them and the first quarantine reasons (`--rows N`).
  Nothing is written. It exits 0 when every file would load, 3 when some
  would not, 2 for a bad mapping file or folder.

```bash
baton mappings --landing /data/landing
baton check-landing /data/landing
```
"""


# --- tables ------------------------------------------------------------------------------------


def _code(text: str) -> str:
    """`text` as an inline code span, on one line."""
    text = " ".join(str(text).split("\n"))
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def _row(cells: Iterable[str]) -> str:
    """One Markdown table row; `|` inside a cell is escaped."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = [_row(header), "|" + "|".join("---" for _ in header) + "|"]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _codes(items: Iterable[str], joiner: str = ", ") -> str:
    return joiner.join(_code(item) for item in items)


def _alternatives(columns: Sequence[str]) -> str:
    return ", else ".join(_code(c) for c in columns)


# --- the landing folder --------------------------------------------------------------------------


def _tree() -> str:
    width = max(len(name) for name in ENTITIES) + 2
    lines = ["<landing>/"]
    for entity in ENTITIES.values():
        note = "(optional) " if entity.optional else ""
        lines.append(f"  {entity.name + '/':<{width}}  {note}{entity.name}_2026_06_01.csv, ...")
    lines.append(f"  {'leads.csv':<{width}}  or one file at the top, for any entity")
    lines.append(f"  {USER_FOLDER + '/':<{width}}  your import mappings (*.yml)")
    return "\n".join(lines)


# --- entities ----------------------------------------------------------------------------------


def _key_sentence(entity: Entity) -> str:
    parts = [_alternatives(alternatives) for alternatives in entity.key]
    key = " + ".join(f"({p})" if len(alt) > 1 and len(entity.key) > 1 else p for p, alt in zip(parts, entity.key))
    if entity.immutable:
        return (
            f"Key: {key}. Records are immutable: a key already loaded from an earlier file is quarantined "
            "as a duplicate, the first loaded version counts (within one file the last row still wins)."
        )
    return f"Key: {key}. A record whose key was loaded before replaces the whole earlier record."


def _key_cell(entity: Entity, column: str) -> str:
    for alternatives in entity.key:
        if column in alternatives:
            index = alternatives.index(column)
            if len(alternatives) == 1:
                return "yes"
            if index == 0:
                return f"yes (else {_alternatives(alternatives[1:])})"
            return f"yes, when {_alternatives(alternatives[:index])} is blank"
    return ""


def _column_notes(entity: Entity, column_name: str) -> str:
    column = next(c for c in entity.columns if c.name == column_name)
    notes = []
    if column_name in entity.one_of:
        notes.append(f"at least one of {_codes(entity.one_of)} per row")
    if column.kind is Kind.EVENT_TYPE:
        notes.append("one of the event types below")
    if column.kind is Kind.STAGE:
        notes.append(f"{_code(WON_STAGE)}, {_code(LOST_STAGE)}, or any other text for an open stage")
    if column.kind is Kind.HEADCOUNT:
        stored = [name for name, _ in column.kind.raw_columns(column.name)]
        notes.append(f"stored as {_codes(stored)} (the number, and the interval)")
    if column_name == "closed_at" and "stage" in entity.column_names:
        notes.append(f"required when the stage is {_code(WON_STAGE)} or {_code(LOST_STAGE)}")
    return "; ".join(notes)


def _entity_section(entity: Entity) -> str:
    where = f"Folder `<landing>/{entity.name}/`, or the file `<landing>/{entity.name}.csv`."
    lines = [f"### `{entity.name}`", ""]
    if entity.optional:
        lines += ["Optional: a landing folder without it is complete.", ""]
    lines += [where + " " + _key_sentence(entity), ""]
    rows = [
        (
            _code(c.name),
            KIND_WORDS[c.kind],
            "yes" if c.required else "",
            _key_cell(entity, c.name),
            _column_notes(entity, c.name),
        )
        for c in entity.columns
    ]
    lines.append(_table(("column", "type", "required", "key", "notes"), rows))
    return "\n".join(lines)


def _entities() -> str:
    return "\n\n".join([ENTITIES_INTRO.rstrip("\n"), *(_entity_section(e) for e in ENTITIES.values())]) + "\n"


def _kinds_table() -> str:
    used = []
    for entity in ENTITIES.values():
        for column in entity.columns:
            if column.kind not in used:
                used.append(column.kind)
    ordered = [kind for kind in Kind if kind in used]
    return "\n".join(_row((KIND_WORDS[kind], KIND_NOTES[kind])) for kind in ordered)


def _quarantine_reasons() -> str:
    """The reason shapes of loader.py, the entity-specific ones from the entities themselves."""
    lines = [
        "- `<column>: required value is missing`",
    ]
    for expected, kinds in EXPECTED.items():
        columns = sorted({c.name for e in ENTITIES.values() for c in e.columns if c.kind in kinds})
        if columns:
            line = f"- `<column>: not a valid {expected}: <value>` ({_codes(columns)})"
            if Kind.TIMESTAMP in kinds:
                line += (
                    "; `2025-02-30`, month 13, hour 25, an offset beyond +-23:59 such as `+25:00`, `+05:60`, "
                    "`+9999`. Through a mapping's `formats`: `<column>: not a valid date/time in the format(s) "
                    "<format> or <format>: <value>`"
                )
            if Kind.NUMBER in kinds or Kind.HEADCOUNT in kinds:
                line += "; `1,200`, `12.5k`, `$1,000`, `n/a` are never guessed"
            lines.append(line)
    if any(c.kind is Kind.EVENT_TYPE for e in ENTITIES.values() for c in e.columns):
        lines.append("- `event_type: unknown event type: <value>`")
    for one_of in sorted({e.one_of for e in ENTITIES.values() if e.one_of}):
        users = ", ".join(_code(e.name) for e in ENTITIES.values() if e.one_of == one_of)
        lines.append(f"- `neither {' nor '.join(one_of)} is given` ({users})")
    if any("stage" in e.column_names and "closed_at" in e.column_names for e in ENTITIES.values()):
        lines.append(f"- `closed_at: a closed deal needs closed_at` (stage {_code(WON_STAGE)} or {_code(LOST_STAGE)})")
    lines.append(
        "- `superseded by row N of the same file (same key)`: an earlier row whose key repeats later in the "
        "same file (the last row wins)"
    )
    for entity in ENTITIES.values():
        if entity.immutable:
            label = ", ".join(" / ".join(alternatives) for alternatives in entity.key)
            noun = entity.name.rsplit("_", 1)[-1]
            lines.append(
                f"- `{label}: already loaded from <file> row N; {noun} are immutable, the first loaded version "
                f"counts` ({_code(entity.name)}: a key loaded from an earlier file)"
            )
    return "\n".join(lines)


# --- vocabularies ------------------------------------------------------------------------------


def _vocabularies() -> str:
    event_types = _table(("event type",), [(_code(t),) for t in EVENT_TYPES])
    stages = _table(
        ("stage", "the deal is"),
        [(_code(WON_STAGE), "closed, won"), (_code(LOST_STAGE), "closed, lost"), ("any other text", "open")],
    )
    return VOCABULARIES.format(event_types=event_types, stages=stages)


# --- the mapping model -------------------------------------------------------------------------


def _min_length(metadata: Iterable[Any]) -> int | None:
    for item in metadata:
        if isinstance(item, MinLen):
            return item.min_length
        if isinstance(item, FieldInfo):
            found = _min_length(item.metadata)
            if found is not None:
                return found
    return None


def _type_words(annotation: Any, metadata: Iterable[Any] = ()) -> str:
    """A field's type in words: text, list of text, map: text -> text, ... (at least one)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return _type_words(base, [*metadata, *extra])
    least = _min_length(metadata)
    suffix = " (at least one)" if least == 1 else f" (at least {least})" if least else ""
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        words = " or ".join(_type_words(a) for a in options)
        return words + (" or null" if len(options) < len(get_args(annotation)) else "") + suffix
    if origin is tuple:
        return f"list of {_type_words(get_args(annotation)[0])}{suffix}"
    if origin is dict:
        key, value = get_args(annotation)
        inner = _type_words(value)
        if inner.startswith("map:"):
            inner = f"({inner})"
        return f"map: {_type_words(key)} → {inner}{suffix}"
    if annotation is str:
        return "text" + suffix
    return getattr(annotation, "__name__", str(annotation)) + suffix


def _mapping_fields() -> str:
    unknown = set(FIELD_NOTES) - set(Mapping.model_fields)
    if unknown:
        raise RuntimeError(f"FIELD_NOTES names no field of Mapping: {sorted(unknown)}")
    rows = []
    for name, field in Mapping.model_fields.items():
        if field.exclude:  # not a key of the file (where the mapping was read from)
            continue
        if not field.description:
            raise RuntimeError(f"Mapping.{name} has no docstring: the input format page needs one")
        text = field.description
        if name in FIELD_NOTES:
            text += " " + FIELD_NOTES[name]
        rows.append((_code(name), _type_words(field.annotation, field.metadata),
                     "yes" if field.is_required() else "no", text))
    return (
        "### The mapping file\n\nOne row per key of a mapping file (the `Mapping` model of "
        "`orchestration/baton/lib/extract/mappings.py`); any other key stops the run.\n\n"
        + _table(("key", "type", "required", "meaning"), rows)
        + "\n"
    )


# --- presets -----------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>()\[\]`\"']+")


def leading_comments(path: Path) -> list[str]:
    """The `#` comment lines at the top of a YAML file (blank lines among them allowed), without `#`."""
    comments = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            comments.append(stripped.lstrip("#").strip())
        elif stripped:
            break
    return comments


def _first_paragraph(comments: list[str]) -> str:
    """The comment lines up to the first blank one, as one line (a preset's own summary)."""
    paragraph: list[str] = []
    for comment in comments:
        if not comment:
            if paragraph:
                break
            continue
        paragraph.append(comment)
    return " ".join(paragraph)


def cited_urls(path: Path) -> list[str]:
    """The URLs of the leading comment lines that hold one, in order, each once."""
    urls: list[str] = []
    for comment in leading_comments(path):
        if "http" not in comment:
            continue
        for url in _URL.findall(comment):
            url = url.rstrip(".,;:")
            if url not in urls:
                urls.append(url)
    return urls


def _shown_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.name


def _target(value: str | None) -> str:
    return "null" if value is None else _code(value)


def _values_cell(mapping: Mapping, column: str) -> str:
    table = mapping.values.get(column)
    if not table:
        return ""
    # the first entry of each target, in file order: the examples show different translations
    firsts: dict[str | None, str] = {}
    for key, target in table.items():
        firsts.setdefault(target, key)
    examples = [(key, target) for target, key in firsts.items()][:EXAMPLES]
    shown = "; ".join(f"{_code(key)} → {_target(target)}" for key, target in examples)
    more = ", e.g. " if len(table) > len(examples) else ": "
    return f"{len(table)} value{'s' if len(table) != 1 else ''}{more}{shown}"


def _preset_section(path: Path, mapping: Mapping) -> str:
    entity = ENTITIES[mapping.entity]
    lines = [f"### Preset `{mapping.name}`", ""]
    summary = _first_paragraph(leading_comments(path))
    if summary and "http" not in summary:
        lines += [summary, ""]
    urls = cited_urls(path)
    facts = [
        f"- **Entity**: {_code(entity.name)} (files in `<landing>/{entity.name}/`)",
        f"- **File**: {_code(_shown_path(path))}",
        "- **Vendor documentation**: " + (", ".join(f"<{url}>" for url in urls) if urls else "none cited"),
        f"- **Detect** (the header holds all of these): {_codes(mapping.detect)}",
        "- **Time zone** of timestamps without an offset: "
        + (_code(mapping.timezone) if mapping.timezone else "UTC (default)"),
        "- **Split**: "
        + ("; ".join(f"{_code(c)} at {_code(sep)}" for c, sep in mapping.split.items()) if mapping.split else "none"),
    ]
    lines += facts + [""]
    rows = []
    for column in entity.columns:
        name = f"**{_code(column.name)}**" if column.required else _code(column.name)
        if column.name in mapping.constants:
            source = f"constant {_code(mapping.constants[column.name])}"
        elif column.name in mapping.columns:
            source = _code(mapping.columns[column.name])
        else:
            source = "*(same name)*"
        formats = _codes(mapping.formats.get(column.name, ()))
        rows.append((name, source, _values_cell(mapping, column.name), formats))
    lines.append(_table(("contract column", "export column or constant", "values map", "formats"), rows))
    return "\n".join(lines)


def presets(folder: Path | None = None) -> list[tuple[Path, Mapping]]:
    """The presets (path, mapping) sorted by name: those of `preset_files()`, or of `folder`."""
    paths = preset_files() if folder is None else sorted(folder.glob("*.yml"))
    found = [(path, read_mapping(path, f"preset:{path.stem}")) for path in paths]
    return sorted(found, key=lambda item: (item[1].name, item[0].name))


def _presets(folder: Path | None) -> str:
    found = presets(folder)
    if not found:
        return PRESETS_INTRO + "\nNo presets are shipped yet.\n"
    listing = _table(
        ("preset", "entity", "detect"),
        [(f"[{_code(m.name)}](#{_slug('preset ' + m.name)})", _code(m.entity), _codes(m.detect)) for _, m in found],
    )
    sections = [_preset_section(path, mapping) for path, mapping in found]
    return "\n\n".join([PRESETS_INTRO.rstrip("\n"), listing, *sections]) + "\n"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces to `-`."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


# --- the page ----------------------------------------------------------------------------------


def render(presets_dir: Path | None = None) -> str:
    """The whole of docs/inputs.md. `presets_dir`: read the presets from there instead of
    Baton's own presets folder (for tests)."""
    sections = [
        INTRO,
        LAYOUT.replace("{tree}", _tree()),
        _entities(),
        _vocabularies(),
        VALUES.format(kinds=_kinds_table()),
        FILES,
        QUARANTINE.format(reasons=_quarantine_reasons()),
        MAPPINGS,
        _mapping_fields(),
        MAPPING_RULES,
        SPLIT,
        _presets(presets_dir),
        CHECKING,
    ]
    headings = [line[3:] for section in sections[1:] for line in section.splitlines() if line.startswith("## ")]
    contents = "Contents: " + " · ".join(f"[{h}](#{_slug(h)})" for h in headings) + ".\n"
    text = "\n".join(section.rstrip("\n") + "\n" for section in [sections[0], contents, *sections[1:]])
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Write docs/inputs.md from the code that defines the inputs."
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is not what would be written")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"the page (default {OUTPUT})")
    parser.add_argument("--presets", type=Path, metavar="FOLDER", help="read presets from FOLDER (default Baton's own)")
    args = parser.parse_args(argv)
    text = render(args.presets)
    current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
    if args.check:
        if current != text:
            print(f"{args.output} is stale: run `{COMMAND}` to regenerate it", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    if current != text:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        print(f"{args.output} is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

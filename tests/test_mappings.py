"""Import mappings (CONTRACT.md section 8): mapping files, their validation, and
mapped files going through the same typing, quarantine and ledger as
contract-shaped ones. Every expectation is worked out by hand from the file
written in the test."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from conftest import baton_env, run_baton
from baton.lib.extract.mappings import Mapping, MappingError, Mappings, load_mappings, preset_files, read_mapping
from test_extract import assert_balanced, conn, landing, ledger, load, put, quarantine, raw  # noqa: F401

CRM = """\
name: acme-crm
entity: leads
detect: [Record ID, Create Date]
columns:
  lead_id: Record ID
  email: E-mail
  created_at: Create Date
  lead_source: Source
  employee_count: Size
values:
  lead_source: {Organic Search: organic_search, PAID SEARCH: paid_search, Junk: ~, Yes: yes_source}
formats:
  created_at: ["%m/%d/%Y %I:%M %p", "%Y-%m-%d %H:%M"]
timezone: America/New_York
"""


def mapping_file(landing: Path, name: str, text: str) -> Path:
    folder = landing / "_mappings"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def user_only(landing: Path) -> Mappings:
    """The landing folder's own mappings, without the presets (so a test's expectations do not
    depend on which presets ship)."""
    return Mappings(load_mappings(landing).user)


# --- applying a mapping ------------------------------------------------------------------------


def test_a_mapped_file_is_typed_quarantined_and_recorded_like_a_contract_shaped_one(conn, landing) -> None:
    mapping_file(landing, "crm.yml", CRM)
    put(
        landing, "leads", "export.csv",
        "Record ID,E-mail,Create Date,Source,Size,Notes\n"
        "1,a@x.com,01/05/2025 3:04 PM,Organic Search,51-200,n1\n"   # January: New York is UTC-5
        "2,b@x.com,2025-07-01 10:00,paid search,\"10,001+\",n2\n"   # July: UTC-4; case-insensitive value
        "3,c@x.com,13/45/2025 1:00 PM,webinar,\"1,200\",n3\n"       # no format parses; 1,200 is not a range
        "4,d@x.com,2025-07-01 10:00,Junk,5,n4\n"                    # Junk maps to null: required value missing
        "5,e@x.com,2025-07-01 10:00,Yes,7,n5\n",                    # `Yes` is a key as written, not a boolean
    )
    [result] = load_entity_with(conn, landing, "leads")
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_quarantined) == ("loaded", 5, 3, 2)
    rows = conn.execute(
        "SELECT lead_id, email, created_at::VARCHAR, lead_source, employee_count, employee_count_min, "
        "employee_count_max, _row_number, _raw_row::VARCHAR FROM raw.leads ORDER BY _row_number"
    ).fetchall()
    assert rows == [
        ("1", "a@x.com", "2025-01-05 20:04:00", "organic_search", None, 51, 200, 1, '{"Notes":"n1"}'),
        ("2", "b@x.com", "2025-07-01 14:00:00", "paid_search", None, 10001, None, 2, '{"Notes":"n2"}'),
        ("5", "e@x.com", "2025-07-01 14:00:00", "yes_source", 7, 7, 7, 5, '{"Notes":"n5"}'),
    ]
    assert quarantine(conn) == [
        ("export.csv", 3,
         "employee_count (export column Size): not a valid whole number or range: 1,200; "
         "created_at (export column Create Date): not a valid date/time in the format(s) "
         "%m/%d/%Y %I:%M %p or %Y-%m-%d %H:%M: 13/45/2025 1:00 PM"),
        ("export.csv", 4, "lead_source (export column Source): required value is missing"),
    ]
    assert conn.execute("SELECT mapping FROM audit.load_ledger").fetchall() == [("acme-crm",)]


def load_entity_with(conn, landing: Path, entity: str, mappings: Mappings | None = None):
    from baton.lib.extract.loader import load_entity

    return load_entity(conn, entity, landing, progress=lambda message: None, mappings=mappings or user_only(landing))


def test_constants_unlisted_columns_by_name_and_an_offset_beating_the_time_zone(conn, landing) -> None:
    mapping_file(landing, "events.yml", """\
        name: tool-events
        entity: engagement_events
        detect: [Activity Id]
        columns: {event_id: Activity Id, occurred_at: When}
        constants: {event_type: webinar_attendance}
        timezone: Europe/Paris
    """)
    put(
        landing, "engagement_events", "e.csv",
        "Activity Id,EMAIL,When\n"
        "A1,x@y.com,2026-03-01 12:00\n"           # Paris, winter: UTC+1
        "A2,y@y.com,2026-03-01T12:00:00Z\n"      # an offset is kept: already UTC
        "A3,,2026-03-01 12:00\n",                 # neither lead_id nor email
    )
    load_entity_with(conn, landing, "engagement_events")
    assert conn.execute(
        "SELECT event_id, email, event_type, occurred_at::VARCHAR FROM raw.engagement_events ORDER BY event_id"
    ).fetchall() == [
        ("A1", "x@y.com", "webinar_attendance", "2026-03-01 11:00:00"),
        ("A2", "y@y.com", "webinar_attendance", "2026-03-01 12:00:00"),
    ]
    assert quarantine(conn) == [("e.csv", 3, "neither lead_id nor email is given")]


def test_a_split_column_gives_one_record_per_listed_value_and_the_rows_balance(conn, landing) -> None:
    mapping_file(landing, "assoc.yml", """\
        name: assoc
        entity: deal_contacts
        detect: [Deal ID, Contact IDs]
        columns: {deal_id: Deal ID, lead_id: Contact IDs}
        split: {lead_id: ";"}
    """)
    put(landing, "deal_contacts", "a.csv", "Deal ID,Contact IDs\nD1,11;12; 12 ;\nD2,\nD3,13\n")
    [result] = load_entity_with(conn, landing, "deal_contacts")
    # D1 lists 11 and 12 (the repeat and the blank dropped): 2 records; D2 none: 1 record, quarantined
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 3, 1)
    assert raw(conn, "deal_contacts", "deal_id, lead_id, _row_number") == [("D1", "11", 1), ("D1", "12", 1), ("D3", "13", 3)]
    assert quarantine(conn) == [("a.csv", 2, "neither lead_id nor email is given")]


def test_a_user_mapping_comes_before_a_later_one_and_the_header_decides(conn, landing, tmp_path, monkeypatch) -> None:
    mapping_file(landing, "a.yml", "name: first\nentity: campaigns\ndetect: [Code]\ncolumns: {campaign_id: Code}\n")
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "b.yml").write_text("name: second\nentity: campaigns\ndetect: [Code, Title]\ncolumns: {campaign_id: Title}\n")
    mappings = load_mappings(landing, extra)
    assert [m.name for m in mappings.user] == ["first", "second"]
    put(landing, "campaigns", "c.csv", "Code,Title\nC-1,Spring\n")
    load_entity_with(conn, landing, "campaigns", Mappings(mappings.user))
    assert raw(conn, "campaigns", "campaign_id") == [("C-1",)]  # `first` detects the header first


def test_a_user_mapping_named_like_a_preset_replaces_it(landing) -> None:
    presets = load_mappings(None)
    if not presets.items:
        pytest.fail("no built-in preset found in orchestration/baton/lib/extract/presets/")
    preset = presets.items[0]
    mapping_file(landing, "mine.yml", f"name: {preset.name}\nentity: {preset.entity}\ndetect: [Mine]\n")
    mappings = load_mappings(landing)
    same_name = [m for m in mappings.items if m.name == preset.name]
    assert [(m.origin, m.detect) for m in same_name] == [(str(landing / "_mappings" / "mine.yml"), ("Mine",))]


def test_a_header_no_mapping_detects_fails_naming_the_missing_columns_and_the_mappings_tried(conn, landing) -> None:
    mapping_file(landing, "crm.yml", CRM)
    put(landing, "leads", "other.csv", "Id,Mail\n1,a@x.com\n")
    [result] = load_entity_with(conn, landing, "leads")
    assert result.status == "failed"
    assert result.reason == (
        "other.csv: missing required column(s) lead_id, lead_source, created_at (header has: Id, Mail); "
        "no mapping matched the header, tried: acme-crm (detect: Record ID, Create Date)"
    )


def test_a_detected_mapping_without_a_required_column_fails_the_file(conn, landing) -> None:
    mapping_file(landing, "crm.yml", CRM)
    put(landing, "leads", "x.csv", "Record ID,Create Date,E-mail\n1,2025-07-01 10:00,a@x.com\n")
    [result] = load_entity_with(conn, landing, "leads")
    assert (result.status, result.reason) == (
        "failed",
        "x.csv: read through mapping acme-crm, but no value for the required column(s) lead_source (Source) "
        "(header has: Record ID, Create Date, E-mail)",
    )


def test_a_file_that_failed_for_want_of_a_mapping_loads_once_one_is_added(conn, landing) -> None:
    put(landing, "leads", "export.csv", "Record ID,Create Date,Source\n1,2025-07-01 10:00,Organic Search\n")
    [first] = load_entity_with(conn, landing, "leads")
    assert first.status == "failed"
    [again] = load_entity_with(conn, landing, "leads")
    assert (again.status, again.repeated) == ("failed", True)
    mapping_file(landing, "crm.yml", CRM)
    [now] = load_entity_with(conn, landing, "leads")
    assert (now.status, now.rows_loaded) == ("loaded", 1)
    assert raw(conn, "leads", "lead_id, lead_source") == [("1", "organic_search")]


def test_json_lines_are_mapped_by_key(conn, landing) -> None:
    mapping_file(landing, "crm.yml", CRM)
    put(
        landing, "leads", "l.jsonl",
        '{"Record ID": "9", "Create Date": "2025-01-05 09:00", "Source": "Organic Search"}\n',
    )
    load_entity_with(conn, landing, "leads")
    assert raw(conn, "leads", "lead_id, created_at::VARCHAR, lead_source") == [("9", "2025-01-05 14:00:00", "organic_search")]


# --- employee counts as ranges (any file, mapped or not) ----------------------------------------


def test_employee_counts_may_be_ranges_and_anything_else_is_quarantined(conn, landing) -> None:
    put(
        landing, "accounts", "a.csv",
        "account_id,domain,employee_count\n"
        "A1,a.com,51-200\nA2,b.com,\"1,001-5,000\"\nA3,c.com,\"10,001+\"\nA4,d.com,250\nA5,e.com,\n"
        "A6,f.com,\"1,200\"\nA7,g.com,200-51\nA8,h.com,12.5k\nA9,i.com,51 - 200\nA10,j.com,\"1,0001-2\"\n",
    )
    load(conn, "accounts", landing)
    assert raw(conn, "accounts", "account_id, employee_count, employee_count_min, employee_count_max") == [
        ("A1", None, 51, 200),
        ("A2", None, 1001, 5000),
        ("A3", None, 10001, None),
        ("A4", 250, 250, 250),
        ("A5", None, None, None),
        ("A9", None, 51, 200),
    ]
    assert [(row, reason.split(": ")[-1]) for _, row, reason in quarantine(conn)] == [
        (6, "1,200"), (7, "200-51"), (8, "12.5k"), (10, "1,0001-2"),
    ]


# --- validating mapping files --------------------------------------------------------------------


BAD_MAPPINGS = [
    ("unknown key", CRM + "colums: {}\n", 15, "colums", "unknown key"),
    ("unknown entity", CRM.replace("entity: leads", "entity: lead"), 2, "entity", "unknown entity 'lead'"),
    ("column of another entity", CRM.replace("lead_id: Record ID", "deal_id: Record ID"), 5, "columns.deal_id", "not a column of leads"),
    ("format for a text column", CRM.replace("  created_at: [\"%m", "  email: [\"%m"), 13, "formats.email", "formats are for date/time columns only"),
    ("bad directive", CRM.replace("%I:%M %p", "%Q"), 13, "formats.created_at[0]", "not a Python strptime format"),
    ("no directive", CRM.replace('"%Y-%m-%d %H:%M"', '"yesterday"'), 13, "formats.created_at[1]", "has no % directive"),
    ("unknown zone", CRM.replace("America/New_York", "Mars/Olympus"), 14, "timezone", "unknown time zone 'Mars/Olympus'"),
    ("column and constant", CRM + "constants: {email: x@y.com}\n", 15, "constants.email", "given both an export column"),
    ("empty detect", CRM.replace("detect: [Record ID, Create Date]", "detect: []"), 3, "detect", "must list at least one value"),
    ("no detect", CRM.replace("detect: [Record ID, Create Date]\n", ""), 1, "detect", "missing required key"),
    ("duplicate key", CRM + "name: again\n", 15, "name", "duplicate key (first given on line 1)"),
    ("case clash", CRM.replace("Junk: ~", "organic search: webinar"), 11, "values.lead_source.organic search", "differ only in case"),
    ("not YAML", "name: [unclosed\n", 2, None, "not valid YAML"),
    ("a list", "- name: x\n", 1, "(top level)", "must be a mapping of keys to values"),
]


@pytest.mark.parametrize(("case", "text", "line", "key", "reason"), BAD_MAPPINGS, ids=[c[0] for c in BAD_MAPPINGS])
def test_a_bad_mapping_file_names_its_line_and_key(tmp_path: Path, case, text, line, key, reason) -> None:
    path = tmp_path / "m.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as raised:
        read_mapping(path)
    error = raised.value
    assert (error.file, error.line) == (str(path), line), str(error)
    if key is not None:
        assert error.key == key, str(error)
    assert reason in error.reason, str(error)
    assert str(error).startswith(f"mapping file {path}, line {line}")


def test_two_user_mappings_with_one_name_stop_naming_both_files(landing) -> None:
    mapping_file(landing, "a.yml", "name: same\nentity: leads\ndetect: [X]\n")
    second = mapping_file(landing, "b.yml", "entity: leads\ndetect: [Y]\nname: same\n")
    with pytest.raises(MappingError) as raised:
        load_mappings(landing)
    assert (raised.value.file, raised.value.line, raised.value.key) == (str(second), 3, "name")
    assert "a.yml" in raised.value.reason


def test_every_preset_is_a_valid_mapping_with_a_unique_name() -> None:
    files = preset_files()
    assert files, "no presets shipped"
    presets = [read_mapping(path) for path in files]
    assert [p.name for p in presets] == [path.stem for path in files]
    assert all(isinstance(p, Mapping) for p in presets)


def test_baton_run_with_a_bad_mapping_file_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    (landing / "leads").mkdir(parents=True)
    mapping_file(landing, "crm.yml", CRM.replace("America/New_York", "Mars/Olympus"))
    warehouse = tmp_path / "w" / "baton.duckdb"
    env = baton_env(tmp_path, BATON_LANDING_DIR=str(landing), BATON_DUCKDB_PATH=str(warehouse))
    done = run_baton(env)
    assert done.returncode == 2, done.stderr
    assert f"mapping file {landing / '_mappings' / 'crm.yml'}, line 14: timezone: unknown time zone" in done.stderr
    assert not warehouse.exists()
    assert not os.path.exists(tmp_path / "w")


def test_check_landing_shows_the_mapping_columns_and_typed_rows_and_writes_nothing(landing, tmp_path, monkeypatch) -> None:
    from baton.cli import main

    mapping_file(landing, "crm.yml", CRM)
    put(landing, "leads", "export.csv", "Record ID,Create Date,Source,Notes\n1,2025-01-05 09:00,Organic Search,n\n")
    put(landing, "leads", "broken.csv", "Id\n1\n")
    monkeypatch.setenv("BATON_LANDING_DIR", str(landing))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["check-landing", "--rows", "2"])
    text = out.getvalue()
    assert code == 3
    assert "leads/export.csv  [leads]  loaded: read 1, would load 1, quarantine 0" in text
    assert "mapping: acme-crm" in text
    assert "lead_id <- Record ID" in text and "created_at <- Create Date" in text
    assert "unused:  Notes" in text
    assert "2025-01-05 14:00:00" in text and "organic_search" in text
    assert "leads/broken.csv  [leads]  failed" in text
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_missing_mappings_folder_is_an_error_and_odd_entries_of_mappings_are_not_read(landing, tmp_path) -> None:
    with pytest.raises(MappingError) as raised:
        load_mappings(landing, tmp_path / "nowhere")
    assert "does not exist" in str(raised.value)
    mapping_file(landing, "README.md", "not a mapping")
    mapping_file(landing, ".hidden.yml", "not: [valid")
    (landing / "_mappings" / "folder.yml").mkdir()
    mapping_file(landing, "ok.YAML", "name: ok\nentity: leads\ndetect: [X]\n")
    assert [m.name for m in load_mappings(landing).user] == ["ok"]
    single = tmp_path / "one.yml"
    single.write_text("name: one\nentity: deals\ndetect: [Y]\n")
    assert [m.name for m in load_mappings(landing, single).user] == ["ok", "one"]


# --- end to end: a CRM Baton has no preset for, with its own formats and time zone -----------------


def export_deals_as_an_unknown_crm(seeds: Path, landing: Path) -> None:
    """seeds/ with every deals file rewritten as a made-up CRM writes it: its own column names,
    day-first local times in Europe/Berlin (DST included), `Won` / `Lost` for the closed stages. A
    value that is not a valid ISO time in the sample stays as it is (and stays bad)."""
    import duckdb
    import shutil

    shutil.copytree(seeds, landing)
    mapping_file(landing, "deals.yml", """\
        name: berlin-crm-deals
        entity: deals
        detect: [Deal No, Won/Lost time]
        columns: {deal_id: Deal No, account_id: Org No, deal_name: Title, created_at: Added,
                  closed_at: Won/Lost time, stage: Status, amount: Value, originating_lead_id: Origin person}
        values: {stage: {Won: closed_won, Lost: closed_lost}}
        formats: {created_at: ["%d.%m.%Y %H:%M:%S"], closed_at: ["%d.%m.%Y %H:%M:%S"]}
        timezone: Europe/Berlin
    """)
    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    local = (
        "CASE WHEN TRY_CAST({c} AS TIMESTAMPTZ) IS NOT NULL AND regexp_full_match({c}, '\\d{{4}}-\\d\\d-\\d\\d[T ].*') "
        "THEN strftime(timezone('Europe/Berlin', TRY_CAST({c} AS TIMESTAMPTZ)), '%d.%m.%Y %H:%M:%S') ELSE {c} END"
    )
    for path in sorted((landing / "deals").glob("*.csv")):
        conn.execute(
            f"""
            COPY (
                SELECT deal_id AS "Deal No", account_id AS "Org No", deal_name AS "Title",
                       {local.format(c='created_at')} AS "Added", {local.format(c='closed_at')} AS "Won/Lost time",
                       CASE stage WHEN 'closed_won' THEN 'Won' WHEN 'closed_lost' THEN 'Lost' ELSE stage END AS "Status",
                       amount AS "Value", originating_lead_id AS "Origin person"
                FROM read_csv(?, all_varchar = true, header = true)
            ) TO '{path}' (HEADER, DELIMITER ',')
            """,
            [str(path)],
        )


@pytest.mark.slow
def test_an_unknown_crm_read_through_a_user_mapping_builds_the_same_marts(tmp_path: Path, built_warehouse: Path) -> None:
    from conftest import REPO_ROOT
    from marts_hash import assert_same_tables, table_digests

    landing = tmp_path / "landing"
    export_deals_as_an_unknown_crm(REPO_ROOT / "seeds", landing)
    assert "Won/Lost time" in (landing / "deals" / "deals_2026_10_01.csv").read_text().splitlines()[0]
    mapped = tmp_path / "mapped"
    mapped.mkdir()
    done = run_baton(baton_env(mapped, BATON_LANDING_DIR=str(landing)))
    assert done.returncode == 0, done.stderr[-4000:]
    import duckdb

    with duckdb.connect(str(mapped / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute(
            "SELECT DISTINCT mapping FROM audit.load_ledger WHERE entity = 'deals'"
        ).fetchall() == [("berlin-crm-deals",)]
    assert_same_tables(
        table_digests(built_warehouse, "marts"), table_digests(mapped / "warehouse.duckdb", "marts"),
        "the marts of seeds/ and of seeds/ with its deals exported by a Berlin CRM",
    )


def test_formats_with_an_offset_or_a_zone_name_keep_it_and_z_reads_as_utc(conn, landing) -> None:
    mapping_file(landing, "events.yml", """\
        name: offsets
        entity: engagement_events
        detect: [Activity Id]
        columns: {event_id: Activity Id, occurred_at: When, email: Mail}
        constants: {event_type: ad_click}
        formats: {occurred_at: ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S %Z", "%d/%m/%Y %H:%M"]}
        timezone: America/New_York
    """)
    put(
        landing, "engagement_events", "e.csv",
        "Activity Id,Mail,When\n"
        "A1,a@x.com,2026-03-01T12:00:00+01:00\n"    # its own offset: 11:00 UTC
        "A2,a@x.com,2026-03-01T12:00:00Z\n"         # Z is +00:00, as Python's %z reads it
        "A3,a@x.com,2026-03-01 12:00:00 UTC\n"      # a zone name is kept
        "A4,a@x.com,01/03/2026 12:00\n"             # no offset: New York, UTC-5 in March before DST
        "A5,a@x.com,2026-03-01 12:00\n",            # no format reads it: quarantined, never guessed
    )
    load_entity_with(conn, landing, "engagement_events")
    assert raw(conn, "engagement_events", "event_id, occurred_at::VARCHAR") == [
        ("A1", "2026-03-01 11:00:00"), ("A2", "2026-03-01 12:00:00"), ("A3", "2026-03-01 12:00:00"),
        ("A4", "2026-03-01 17:00:00"),
    ]
    [(_, row, reason)] = quarantine(conn)
    assert (row, reason.split(": ")[0]) == (5, "occurred_at (export column When)")


def test_a_mappings_folder_that_cannot_be_listed_stops_with_its_path(landing, monkeypatch) -> None:
    mapping_file(landing, "ok.yml", "name: ok\nentity: leads\ndetect: [X]\n")
    real_iterdir = Path.iterdir

    def refuse(self):
        if self.name == "_mappings":
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refuse)
    with pytest.raises(MappingError) as raised:
        load_mappings(landing)
    assert str(raised.value) == f"mapping file {landing / '_mappings'}: cannot read the mappings folder: Permission denied"

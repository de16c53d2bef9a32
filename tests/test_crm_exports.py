"""CRM exports as they are (issue 12, CONTRACT.md s8): the built-in presets
(`baton/lib/extract/presets/*.yml`) and the sample exports generated from `seeds/`
(`sample_exports/hubspot/`, `sample_exports/salesforce/`, by `baton.dev.exports`).

- the generator is deterministic, and the committed `sample_exports/` is what it writes;
- every preset is a section 8 mapping (plus the `split` extension) over its entity's columns;
- in every landing folder each file is caught by exactly the preset it was written for (or
  by none, contract-shaped), so presets of one entity never catch each other's files;
- Baton builds the same marts, value for value, from `seeds/`, from the HubSpot-shaped and
  from the Salesforce-shaped folder (slow: a real `baton run` per folder).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import duckdb
import pytest
import yaml

from baton.dev import exports
from baton.lib.extract.entities import ENTITIES, Kind
from conftest import REPO_ROOT, baton_env, run_baton
from marts_hash import assert_same_tables, table_digests

SAMPLE_EXPORTS = REPO_ROOT / "sample_exports"
SEEDS = REPO_ROOT / "seeds"
SECTION_8_KEYS = {"name", "entity", "detect", "columns", "values", "formats", "timezone", "constants"}
EXTENSION_KEYS = {"split"}
TIME_KINDS = {Kind.TIMESTAMP, Kind.DATE}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, str | None]]]:
    """A fresh generation from seeds/ and its manifest {vendor: {file: preset or None}}."""
    out = tmp_path_factory.mktemp("exports")
    return out, exports.manifest(exports.generate(out))


def preset_files() -> list[Path]:
    return sorted(exports.PRESETS_DIR.glob("*.yml"))


def raw_presets() -> dict[str, dict]:
    return {path.stem: yaml.safe_load(path.read_text(encoding="utf-8")) for path in preset_files()}


def header_of(path: Path) -> list[str]:
    if path.suffix == ".jsonl":
        keys: dict[str, None] = {}
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                keys.update(dict.fromkeys(json.loads(line)))
        return list(keys)
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def entity_of(relative: str) -> str:
    """`leads/x.csv` -> leads; `campaigns.csv` -> campaigns (CONTRACT.md s2)."""
    return relative.split("/")[0] if "/" in relative else relative.removesuffix(".csv")


def catching(presets: dict[str, dict], entity: str, header: list[str]) -> list[str]:
    """The presets of `entity` whose detect columns are all in `header` (case-insensitive)."""
    names = {h.strip().casefold() for h in header}
    return sorted(
        name for name, p in presets.items()
        if p["entity"] == entity and all(d.strip().casefold() in names for d in p["detect"])
    )


# --- (a) the generator -------------------------------------------------------------------------


def test_the_generator_is_deterministic_and_the_committed_sample_exports_are_its_output(
    generated: tuple[Path, dict], tmp_path: Path
) -> None:
    first, _ = generated
    exports.generate(tmp_path)
    assert files_of(tmp_path) == files_of(first), "two generations from seeds/ differ"
    committed = files_of(SAMPLE_EXPORTS)
    fresh = files_of(first)
    assert sorted(committed) == sorted(fresh), "sample_exports/ has other files than a fresh generation"
    stale = [name for name in fresh if committed[name] != fresh[name]]
    assert not stale, f"sample_exports/ is stale, run `.venv/bin/python -m baton.dev.exports`: {stale}"


def test_every_sample_file_is_exported_and_the_manifest_names_real_presets(generated: tuple[Path, dict]) -> None:
    out, manifest = generated
    presets = raw_presets()
    sample = {p.relative_to(SEEDS).as_posix() for p in SEEDS.rglob("*") if p.is_file() and p.name != "README.md"}
    for vendor, files in manifest.items():
        assert set(files) == {p for p in files_of(out / vendor)}
        assert {p for p in files.values() if p} <= set(presets)
        # every sample file is there under its own name (a mapped JSON lines file as .csv)
        stems = {name.split(".")[0] for name in files}
        assert {name.split(".")[0] for name in sample} <= stems, vendor
    assert set(manifest["hubspot"].values()) - {None} == {
        "hubspot-contacts", "hubspot-companies", "hubspot-deals", "hubspot-deal-contacts"}
    assert set(manifest["salesforce"].values()) - {None} == {name for name in presets if name.startswith("salesforce-")}


def test_the_generator_reads_values_as_the_contract_says_and_refuses_what_would_not_read_back() -> None:
    preset = exports.Preset(
        name="p", entity="leads", detect=("Id",), columns={"lead_source": "Source", "industry": "Industry"},
        values={"lead_source": {"Paid Search": "paid_search", "PAID_SEARCH": "paid_search", "Junk": None},
                "industry": {"COMPUTER_SOFTWARE": "software"}},
    )
    assert preset.read_value("lead_source", " Paid Search ") == "paid_search"
    assert preset.read_value("lead_source", "paid search") == "paid_search"  # case-insensitive
    assert preset.read_value("lead_source", "junk") is None  # mapped to null
    assert preset.read_value("lead_source", "webinar") == "webinar"  # unlisted: unchanged
    assert preset.read_value("lead_source", "  ") is None
    assert preset.write_value("lead_source", "paid_search") == "Paid Search"  # a label before an internal name
    assert preset.write_value("lead_source", "webinar") == "webinar"
    assert preset.write_value("industry", "Software", same=str.lower) == "COMPUTER_SOFTWARE"
    with pytest.raises(ValueError, match="cannot be written"):
        preset.write_value("lead_source", "paid search")  # would read back as paid_search


# --- (b) the presets ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", preset_files(), ids=lambda p: p.stem)
def test_a_preset_is_a_section_8_mapping_of_its_entity(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), "a preset starts with comments citing the vendor documentation"
    assert "https://" in text.split("\nname:")[0]
    preset = yaml.safe_load(text)
    assert isinstance(preset, dict)
    assert set(preset) <= SECTION_8_KEYS | EXTENSION_KEYS, set(preset) - SECTION_8_KEYS - EXTENSION_KEYS
    assert preset["name"] == path.stem
    entity = ENTITIES[preset["entity"]]
    kinds = {c.name: c.kind for c in entity.columns}
    detect = preset["detect"]
    assert isinstance(detect, list) and detect and all(isinstance(d, str) and d.strip() for d in detect)
    columns = preset["columns"]
    assert isinstance(columns, dict) and set(columns) <= set(kinds)
    assert all(isinstance(v, str) and v.strip() for v in columns.values())
    constants = preset.get("constants") or {}
    assert set(constants) <= set(kinds) and not set(constants) & set(columns)
    missing = [c for c in entity.required if c not in columns and c not in constants]
    assert not missing, f"required columns neither mapped nor constant: {missing}"
    if entity.one_of:
        assert set(entity.one_of) & (set(columns) | set(constants))
    for column, mapping in (preset.get("values") or {}).items():
        assert column in columns, column
        assert isinstance(mapping, dict) and mapping
        assert all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in mapping.items())
        folded = [k.strip().casefold() for k in mapping]
        assert len(folded) == len(set(folded)), f"{column}: keys that differ only in case or spaces"
    for column, patterns in (preset.get("formats") or {}).items():
        assert column in columns and kinds[column] in TIME_KINDS, column
        assert isinstance(patterns, list) and patterns and all(isinstance(p, str) and "%" in p for p in patterns)
    assert isinstance(preset.get("timezone", "UTC"), str)
    for column, separator in (preset.get("split") or {}).items():
        assert column in columns and isinstance(separator, str) and separator, column


def test_the_two_hubspot_industry_maps_are_the_same() -> None:
    presets = raw_presets()
    assert presets["hubspot-contacts"]["values"]["industry"] == presets["hubspot-companies"]["values"]["industry"]


def test_rules_industries_and_closed_stages_are_reachable_from_the_vendor_values() -> None:
    presets = raw_presets()
    rules_industries = {"financial services", "banking", "insurance", "software", "manufacturing",
                        "healthcare", "retail", "logistics"}
    hubspot = set(presets["hubspot-companies"]["values"]["industry"].values())
    assert rules_industries <= hubspot
    assert {"closed_won", "closed_lost"} <= set(presets["hubspot-deals"]["values"]["stage"].values())
    event_types = set(presets["salesforce-campaign-members"]["values"]["event_type"].values())
    from baton.lib.vocabularies import EVENT_TYPES
    assert event_types == set(EVENT_TYPES), "one member status per Baton event type"


def test_each_exported_file_is_caught_by_exactly_its_preset(generated: tuple[Path, dict]) -> None:
    out, manifest = generated
    presets = raw_presets()
    for vendor, files in manifest.items():
        for relative, expected in files.items():
            header = header_of(out / vendor / relative)
            caught = catching(presets, entity_of(relative), header)
            assert caught == ([expected] if expected else []), f"{vendor}/{relative}: caught by {caught}"
            if expected:
                lower = {h.casefold() for h in header}
                absent = [c for c in presets[expected]["columns"].values() if c.casefold() not in lower]
                assert not absent, f"{vendor}/{relative}: lacks the mapped columns {absent}"


def test_no_preset_catches_a_contract_shaped_file() -> None:
    presets = raw_presets()
    for path in sorted(SEEDS.rglob("*")):
        if path.is_file() and path.suffix in (".csv", ".jsonl"):
            relative = path.relative_to(SEEDS).as_posix()
            assert catching(presets, entity_of(relative), header_of(path)) == [], relative
    for entity in ENTITIES.values():  # the full contract header of every entity
        assert catching(presets, entity.name, list(entity.column_names)) == [], entity.name


def test_presets_of_one_entity_do_not_catch_each_others_headers() -> None:
    """Every preset's own columns (mapped + detect) as a header: caught by it alone."""
    presets = raw_presets()
    for name, preset in presets.items():
        header = [*preset["columns"].values(), *preset["detect"]]
        assert catching(presets, preset["entity"], header) == [name]


# --- (c) end to end: the same marts from every shape ------------------------------------------


def build(tmp: Path, landing: Path) -> Path:
    completed = run_baton(baton_env(tmp, BATON_LANDING_DIR=str(landing)))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    return tmp / "warehouse.duckdb"


def ledger_and_quarantine(warehouse: Path) -> tuple[list, list]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        ledger = conn.execute("SELECT file_path, status, mapping FROM audit.load_ledger ORDER BY file_id").fetchall()
        quarantined = conn.execute(
            "SELECT entity, count(*) FROM audit.quarantine GROUP BY ALL ORDER BY ALL").fetchall()
    return ledger, quarantined


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["hubspot", "salesforce"])
def test_a_crm_shaped_sample_builds_the_same_marts_as_the_sample(
    vendor: str, built_warehouse: Path, tmp_path: Path, generated: tuple[Path, dict]
) -> None:
    landing = SAMPLE_EXPORTS / vendor
    warehouse = build(tmp_path, landing)
    ledger, quarantined = ledger_and_quarantine(warehouse)
    assert {status for _, status, _ in ledger} == {"loaded"}, ledger
    # every file was read through the preset it was written for (None: contract-shaped)
    read_through = {Path(path).relative_to(landing).as_posix(): mapping for path, _, mapping in ledger}
    assert read_through == generated[1][vendor]
    # the same bad records are quarantined: the unknown event type and the re-sent event
    assert quarantined == ledger_and_quarantine(built_warehouse)[1]
    assert_same_tables(table_digests(built_warehouse, "marts"), table_digests(warehouse, "marts"),
                       f"the marts of seeds/ and of sample_exports/{vendor}/")

"""docs/inputs.md is generated from the code that defines the inputs (baton.dev.inputs_doc) and
committed: it must be what the generator writes today, and cover every entity, column and preset."""

from __future__ import annotations

from pathlib import Path

from baton.dev.inputs_doc import COMMAND, OUTPUT, main, render
from baton.lib.extract.entities import ENTITIES
from baton.lib.extract.mappings import Mapping, preset_files, read_mapping
from baton.lib.vocabularies import EVENT_TYPES

REGENERATE = f"docs/inputs.md is stale: run `.venv/bin/python -m {COMMAND.split()[-1]}` and commit the result"


def _section(text: str, heading: str) -> str:
    """The text from `heading` (a whole line) to the next heading of the same or a higher level."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading)
    end, fenced = len(lines), False
    for i in range(start + 1, len(lines)):
        fenced ^= lines[i].startswith("```")
        depth = len(lines[i]) - len(lines[i].lstrip("#"))
        if not fenced and 0 < depth <= level and lines[i][depth:].startswith(" "):
            end = i
            break
    return "\n".join(lines[start:end])


def test_the_committed_page_is_what_the_generator_writes() -> None:
    assert OUTPUT.exists(), REGENERATE
    assert OUTPUT.read_text(encoding="utf-8") == render(), REGENERATE


def test_the_page_is_deterministic() -> None:
    assert render() == render()


def test_every_entity_and_every_contract_column_is_documented() -> None:
    text = OUTPUT.read_text(encoding="utf-8")
    for entity in ENTITIES.values():
        section = _section(text, f"### `{entity.name}`")
        for column in entity.columns:
            assert f"| `{column.name}` |" in section, f"{entity.name}.{column.name} is not in docs/inputs.md"
    for event_type in EVENT_TYPES:
        assert f"| `{event_type}` |" in text


def test_every_preset_and_every_mapping_key_is_documented() -> None:
    text = OUTPUT.read_text(encoding="utf-8")
    for path in preset_files():
        name = read_mapping(path).name
        assert f"### Preset `{name}`" in text, f"preset {name} ({path.name}) is not in docs/inputs.md"
    keys = _section(text, "### The mapping file")
    for name, field in Mapping.model_fields.items():
        if not field.exclude:
            assert f"| `{name}` |" in keys


def test_a_preset_section_is_rendered_from_the_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "zz-crm-contacts.yml").write_text(
        "# ZZ CRM contact roles export -> deal_contacts.\n"
        "#\n"
        "# - https://docs.example.com/zz/contact-roles (the export's columns)\n"
        "# - see https://docs.example.com/zz/ids.\n"
        "name: zz-contact-roles\n"
        "entity: deal_contacts\n"
        "detect: [Opp | ID, Contact IDs]\n"
        "columns: {deal_id: Opp | ID, lead_id: Contact IDs}\n"
        "values: {lead_id: {none: ~, N/A: ~}}\n"
        "constants: {role: buyer}\n"
        "split: {lead_id: ';'}\n",
        encoding="utf-8",
    )
    section = _section(render(tmp_path), "### Preset `zz-contact-roles`")
    assert "ZZ CRM contact roles export -> deal_contacts." in section
    assert "<https://docs.example.com/zz/contact-roles>, <https://docs.example.com/zz/ids>" in section
    assert "`Opp \\| ID`, `Contact IDs`" not in section  # outside a table a | is not escaped
    assert "`Opp | ID`, `Contact IDs`" in section
    assert "| **`deal_id`** | `Opp \\| ID` |" in section  # inside one it is
    assert "| `role` | constant `buyer` |" in section
    assert "| `email` | *(same name)* |" in section
    assert "2 values, e.g. `none` → null" in section
    assert "`lead_id` at `;`" in section


def test_check_exits_1_when_the_page_is_stale_and_writing_makes_it_fresh(tmp_path: Path) -> None:
    page = tmp_path / "inputs.md"
    assert main(["--check", "--output", str(page)]) == 1
    page.write_text(render() + "edited by hand\n", encoding="utf-8")
    assert main(["--check", "--output", str(page)]) == 1
    assert main(["--output", str(page)]) == 0
    assert main(["--check", "--output", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == render()

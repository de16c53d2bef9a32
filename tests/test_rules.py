"""Tests for the rules file loader.

Bad files are written from VALID with one edit each, so every expected line
number can be checked by eye against the numbered layout below.
"""

from __future__ import annotations

import datetime
import json
import pickle
import re
from pathlib import Path
from typing import Any, get_args

import duckdb
import pytest
import yaml

from baton.lib.rules import (
    KNOWN_SAL_RULES,
    SCHEMA_PATH,
    Column,
    Rules,
    RulesError,
    SalRules,
    default_rules_path,
    json_schema,
    load_rules,
)
from baton.lib.rules_table import config_columns, write_rules_table

VALID = """\
version: "t-1"
job_functions:
  finance:
    - cfo
sal_rules:
  finance_role:
    job_function: finance
  company_size:
    min_exclusive: 50
    max_inclusive: 10000
  industry:
    allowed:
      - banking
marketing_sources:
  exclude:
    - partner
"""
# Line numbers of VALID, for reading the cases below:
#  1 version            5 sal_rules          9 min_exclusive     13 - banking
#  2 job_functions      6 finance_role      10 max_inclusive     14 marketing_sources
#  3 finance            7 job_function      11 industry          15 exclude
#  4 - cfo              8 company_size      12 allowed           16 - partner


def write(tmp_path: Path, text: str, name: str = "rules.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert VALID.count(old) == 1, f"edit target {old!r} must occur exactly once"
    return VALID.replace(old, new)


def load_text(tmp_path: Path, text: str) -> Rules:
    return load_rules(write(tmp_path, text))


def config_row(rules: Rules, as_of: datetime.date) -> dict[str, Any]:
    return {column.name: column.value for column in config_columns(rules, as_of)}


# -- the shipped rules ------------------------------------------------------------


def test_default_rules_match_the_contract() -> None:
    rules = load_rules()
    assert rules.path == str(default_rules_path())
    assert rules.sal_rules == ("company_size", "finance_role", "industry")
    dumped = rules.model_dump(by_alias=True)
    # a rule of the model that the file leaves out dumps as None: a new rule is not in the contract's defaults
    dumped["sal_rules"] = {name: rule for name, rule in dumped["sal_rules"].items() if rule is not None}
    assert dumped == {
        "version": "icp-2026.1",
        "job_functions": {
            "finance": (
                "cfo",
                "chief financial",
                "finance",
                "financial controller",
                "controller",
                "comptroller",
                "fp&a",
                "treasurer",
                "accountant",
                "accounting",
            ),
        },
        "sal_rules": {
            "finance_role": {"job_function": "finance"},
            "company_size": {"min_exclusive": 50.0, "max_inclusive": 10000.0},
            "industry": {
                "allowed": (
                    "financial services",
                    "banking",
                    "insurance",
                    "software",
                    "manufacturing",
                    "healthcare",
                    "retail",
                    "logistics",
                ),
            },
        },
        "marketing_sources": {"include": None, "exclude": ("sales_outbound", "partner", "referral")},
        "influence": {"lookback_days": 90.0},
        "attribution": {"time_decay_half_life_days": 7.0},
        "abm": {"window_days": 90},
        "alerts": {"undetermined_share_max": 0.05},
    }


def test_default_path_is_the_repository_rules_file() -> None:
    path = default_rules_path()
    assert path.is_absolute()
    assert path == Path(__file__).resolve().parents[1] / "rules" / "default.yml"
    assert load_rules(path) == load_rules(None) == load_rules(str(path))


def test_every_known_rule_has_one_evaluation_entry_and_no_entry_lacks_a_rule() -> None:
    """The two places of a SAL rule agree: each field of SalRules has exactly one
    `{rule: '<name>', result: ...}` entry in int_lead_sal_evaluation.sql, and each entry
    names a rule of the model (the model also stops a build where a rule in force has
    no entry, but only once that rule is listed in a rules file)."""
    sql = (Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "intermediate"
           / "int_lead_sal_evaluation.sql").read_text(encoding="utf-8")
    entries = re.findall(r"\{\s*rule\s*:\s*'([^']*)'\s*,\s*result\s*:", sql)
    assert sorted(entries) == sorted(KNOWN_SAL_RULES)


# -- valid variations -----------------------------------------------------------


def test_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    rules = load_text(tmp_path, VALID)
    assert rules.version == "t-1"
    assert rules.influence.lookback_days == 90.0
    assert rules.attribution.time_decay_half_life_days == 7.0
    assert rules.abm.window_days == 90
    assert rules.alerts.undetermined_share_max == 0.05


def test_path_is_absolute_even_when_given_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, VALID)
    monkeypatch.chdir(tmp_path)
    rules = load_rules("rules.yml")
    assert rules.path == str((tmp_path / "rules.yml").resolve())


def test_omitting_industry_leaves_it_out(tmp_path: Path) -> None:
    rules = load_text(tmp_path, edited("  industry:\n    allowed:\n      - banking\n", ""))
    assert rules.sal_rules == ("company_size", "finance_role")
    assert rules.sal.industry is None


def test_omitting_company_size_and_finance_role_leaves_them_out(tmp_path: Path) -> None:
    text = edited(
        "  finance_role:\n    job_function: finance\n"
        "  company_size:\n    min_exclusive: 50\n    max_inclusive: 10000\n",
        "",
    )
    rules = load_text(tmp_path, text)
    assert rules.sal_rules == ("industry",)
    assert rules.sal.finance_role is None
    assert rules.sal.company_size is None


def test_include_form_of_marketing_sources(tmp_path: Path) -> None:
    rules = load_text(tmp_path, edited("  exclude:\n    - partner\n", "  include: [Web, ' Events ']\n"))
    assert rules.marketing_sources.include == ("web", "events")
    assert rules.marketing_sources.exclude is None


def test_empty_exclude_list_means_every_source_is_marketing(tmp_path: Path) -> None:
    rules = load_text(tmp_path, edited("  exclude:\n    - partner\n", "  exclude: []\n"))
    assert rules.marketing_sources.include is None
    assert rules.marketing_sources.exclude == ()


def test_optional_sections_override_defaults(tmp_path: Path) -> None:
    text = VALID + (
        "influence:\n  lookback_days: 0\n"
        "attribution:\n  time_decay_half_life_days: 3.5\n"
        "abm:\n  window_days: 1\n"
        "alerts:\n  undetermined_share_max: 1\n"
    )
    rules = load_text(tmp_path, text)
    assert rules.influence.lookback_days == 0.0
    assert rules.attribution.time_decay_half_life_days == 3.5
    assert rules.abm.window_days == 1
    assert isinstance(rules.abm.window_days, int)
    assert rules.alerts.undetermined_share_max == 1.0


def test_empty_optional_section_keeps_defaults(tmp_path: Path) -> None:
    rules = load_text(tmp_path, VALID + "influence: {}\n")
    assert rules.influence.lookback_days == 90.0


def test_numeric_version_is_kept_as_written(tmp_path: Path) -> None:
    rules = load_text(tmp_path, edited('version: "t-1"', "version: 2026.10"))
    assert rules.version == "2026.10"


def test_bounds_accept_ints_floats_and_exponents(tmp_path: Path) -> None:
    text = edited("min_exclusive: 50", "min_exclusive: 49.5").replace(
        "max_inclusive: 10000", "max_inclusive: 1e4"
    )
    rules = load_text(tmp_path, text)
    assert rules.sal.company_size is not None
    assert rules.sal.company_size.min_exclusive == 49.5
    assert rules.sal.company_size.max_inclusive == 10000.0


def test_strings_are_trimmed_lowered_and_deduplicated(tmp_path: Path) -> None:
    text = edited(
        "    - cfo\n", "    - '  CFO '\n    - Treasurer\n    - cfo\n    - TREASURER\n"
    ).replace("      - banking\n", "      - ' Banking '\n      - banking\n      - Retail\n")
    rules = load_text(tmp_path, text)
    assert rules.job_functions == {"finance": ("cfo", "treasurer")}
    assert rules.sal.industry is not None
    assert rules.sal.industry.allowed == ("banking", "retail")


def test_job_functions_keep_file_order(tmp_path: Path) -> None:
    text = edited("  finance:\n", "  sales:\n    - account executive\n  finance:\n")
    rules = load_text(tmp_path, text)
    assert list(rules.job_functions) == ["sales", "finance"]


HOSTILE = "'; DROP TABLE x; --"


def test_hostile_strings_survive_verbatim(tmp_path: Path) -> None:
    text = (
        'version: "v\'1\\"; --"\n'
        "job_functions:\n"
        "  \"o'finance\":\n"
        f'    - "{HOSTILE}"\n'
        '    - "a \\"quoted\\" title"\n'
        "sal_rules:\n"
        "  finance_role:\n"
        "    job_function: \"o'finance\"\n"
        "  industry:\n"
        "    allowed:\n"
        f'      - "{HOSTILE}"\n'
        "      - 'robert''); drop table students;--'\n"
        "marketing_sources:\n"
        "  include:\n"
        f'    - "{HOSTILE}"\n'
        "    - '%_\\\\'\n"
    )
    rules = load_text(tmp_path, text)
    assert rules.version == "v'1\"; --"
    assert rules.job_functions == {"o'finance": (HOSTILE.lower(), 'a "quoted" title')}
    assert rules.sal.finance_role is not None and rules.sal.industry is not None
    assert rules.sal.finance_role.job_function == "o'finance"
    assert rules.sal.industry.allowed == (HOSTILE.lower(), "robert'); drop table students;--")
    assert rules.marketing_sources.include == (HOSTILE.lower(), "%_\\\\")
    row = config_row(rules, datetime.date(2026, 1, 31))
    assert row["job_function_keywords"] == [[HOSTILE.lower(), 'a "quoted" title']]
    assert row["industries"][0] == HOSTILE.lower()
    # and through DuckDB: bound as parameters, read back verbatim
    conn = duckdb.connect()
    write_rules_table(conn, rules, datetime.date(2026, 1, 31))
    written = conn.execute(
        "SELECT rules_version, finance_job_function, industries, marketing_sources_include FROM config.rules"
    ).fetchone()
    assert written == (
        rules.version,
        "o'finance",
        list(rules.sal.industry.allowed),
        list(rules.marketing_sources.include),
    )


# The columns of config.rules that dbt models and checks read, with their types. A SAL rule
# added to the model brings columns of its own (its settings): they are allowed beside these.
DBT_COLUMNS = {
    "rules_version": "VARCHAR",
    "rules_path": "VARCHAR",
    "as_of_date": "DATE",
    "sal_rules": "VARCHAR[]",
    "finance_job_function": "VARCHAR",
    "job_function_names": "VARCHAR[]",
    "job_function_keywords": "VARCHAR[][]",
    "company_size_min_exclusive": "DOUBLE",
    "company_size_max_inclusive": "DOUBLE",
    "industries": "VARCHAR[]",
    "marketing_sources_include": "VARCHAR[]",
    "marketing_sources_exclude": "VARCHAR[]",
    "influence_lookback_days": "DOUBLE",
    "time_decay_half_life_days": "DOUBLE",
    "abm_window_days": "INTEGER",
    "undetermined_share_max": "DOUBLE",
}


def _new_sal_rule_columns() -> set[str]:
    """The config.rules columns of the settings of SAL rules other than the contract's three."""
    columns: set[str] = set()
    for name, field in SalRules.model_fields.items():
        if name in ("company_size", "finance_role", "industry"):
            continue
        (section,) = [arg for arg in get_args(field.annotation) if arg is not type(None)]
        for setting in section.model_fields.values():
            for column in (item for item in setting.metadata if isinstance(item, Column)):
                columns |= {column.name} | ({column.keys} if column.keys else set())
    return columns


def test_config_row_is_flat_with_the_agreed_keys(tmp_path: Path) -> None:
    as_of = datetime.date(2026, 1, 31)
    row = config_row(load_rules(), as_of)
    assert set(row) - _new_sal_rule_columns() == set(DBT_COLUMNS)
    assert row["rules_version"] == "icp-2026.1"
    assert row["rules_path"] == str(default_rules_path())
    assert row["as_of_date"] == as_of
    assert row["sal_rules"] == ["company_size", "finance_role", "industry"]
    assert row["finance_job_function"] == "finance"
    assert row["job_function_names"] == ["finance"]
    assert row["job_function_keywords"][0][:2] == ["cfo", "chief financial"]
    assert row["company_size_min_exclusive"] == 50.0
    assert row["company_size_max_inclusive"] == 10000.0
    assert row["industries"][0] == "financial services"
    assert row["marketing_sources_include"] is None
    assert row["marketing_sources_exclude"] == ["sales_outbound", "partner", "referral"]
    assert isinstance(row["abm_window_days"], int)
    for key in ("influence_lookback_days", "time_decay_half_life_days", "undetermined_share_max"):
        assert isinstance(row[key], float)


def test_config_row_for_include_and_absent_rules(tmp_path: Path) -> None:
    text = edited(
        "  company_size:\n    min_exclusive: 50\n    max_inclusive: 10000\n", ""
    ).replace("  exclude:\n    - partner\n", "  include: [web]\n")
    row = config_row(load_text(tmp_path, text), datetime.date(2026, 1, 31))
    assert row["sal_rules"] == ["finance_role", "industry"]
    assert row["company_size_min_exclusive"] is None
    assert row["company_size_max_inclusive"] is None
    assert row["marketing_sources_include"] == ["web"]
    assert row["marketing_sources_exclude"] is None


def test_rules_table_has_the_columns_and_types_dbt_reads() -> None:
    conn = duckdb.connect()
    write_rules_table(conn, load_rules(), datetime.date(2026, 1, 31))
    write_rules_table(conn, load_rules(), datetime.date(2026, 2, 1))  # replaced, not appended
    types = dict(
        conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'config' AND table_name = 'rules'"
        ).fetchall()
    )
    assert {name: sql_type for name, sql_type in types.items() if name not in _new_sal_rule_columns()} == DBT_COLUMNS
    assert conn.execute("SELECT count(*), any_value(as_of_date) FROM config.rules").fetchone() == (
        1,
        datetime.date(2026, 2, 1),
    )


def test_rules_table_of_a_file_without_optional_rules(tmp_path: Path) -> None:
    text = edited(
        "  company_size:\n    min_exclusive: 50\n    max_inclusive: 10000\n", ""
    ).replace("  exclude:\n    - partner\n", "  include: [web]\n")
    conn = duckdb.connect()
    write_rules_table(conn, load_text(tmp_path, text), datetime.date(2026, 1, 31))
    assert conn.execute(
        "SELECT sal_rules, company_size_min_exclusive, marketing_sources_include, marketing_sources_exclude "
        "FROM config.rules"
    ).fetchone() == (["finance_role", "industry"], None, ["web"], None)


# -- the JSON Schema for editors ---------------------------------------------------------


def test_published_schema_is_up_to_date() -> None:
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert published == json_schema(), (
        f"{SCHEMA_PATH} is out of date with the Rules model: regenerate it with `python -m baton.lib.rules`"
    )


def test_default_rules_point_editors_at_the_schema() -> None:
    first_line = default_rules_path().read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema={SCHEMA_PATH.name}"
    assert SCHEMA_PATH.parent == default_rules_path().parent


def test_schema_accepts_the_default_rules_and_rejects_what_the_loader_rejects(tmp_path: Path) -> None:
    import jsonschema  # the dev extra installs it
    validator = jsonschema.Draft202012Validator(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(default_rules_path().read_text()))) == []
    assert list(validator.iter_errors(yaml.safe_load(VALID))) == []
    for case_id in (
        "unknown-top-key",
        "missing-version",
        "unknown-rule",
        "min-empty",
        "min-word",
        "sal-rules-empty",
        "sources-both",
        "sources-empty-mapping",
        "industry-allowed-empty",
        "job-functions-empty",
        "half-life-zero",
        "abm-fraction",
        "alerts-above-one",
        "finance-role-no-value",
    ):
        text = next(case[1] for case in BAD_FILES if case[0] == case_id)
        assert list(validator.iter_errors(yaml.safe_load(text))), case_id


# -- errors -----------------------------------------------------------------------


def test_error_message_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, edited("    min_exclusive: 50\n", "    min_exclusive:\n"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(caught.value) == (
        f"rules file {path.resolve()}, line 9: "
        "sal_rules.company_size.min_exclusive: the bound is empty"
    )
    assert isinstance(caught.value, ValueError)


# (id, text, line, key, fragment of the reason)
BAD_FILES: list[tuple[str, str, int, str, str]] = [
    # top level
    ("not-a-mapping", "- a\n- b\n", 1, "(top level)", "must be a mapping"),
    ("empty-file", "# nothing here\n", 1, "(top level)", "the file is empty"),
    ("unknown-top-key", VALID + "extras: 1\n", 17, "extras", "unknown key"),
    ("duplicate-key", VALID + 'version: "t-2"\n', 17, "version", "duplicate key (first given on line 1)"),
    ("non-string-key", VALID + "123: x\n", 17, "(top level)", "must be a string"),
    ("missing-version", edited('version: "t-1"\n', ""), 1, "version", "missing required key"),
    ("missing-job-functions", edited("job_functions:\n  finance:\n    - cfo\n", ""), 1,
     "job_functions", "missing required key"),
    ("missing-sal-rules", edited(
        "sal_rules:\n  finance_role:\n    job_function: finance\n  company_size:\n"
        "    min_exclusive: 50\n    max_inclusive: 10000\n  industry:\n    allowed:\n"
        "      - banking\n", ""), 1, "sal_rules", "missing required key"),
    ("missing-marketing-sources", edited("marketing_sources:\n  exclude:\n    - partner\n", ""), 1,
     "marketing_sources", "missing required key"),
    # version
    ("version-no-value", edited('version: "t-1"', "version:"), 1, "version", "has no value"),
    ("version-blank", edited('version: "t-1"', 'version: "  "'), 1, "version", "must not be empty"),
    ("version-list", edited('version: "t-1"', "version: [a]"), 1, "version", "single value"),
    # job_functions
    ("job-functions-scalar", edited("job_functions:\n  finance:\n    - cfo\n", "job_functions: cfo\n"),
     2, "job_functions", "must be a mapping"),
    ("job-functions-empty", edited("job_functions:\n  finance:\n    - cfo\n", "job_functions: {}\n"),
     2, "job_functions", "at least one job function"),
    ("job-function-no-list", edited("  finance:\n    - cfo\n", "  finance:\n"), 3,
     "job_functions.finance", "has no value"),
    ("job-function-empty-list", edited("  finance:\n    - cfo\n", "  finance: []\n"), 3,
     "job_functions.finance", "at least one value"),
    ("keyword-blank", edited("    - cfo\n", "    - cfo\n    - ' '\n"), 5,
     "job_functions.finance[1]", "must not be empty"),
    ("keyword-missing", edited("    - cfo\n", "    -\n"), 4, "job_functions.finance[0]", "has no value"),
    ("keyword-number", edited("    - cfo\n", "    - 42\n"), 4, "job_functions.finance[0]", "must be a string"),
    # sal_rules
    ("sal-rules-empty", edited(
        "sal_rules:\n  finance_role:\n    job_function: finance\n  company_size:\n"
        "    min_exclusive: 50\n    max_inclusive: 10000\n  industry:\n    allowed:\n"
        "      - banking\n", "sal_rules: {}\n"), 5, "sal_rules", "at least one rule"),
    ("unknown-rule", edited("sal_rules:\n", "sal_rules:\n  lead_score:\n    min: 3\n"), 6,
     "sal_rules.lead_score", "unknown rule 'lead_score'"),
    ("unknown-rule-later", edited("      - banking\n", "      - banking\n  seniority: vp\n"), 14,
     "sal_rules.seniority", "unknown rule 'seniority'"),
    # finance_role
    ("finance-role-no-value", edited("  finance_role:\n    job_function: finance\n", "  finance_role:\n"),
     6, "sal_rules.finance_role", "has no value"),
    ("finance-role-missing-function", edited("    job_function: finance\n", "    function: finance\n"),
     7, "sal_rules.finance_role.function", "unknown key"),
    ("finance-role-empty-mapping", edited(
        "  finance_role:\n    job_function: finance\n", "  finance_role: {}\n"),
     6, "sal_rules.finance_role.job_function", "missing required key"),
    ("finance-role-undefined-function", edited("job_function: finance", "job_function: sales"),
     7, "sal_rules.finance_role.job_function", "'sales' is not defined under job_functions"),
    # company_size
    ("min-empty", edited("    min_exclusive: 50\n", "    min_exclusive:\n"), 9,
     "sal_rules.company_size.min_exclusive", "the bound is empty"),
    ("max-empty", edited("    max_inclusive: 10000\n", "    max_inclusive: ~\n"), 10,
     "sal_rules.company_size.max_inclusive", "the bound is empty"),
    ("min-missing", edited("    min_exclusive: 50\n", ""), 8,
     "sal_rules.company_size.min_exclusive", "missing required key"),
    ("max-missing", edited("    max_inclusive: 10000\n", ""), 8,
     "sal_rules.company_size.max_inclusive", "missing required key"),
    ("min-word", edited("min_exclusive: 50", "min_exclusive: fifty"), 9,
     "sal_rules.company_size.min_exclusive", "must be a number"),
    ("min-quoted-number", edited("min_exclusive: 50", 'min_exclusive: "50"'), 9,
     "sal_rules.company_size.min_exclusive", "must be a number"),
    ("max-boolean", edited("max_inclusive: 10000", "max_inclusive: true"), 10,
     "sal_rules.company_size.max_inclusive", "not the boolean"),
    ("max-nan", edited("max_inclusive: 10000", "max_inclusive: .nan"), 10,
     "sal_rules.company_size.max_inclusive", "finite"),
    ("min-above-max", edited("min_exclusive: 50", "min_exclusive: 20000"), 8,
     "sal_rules.company_size", "must be less than max_inclusive"),
    ("min-equals-max", edited("min_exclusive: 50", "min_exclusive: 10000"), 8,
     "sal_rules.company_size", "must be less than max_inclusive"),
    ("company-size-unknown-key", edited("    max_inclusive: 10000\n", "    max_inclusive: 10000\n    median: 5\n"),
     11, "sal_rules.company_size.median", "unknown key"),
    ("company-size-no-value", edited(
        "  company_size:\n    min_exclusive: 50\n    max_inclusive: 10000\n", "  company_size:\n"),
     8, "sal_rules.company_size", "has no value"),
    # industry
    ("industry-no-value", edited("  industry:\n    allowed:\n      - banking\n", "  industry:\n"), 11,
     "sal_rules.industry", "has no value"),
    ("industry-allowed-no-value", edited("    allowed:\n      - banking\n", "    allowed:\n"), 12,
     "sal_rules.industry.allowed", "has no value"),
    ("industry-allowed-empty", edited("    allowed:\n      - banking\n", "    allowed: []\n"), 12,
     "sal_rules.industry.allowed", "at least one value"),
    ("industry-allowed-scalar", edited("    allowed:\n      - banking\n", "    allowed: banking\n"), 12,
     "sal_rules.industry.allowed", "must be a list"),
    ("industry-blank", edited("      - banking\n", "      - banking\n      - ''\n"), 14,
     "sal_rules.industry.allowed[1]", "must not be empty"),
    # marketing_sources
    ("sources-both", VALID + "  include:\n    - web\n", 17, "marketing_sources.include", "not both"),
    ("sources-neither", edited("  exclude:\n    - partner\n", ""), 14, "marketing_sources", "has no value"),
    ("sources-empty-mapping", edited("marketing_sources:\n  exclude:\n    - partner\n", "marketing_sources: {}\n"),
     14, "marketing_sources", "either `include` or `exclude`"),
    ("sources-include-empty", edited("  exclude:\n    - partner\n", "  include: []\n"), 15,
     "marketing_sources.include", "at least one value"),
    ("sources-exclude-no-value", edited("  exclude:\n    - partner\n", "  exclude:\n"), 15,
     "marketing_sources.exclude", "has no value"),
    ("sources-unknown-key", edited("  exclude:\n", "  only:\n"), 15, "marketing_sources.only", "unknown key"),
    # optional sections
    ("influence-no-value", VALID + "influence:\n", 17, "influence", "has no value"),
    ("influence-negative", VALID + "influence:\n  lookback_days: -1\n", 18,
     "influence.lookback_days", "zero or more"),
    ("influence-unknown-key", VALID + "influence:\n  lookahead_days: 3\n", 18,
     "influence.lookahead_days", "unknown key"),
    ("half-life-zero", VALID + "attribution:\n  time_decay_half_life_days: 0\n", 18,
     "attribution.time_decay_half_life_days", "more than zero"),
    ("half-life-text", VALID + "attribution:\n  time_decay_half_life_days: a week\n", 18,
     "attribution.time_decay_half_life_days", "must be a number"),
    ("abm-zero", VALID + "abm:\n  window_days: 0\n", 18, "abm.window_days", "at least 1"),
    ("abm-fraction", VALID + "abm:\n  window_days: 1.5\n", 18, "abm.window_days", "whole number"),
    ("abm-boolean", VALID + "abm:\n  window_days: yes\n", 18, "abm.window_days", "not the boolean"),
    ("alerts-above-one", VALID + "alerts:\n  undetermined_share_max: 1.5\n", 18,
     "alerts.undetermined_share_max", "between 0 and 1"),
    ("alerts-negative", VALID + "alerts:\n  undetermined_share_max: -0.1\n", 18,
     "alerts.undetermined_share_max", "between 0 and 1"),
]


@pytest.mark.parametrize(
    ("text", "line", "key", "fragment"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_file_names_line_and_key(
    tmp_path: Path, text: str, line: int, key: str, fragment: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    error = caught.value
    message = str(error)
    assert (error.line, error.key) == (line, key), message
    assert error.file == str(path.resolve())
    assert message.startswith(f"rules file {path.resolve()}, line {line}: {key}: "), message
    assert fragment in message


def test_missing_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert str(path) in str(caught.value)
    assert "cannot read" in str(caught.value)


def test_directory_instead_of_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path)


def test_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, edited("    - cfo\n", "    - cfo\n\tbad: tab\n"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.line == 5
    assert str(caught.value).startswith(f"rules file {path.resolve()}, line 5: not valid YAML")


def test_unclosed_flow_list_names_the_line_where_parsing_failed(tmp_path: Path) -> None:
    path = write(tmp_path, edited("    - cfo\n", "    - [cfo\n"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.line == 5
    assert "line 5: not valid YAML" in str(caught.value)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_bytes(edited("    - cfo\n", "    - caf\xe9\n").encode("latin-1"))
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert caught.value.line == 4
    assert "not valid UTF-8" in str(caught.value)


def test_rules_error_survives_pickling(tmp_path: Path) -> None:
    error = RulesError("/x/rules.yml", "the bound is empty", line=24, key="sal_rules.company_size.min_exclusive")
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) == (
        "rules file /x/rules.yml, line 24: sal_rules.company_size.min_exclusive: the bound is empty"
    )
    assert (copy.file, copy.line, copy.key) == (error.file, error.line, error.key)

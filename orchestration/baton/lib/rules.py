"""The rules file: the Sales Accepted Lead definition and the settings that hang off it.

The file is one pydantic model, `Rules`, mirroring the YAML key for key. The same
model validates the file, is published as `rules/rules.schema.json` for editors
(`python -m baton.lib.rules` regenerates it), and lays out the one-row table
`config.rules` that dbt reads (`rules_table.py`): every setting carries a
`Column` naming its column there, and the column's type follows the setting's.

The rules are written by people (marketing ops, sales ops) rather than by the
engineers who run the pipeline, so a mistake in them must stop a run with a
message that points at the exact line and key to fix, instead of silently
producing figures from a half-understood definition. That is why the file is
read with ``yaml.compose`` (which keeps the line of every node) and each
validation error is traced back to its line, and why anything unexpected -- an
unknown key, a key left without a value, a duplicated key -- is an error rather
than something to guess about.

Values are kept verbatim apart from trimming and lower-casing: they reach SQL
only as bound parameters, so there is nothing to escape and nothing to reject.

A new SAL rule is two edits:

1. here, a `_Section` subclass holding the rule's settings, each annotated with
   the `Column` it lands in, and a field on `SalRules` named as the rule's key;
2. one entry in the list of `dbt_project/models/intermediate/
   int_lead_sal_evaluation.sql`, `{rule: '<rule>', result: CASE ... END}`, the
   CASE giving 'passed', 'failed' or 'unknown' from the lead and the rule's
   settings (`rules.<column>`, NULL when the rule is not in force: the CASE must
   not raise on them), with its unit tests beside it in
   `int_lead_sal_evaluation.yml` (their mocks of `stg_config__rules` list every
   column, so the rule's columns are added there).

Nothing else names the rule: whether it is in force, `rule_results`,
`sal_status` and `sal_reasons` (sorted by rule name) are derived from the list,
and `config.rules` (rules_table.py), `stg_config__rules`, `fct_leads` and its
contract take the rule as it comes. Then regenerate the schema
(`python -m baton.lib.rules`; a test fails until then) and, to put the rule in
force, list it in the rules file. `tests/test_new_sal_rule.py` proves it by
adding a rule to a copy of the project with exactly these two edits.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PrivateAttr,
    Strict,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

from baton.lib.located_yaml import TOP_LEVEL as _TOP_LEVEL
from baton.lib.located_yaml import LocatedError, read_document
from baton.lib.located_yaml import Scalar as _Scalar
from baton.lib.located_yaml import as_written as _as_written
from baton.lib.located_yaml import is_no_value as _is_no_value
from baton.lib.located_yaml import problem as _problem
from baton.lib.located_yaml import text as _text


class RulesError(LocatedError):
    """A rules file that cannot be used, with where the problem is (file, line, key)."""

    label = "rules file"


# -- what a setting is made of ---------------------------------------------------


@dataclass(frozen=True)
class Column:
    """Where a setting lands in `config.rules`: the column name dbt reads.

    For a mapping, ``name`` holds its values in file order and ``keys`` its keys.
    """

    name: str
    keys: str | None = None

    def __post_init__(self) -> None:
        # Column names are written into SQL text (values never are): keep them plain.
        for name in (self.name, self.keys):
            if name is not None and not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
                raise ValueError(f"not a plain column name: {name!r}")


@dataclass(frozen=True)
class Range:
    """A setting's allowed values, checked with a reason a person can act on and
    published as bounds in the JSON Schema."""

    reason: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        bounds = handler(schema)
        for keyword, limit in (("minimum", self.ge), ("exclusiveMinimum", self.gt), ("maximum", self.le)):
            if limit is not None:
                bounds[keyword] = limit
        return bounds

    def _check(self, value: float) -> float:
        if (
            (self.ge is not None and value < self.ge)
            or (self.gt is not None and value <= self.gt)
            or (self.le is not None and value > self.le)
        ):
            raise _problem(f"must be {self.reason}, not {value:g}")
        return value


def _number(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        raise _problem("must be a number, not a list or mapping")
    if not isinstance(value, _Scalar) or value.value is None:
        return value
    number = value.value
    if isinstance(number, bool):
        raise _problem(f"must be a number, not the boolean {value.text!r}")
    if isinstance(number, str) and value.plain:
        # PyYAML follows YAML 1.1 and reads `1e3` as a string; unquoted it is
        # plainly meant as a number. Quoted numbers stay errors.
        try:
            number = float(number)
        except ValueError:
            pass
    if not isinstance(number, (int, float)):
        raise _problem(f"must be a number, not {value.text!r}")
    if not math.isfinite(number):
        raise _problem(f"must be a finite number, not {value.text!r}")
    return number


def _whole_number(value: Any) -> Any:
    number = _number(value)
    if isinstance(number, float):
        raise _problem(f"must be a whole number, not {number:g}")
    return number


def _bound(value: Any) -> Any:
    if _is_no_value(value):
        raise _problem("the bound is empty")
    return _number(value)


def _dedupe(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# Published as text or number: `version: 2026.10` is fine, and read as written.
Version = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=1),
    BeforeValidator(_as_written, json_schema_input_type=str | float),
]
Name = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1), BeforeValidator(_text)]
# Keywords, industries and lead sources are compared lower-cased.
Term = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, to_lower=True, min_length=1), BeforeValidator(_text)]
Terms = Annotated[tuple[Term, ...], AfterValidator(_dedupe)]
NonEmptyTerms = Annotated[tuple[Term, ...], Field(min_length=1), AfterValidator(_dedupe)]
Number = Annotated[float, Strict(), AllowInfNan(False), BeforeValidator(_number)]
WholeNumber = Annotated[int, Strict(), BeforeValidator(_whole_number)]
Bound = Annotated[float, Strict(), AllowInfNan(False), BeforeValidator(_bound)]


# -- the model ----------------------------------------------------------------------


class _Section(BaseModel):
    """A mapping of the rules file. Its keys are all known: an unknown one is a typo."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        # Before field validation so that a misspelt key is reported as such,
        # not as the missing key it was meant to be.
        if isinstance(data, dict):
            known = [field.alias or name for name, field in cls.model_fields.items()]
            for key in data:
                if key not in known:
                    raise _problem(cls._unknown_key(key, known), at=key)
            cls._check_keys(list(data))
        return data

    @classmethod
    def _unknown_key(cls, key: str, known: list[str]) -> str:
        return f"unknown key (allowed here: {', '.join(known)})"

    @classmethod
    def _check_keys(cls, keys: list[str]) -> None:
        """Checks on which keys were written, in file order; all of them are known."""


class FinanceRole(_Section):
    """`finance_role`: the lead's job function (see `job_functions`) is this one."""

    job_function: Annotated[Name, Column("finance_job_function")]
    """The job function that qualifies; it must be defined under `job_functions`."""


class CompanySize(_Section):
    """`company_size`: min_exclusive < employee_count <= max_inclusive; a range (CONTRACT s8) passes when
    wholly inside, fails when wholly outside, and is unknown when it straddles a bound."""

    min_exclusive: Annotated[Bound, Column("company_size_min_exclusive")]
    """More employees than this."""
    max_inclusive: Annotated[Bound, Column("company_size_max_inclusive")]
    """At most this many employees."""

    @model_validator(mode="after")
    def _bounds_in_order(self) -> CompanySize:
        if not self.min_exclusive < self.max_inclusive:
            raise _problem(
                f"min_exclusive ({self.min_exclusive:g}) must be less than max_inclusive ({self.max_inclusive:g})"
            )
        return self


class Industry(_Section):
    """`industry`: the resolved industry, lower-cased and trimmed, is one of these."""

    allowed: Annotated[NonEmptyTerms, Column("industries")]
    """The industries that qualify (compared lower-cased)."""


class SalRules(_Section):
    """The SAL rules in force: a lead is accepted when every rule listed passes.
    Leave a rule out to stop evaluating it."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    finance_role: FinanceRole | None = None
    company_size: CompanySize | None = None
    industry: Industry | None = None

    @property
    def in_force(self) -> tuple[str, ...]:
        """The names of the rules listed, sorted as in `sal_reasons`."""
        return tuple(sorted(name for name in type(self).model_fields if getattr(self, name) is not None))

    @classmethod
    def _unknown_key(cls, key: str, known: list[str]) -> str:
        return f"unknown rule {key!r} (known rules: {', '.join(sorted(known))})"

    @classmethod
    def _check_keys(cls, keys: list[str]) -> None:
        if not keys:
            raise _problem("must list at least one rule")


class MarketingSources(_Section):
    """Which lead_source values make a deal marketing-sourced: `include` (only
    these) or `exclude` (every source but these), not both."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "maxProperties": 1})

    include: Annotated[NonEmptyTerms | None, Column("marketing_sources_include")] = None
    """Only these sources are marketing."""
    exclude: Annotated[Terms | None, Column("marketing_sources_exclude")] = None
    """Every source but these is marketing; an empty list makes every source marketing."""

    @classmethod
    def _check_keys(cls, keys: list[str]) -> None:
        # Exactly one form, so that nobody has to guess how the two would combine.
        if not keys:
            raise _problem("needs either `include` or `exclude`")
        if len(keys) > 1:
            raise _problem("use either `include` or `exclude`, not both", at=keys[1])


class Influence(_Section):
    lookback_days: Annotated[Number, Range("zero or more", ge=0), Column("influence_lookback_days")] = 90.0
    """A deal's influence window starts this many days before its created_at."""


class Attribution(_Section):
    time_decay_half_life_days: Annotated[
        Number, Range("more than zero", gt=0), Column("time_decay_half_life_days")
    ] = 7.0
    """Half-life of a touch's weight in time-decay attribution."""


class Abm(_Section):
    window_days: Annotated[WholeNumber, Range("at least 1", ge=1), Column("abm_window_days")] = 90
    """Engaged contacts and touches of target accounts look back this many days from the as-of date."""


class Alerts(_Section):
    undetermined_share_max: Annotated[
        Number, Range("between 0 and 1", ge=0, le=1), Column("undetermined_share_max")
    ] = 0.05
    """The undetermined-share check warns when more leads than this share are undetermined."""


class Rules(_Section):
    """Baton rules: the Sales Accepted Lead definition marketing and sales agreed
    on, and the settings of the figures that depend on it."""

    model_config = ConfigDict(title="Baton rules file")

    version: Annotated[Version, Column("rules_version")]
    """Recorded on every lead row: change it whenever the definition changes."""
    job_functions: Annotated[
        dict[Name, NonEmptyTerms],
        Column("job_function_keywords", keys="job_function_names"),
        Field(json_schema_extra={"minProperties": 1}),
    ]
    """Keywords per job function: a title has a function when it contains one of
    its keywords, case-insensitively. Functions are tried in file order."""
    sal: SalRules = Field(alias="sal_rules")
    marketing_sources: MarketingSources
    influence: Influence = Influence()
    attribution: Attribution = Attribution()
    abm: Abm = Abm()
    alerts: Alerts = Alerts()

    # Where the rules were read from: provenance, not part of the definition,
    # so not a key of the file.
    _path: str = PrivateAttr(default="")

    @property
    def path(self) -> str:
        return self._path

    @property
    def sal_rules(self) -> tuple[str, ...]:
        """The names of the SAL rules in force, sorted."""
        return self.sal.in_force

    @field_validator("job_functions")
    @classmethod
    def _some_job_function(cls, functions: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        if not functions:
            raise _problem("must define at least one job function")
        return functions

    @model_validator(mode="after")
    def _finance_role_names_a_job_function(self) -> Rules:
        role = self.sal.finance_role
        if role is not None and role.job_function not in self.job_functions:
            raise _problem(
                f"job function {role.job_function!r} is not defined under job_functions "
                f"(defined: {', '.join(self.job_functions)})",
                at=("sal_rules", "finance_role", "job_function"),
            )
        return self


KNOWN_SAL_RULES: tuple[str, ...] = tuple(sorted(SalRules.model_fields))


# -- reading the file ------------------------------------------------------------------


def default_rules_path() -> Path:
    """The rules file shipped with the repository.

    Located from this module rather than the working directory so that the
    CLI, Dagster and tests all agree on it wherever they are started from.
    """
    return Path(__file__).resolve().parents[3] / "rules" / "default.yml"


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check a rules file; ``None`` means the repository's default.

    Raises RulesError on the first problem in the file (the one on the
    earliest line), naming the file, the line and the key, so the person who
    edited the file can fix it without knowing anything about the pipeline.
    """
    file = (Path(path) if path is not None else default_rules_path()).resolve()
    document = read_document(file, RulesError)
    if document is None:
        raise RulesError(str(file), "the file is empty; it must be a mapping of keys to values", 1, _TOP_LEVEL)
    try:
        rules = Rules.model_validate(document.data)
    except ValidationError as error:
        raise document.located(error) from None
    rules._path = str(file)
    return rules


# -- the JSON Schema for editors -------------------------------------------------------


SCHEMA_PATH = default_rules_path().with_name("rules.schema.json")


class _EditorSchema(GenerateJsonSchema):
    """The schema of the file as people write it.

    Python may leave a SAL rule or a marketing-sources form as None, but in
    the file a key without a value is always an error, so nothing is nullable.
    """

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if "default" in schema and schema["default"] is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the rules file, as published in rules/rules.schema.json."""
    return {
        "$schema": GenerateJsonSchema.schema_dialect,
        **Rules.model_json_schema(schema_generator=_EditorSchema),
    }


if __name__ == "__main__":
    SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")

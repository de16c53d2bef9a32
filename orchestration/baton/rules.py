"""The rules file: the Sales Accepted Lead definition and the settings that hang off it.

The rules are written by people (marketing ops, sales ops) rather than by the
engineers who run the pipeline, so a mistake in them must stop a run with a
message that points at the exact line and key to fix, instead of silently
producing figures from a half-understood definition. That is why the file is
read with ``yaml.compose`` (which keeps the line of every node) and checked
node by node, and why anything unexpected -- an unknown key, a key left without
a value, a duplicated key -- is an error rather than something to guess about.

Values are kept verbatim apart from trimming and lower-casing: they reach SQL
only as bound parameters, so there is nothing to escape and nothing to reject.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

KNOWN_SAL_RULES: tuple[str, ...] = ("company_size", "finance_role", "industry")

DEFAULT_INFLUENCE_LOOKBACK_DAYS = 90.0
DEFAULT_TIME_DECAY_HALF_LIFE_DAYS = 7.0
DEFAULT_ABM_WINDOW_DAYS = 90
DEFAULT_UNDETERMINED_SHARE_MAX = 0.05

_TOP_LEVEL_KEYS = (
    "version",
    "job_functions",
    "sal_rules",
    "marketing_sources",
    "influence",
    "attribution",
    "abm",
    "alerts",
)
_REQUIRED_TOP_LEVEL_KEYS = ("version", "job_functions", "sal_rules", "marketing_sources")
_COMPANY_SIZE_BOUNDS = ("min_exclusive", "max_inclusive")
_TOP_LEVEL = "(top level)"

_STR_TAG = "tag:yaml.org,2002:str"
_NULL_TAG = "tag:yaml.org,2002:null"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"

# Turns already-composed int/float nodes into Python numbers with YAML's own
# rules (``0x1F``, ``1_000``, ``.inf``) instead of re-implementing them.
_SCALARS = SafeConstructor()


class RulesError(ValueError):
    """A rules file that cannot be used, with where the problem is.

    ``file``, ``line`` and ``key`` are kept as attributes so that callers (and
    tests) can point at the problem without parsing the message.
    """

    def __init__(
        self,
        file: str,
        reason: str,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file = file
        self.reason = reason
        self.line = line
        self.key = key
        where = f"rules file {file}" if line is None else f"rules file {file}, line {line}"
        what = reason if key is None else f"{key}: {reason}"
        super().__init__(f"{where}: {what}")

    def __reduce__(self) -> tuple[type[RulesError], tuple[str, str, int | None, str | None]]:
        # The default reduction would call __init__ with the formatted message
        # only; runs may ship errors between processes, so keep them picklable.
        return (type(self), (self.file, self.reason, self.line, self.key))


@dataclass(frozen=True)
class Rules:
    """A checked rules file, in the shapes the pipeline uses.

    Tuples rather than lists keep the object hashable and safe to share
    between assets; absent SAL rules show up as ``None`` / ``()`` so that
    "no such rule" is never confused with "a rule that allows nothing".
    """

    version: str
    path: str
    job_functions: tuple[tuple[str, tuple[str, ...]], ...]
    sal_rules: tuple[str, ...]
    finance_job_function: str | None
    company_size_min_exclusive: float | None
    company_size_max_inclusive: float | None
    industries: tuple[str, ...]
    marketing_sources_include: tuple[str, ...] | None
    marketing_sources_exclude: tuple[str, ...]
    influence_lookback_days: float
    time_decay_half_life_days: float
    abm_window_days: int
    undetermined_share_max: float

    def as_config_row(self, as_of: datetime.date) -> dict[str, Any]:
        """The rules as one flat row, so SQL models can join on them.

        dbt models read the definition from a table rather than from Jinja
        variables, which keeps every value a bound parameter and lets each
        output row be traced back to the rules version and date it used.
        """
        return {
            "rules_version": self.version,
            "rules_path": self.path,
            "as_of_date": as_of,
            "sal_rules": list(self.sal_rules),
            "finance_job_function": self.finance_job_function,
            "job_function_names": [name for name, _ in self.job_functions],
            "job_function_keywords": [list(keywords) for _, keywords in self.job_functions],
            "company_size_min_exclusive": self.company_size_min_exclusive,
            "company_size_max_inclusive": self.company_size_max_inclusive,
            "industries": list(self.industries),
            "marketing_sources_include": (
                None
                if self.marketing_sources_include is None
                else list(self.marketing_sources_include)
            ),
            "marketing_sources_exclude": list(self.marketing_sources_exclude),
            "influence_lookback_days": self.influence_lookback_days,
            "time_decay_half_life_days": self.time_decay_half_life_days,
            "abm_window_days": self.abm_window_days,
            "undetermined_share_max": self.undetermined_share_max,
        }


def default_rules_path() -> Path:
    """The rules file shipped with the repository.

    Located from this module rather than the working directory so that the
    CLI, Dagster and tests all agree on it wherever they are started from.
    """
    return Path(__file__).resolve().parents[2] / "rules" / "default.yml"


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check a rules file; ``None`` means the repository's default.

    Raises RulesError on the first problem found, naming the file, the line
    and the key, so the person who edited the file can fix it without
    knowing anything about the pipeline.
    """
    file = (Path(path) if path is not None else default_rules_path()).resolve()
    text = _read_text(file)
    root = _compose(file, text)
    return _Checker(str(file)).rules(root)


def _read_text(file: Path) -> str:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise RulesError(str(file), f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RulesError(str(file), "the file is not valid UTF-8", line=line) from exc


def _compose(file: Path, text: str) -> Node | None:
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise RulesError(
            str(file),
            f"not valid YAML: {reason or exc}",
            line=None if mark is None else mark.line + 1,
        ) from exc
    except yaml.reader.ReaderError as exc:
        # Raised for characters YAML does not allow (e.g. control characters);
        # it only knows the character offset, so count the lines ourselves.
        line = text.count("\n", 0, exc.position) + 1
        raise RulesError(str(file), f"not valid YAML: {exc}", line=line) from exc
    except yaml.YAMLError as exc:
        raise RulesError(str(file), f"not valid YAML: {exc}") from exc


class _Field(NamedTuple):
    """A value in the file together with where it was written.

    ``line`` is the line of the key (or list item) the value belongs to: a
    value that is missing or empty has no useful line of its own.
    """

    path: str
    line: int
    node: Node


def _join(parent: str, name: str) -> str:
    return name if not parent else f"{parent}.{name}"


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


class _SalRules(NamedTuple):
    """What `sal_rules` contributes to Rules; None / () for a rule that is absent."""

    names: tuple[str, ...]
    finance_job_function: str | None
    min_exclusive: float | None
    max_inclusive: float | None
    industries: tuple[str, ...]


class _Checker:
    """Walks the composed YAML, turning every problem into a located RulesError."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, field: _Field | int, reason: str, key: str | None = None) -> NoReturn:
        if isinstance(field, _Field):
            raise RulesError(self.file, reason, line=field.line, key=key or field.path or _TOP_LEVEL)
        raise RulesError(self.file, reason, line=field, key=key)

    # -- the file's sections ------------------------------------------------

    def rules(self, root: Node | None) -> Rules:
        if root is None:
            self.fail(1, "the file is empty; it must be a mapping of keys to values", _TOP_LEVEL)
        top = self.mapping(
            _Field("", root.start_mark.line + 1, root),
            allowed=_TOP_LEVEL_KEYS,
            required=_REQUIRED_TOP_LEVEL_KEYS,
        )
        version = self.scalar_text(top["version"])
        job_functions = self.job_functions(top["job_functions"])
        sal = self.sal_rules(top["sal_rules"], [name for name, _ in job_functions])
        include, exclude = self.marketing_sources(top["marketing_sources"])
        lookback_days = self.setting(
            top, "influence", "lookback_days",
            default=DEFAULT_INFLUENCE_LOOKBACK_DAYS, valid=lambda v: v >= 0, requirement="zero or more",
        )
        half_life_days = self.setting(
            top, "attribution", "time_decay_half_life_days",
            default=DEFAULT_TIME_DECAY_HALF_LIFE_DAYS, valid=lambda v: v > 0, requirement="more than zero",
        )
        abm_window_days = self.setting(
            top, "abm", "window_days",
            default=DEFAULT_ABM_WINDOW_DAYS, valid=lambda v: v >= 1, requirement="at least 1", integer=True,
        )
        undetermined_share_max = self.setting(
            top, "alerts", "undetermined_share_max",
            default=DEFAULT_UNDETERMINED_SHARE_MAX, valid=lambda v: 0 <= v <= 1, requirement="between 0 and 1",
        )
        return Rules(
            version=version,
            path=self.file,
            job_functions=job_functions,
            sal_rules=sal.names,
            finance_job_function=sal.finance_job_function,
            company_size_min_exclusive=sal.min_exclusive,
            company_size_max_inclusive=sal.max_inclusive,
            industries=sal.industries,
            marketing_sources_include=include,
            marketing_sources_exclude=exclude,
            influence_lookback_days=float(lookback_days),
            time_decay_half_life_days=float(half_life_days),
            abm_window_days=int(abm_window_days),
            undetermined_share_max=float(undetermined_share_max),
        )

    def job_functions(self, field: _Field) -> tuple[tuple[str, tuple[str, ...]], ...]:
        functions = self.mapping(field)
        if not functions:
            self.fail(field, "must define at least one job function")
        return tuple(
            (name, self.string_list(keywords, lower=True)) for name, keywords in functions.items()
        )

    def sal_rules(self, field: _Field, job_function_names: Collection[str]) -> _SalRules:
        entries = self.mapping(field)
        if not entries:
            self.fail(field, "must list at least one rule")
        for name, rule in entries.items():
            if name not in KNOWN_SAL_RULES:
                self.fail(rule, f"unknown rule {name!r} (known rules: {', '.join(KNOWN_SAL_RULES)})")

        finance_job_function: str | None = None
        if "finance_role" in entries:
            settings = self.mapping(
                entries["finance_role"], allowed=("job_function",), required=("job_function",)
            )
            named = settings["job_function"]
            finance_job_function = self.string(named)
            if finance_job_function not in job_function_names:
                self.fail(
                    named,
                    f"job function {finance_job_function!r} is not defined under job_functions "
                    f"(defined: {', '.join(job_function_names)})",
                )

        min_exclusive: float | None = None
        max_inclusive: float | None = None
        if "company_size" in entries:
            rule = entries["company_size"]
            bounds = self.mapping(rule, allowed=_COMPANY_SIZE_BOUNDS, required=_COMPANY_SIZE_BOUNDS)
            min_exclusive = self.bound(bounds["min_exclusive"])
            max_inclusive = self.bound(bounds["max_inclusive"])
            if not min_exclusive < max_inclusive:
                self.fail(
                    rule,
                    f"min_exclusive ({min_exclusive:g}) must be less than "
                    f"max_inclusive ({max_inclusive:g})",
                )

        industries: tuple[str, ...] = ()
        if "industry" in entries:
            settings = self.mapping(entries["industry"], allowed=("allowed",), required=("allowed",))
            industries = self.string_list(settings["allowed"], lower=True)

        return _SalRules(
            names=tuple(sorted(entries)),
            finance_job_function=finance_job_function,
            min_exclusive=min_exclusive,
            max_inclusive=max_inclusive,
            industries=industries,
        )

    def marketing_sources(self, field: _Field) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
        # Exactly one form, so that nobody has to guess how the two would combine.
        lists = self.mapping(field, allowed=("include", "exclude"))
        if not lists:
            self.fail(field, "needs either `include` or `exclude`")
        if len(lists) > 1:
            self.fail(list(lists.values())[1], "use either `include` or `exclude`, not both")
        if "include" in lists:
            return self.string_list(lists["include"], lower=True), ()
        # An empty exclude list is meaningful: every source counts as marketing.
        return None, self.string_list(lists["exclude"], lower=True, allow_empty=True)

    def setting(
        self,
        top: dict[str, _Field],
        section: str,
        key: str,
        *,
        default: float,
        valid: Callable[[float], bool],
        requirement: str,
        integer: bool = False,
    ) -> float:
        """One number of an optional single-setting section, or its default."""
        if section not in top:
            return default
        entries = self.mapping(top[section], allowed=(key,))
        if key not in entries:
            return default
        field = entries[key]
        value = self.integer(field) if integer else self.number(field)
        if not valid(value):
            self.fail(field, f"must be {requirement}, not {value:g}")
        return value

    # -- value shapes ---------------------------------------------------------

    def present(self, field: _Field) -> Node:
        """The value's node; a key written without a value is a mistake, not a default."""
        if _is_null(field.node):
            self.fail(field, "has no value")
        return field.node

    def mapping(
        self,
        field: _Field,
        allowed: Collection[str] | None = None,
        required: Collection[str] = (),
    ) -> dict[str, _Field]:
        """The mapping's entries by trimmed key, in file order.

        Duplicate keys are rejected because YAML would silently keep the last
        one, and a shadowed rule is exactly the kind of mistake to catch.
        """
        node = self.present(field)
        if not isinstance(node, MappingNode):
            self.fail(field, "must be a mapping of keys to values")
        entries: dict[str, _Field] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not (isinstance(key_node, ScalarNode) and key_node.tag == _STR_TAG):
                shown = f" {key_node.value!r}" if isinstance(key_node, ScalarNode) else ""
                self.fail(line, f"key{shown} must be a string (quote it)", field.path or _TOP_LEVEL)
            name = key_node.value.strip()
            if not name:
                self.fail(line, "a key is empty", field.path or _TOP_LEVEL)
            entry = _Field(_join(field.path, name), line, value_node)
            if name in entries:
                self.fail(entry, f"duplicate key (first given on line {entries[name].line})")
            if allowed is not None and name not in allowed:
                self.fail(entry, f"unknown key (allowed here: {', '.join(allowed)})")
            entries[name] = entry
        for name in required:
            if name not in entries:
                self.fail(field, "missing required key", _join(field.path, name))
        return entries

    def scalar_text(self, field: _Field) -> str:
        """Any scalar as written, so that `version: 2026.1` stays "2026.1"."""
        node = self.present(field)
        if not isinstance(node, ScalarNode):
            self.fail(field, "must be a single value, not a list or mapping")
        text = node.value.strip()
        if not text:
            self.fail(field, "must not be empty")
        return text

    def string(self, field: _Field) -> str:
        node = self.present(field)
        if not isinstance(node, ScalarNode):
            self.fail(field, "must be a string, not a list or mapping")
        if node.tag != _STR_TAG:
            self.fail(field, f"must be a string, not {node.value!r} (quote it)")
        text = node.value.strip()
        if not text:
            self.fail(field, "must not be empty")
        return text

    def string_list(
        self, field: _Field, *, lower: bool, allow_empty: bool = False
    ) -> tuple[str, ...]:
        node = self.present(field)
        if not isinstance(node, SequenceNode):
            self.fail(field, "must be a list")
        if not node.value and not allow_empty:
            self.fail(field, "must list at least one value")
        values = (
            self.string(_Field(f"{field.path}[{index}]", item.start_mark.line + 1, item))
            for index, item in enumerate(node.value)
        )
        return _dedupe(value.lower() if lower else value for value in values)

    def number(self, field: _Field) -> int | float:
        node = self.present(field)
        if not isinstance(node, ScalarNode):
            self.fail(field, "must be a number, not a list or mapping")
        value: int | float
        if node.tag == _BOOL_TAG:
            self.fail(field, f"must be a number, not the boolean {node.value!r}")
        elif node.tag == _INT_TAG:
            value = _SCALARS.construct_yaml_int(node)
        elif node.tag == _FLOAT_TAG:
            value = _SCALARS.construct_yaml_float(node)
        elif node.tag == _STR_TAG and node.style is None and _parses_as_float(node.value):
            # PyYAML follows YAML 1.1 and reads `1e3` as a string; unquoted it
            # is plainly meant as a number. Quoted numbers stay errors.
            value = float(node.value)
        else:
            self.fail(field, f"must be a number, not {node.value!r}")
        if not math.isfinite(value):
            self.fail(field, f"must be a finite number, not {node.value!r}")
        return value

    def integer(self, field: _Field) -> int:
        value = self.number(field)
        if not isinstance(value, int):
            self.fail(field, f"must be a whole number, not {value:g}")
        return value

    def bound(self, field: _Field) -> float:
        if _is_null(field.node):
            self.fail(field, "the bound is empty")
        return float(self.number(field))


def _parses_as_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

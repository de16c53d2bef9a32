"""The contract's fixed vocabularies, read from the one place they are written.

Event types (CONTRACT s2), the won and lost stages that close a deal (s2, s5)
and the free-mail providers (s3) are dbt project vars in
`dbt_project/dbt_project.yml` (`vars:`). The dbt models read them there with
`{{ sql_list('free_mail_domains') }}` / `{{ sql_literal(var('won_stage')) }}`
(dbt_project/macros/vocabularies.sql); Python reads the same file here. So the
extract step, the generators, the benchmark's reference SQL and the models
cannot disagree, and the dbt build fingerprint (dbt_builds.py) includes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

from baton.lib.settings import DBT_PROJECT_DIR

PROJECT_FILE = DBT_PROJECT_DIR / "dbt_project.yml"

# var name -> True for a list of values, False for one value
_SHAPES = {"event_types": True, "won_stage": False, "lost_stage": False, "free_mail_domains": True}


def load(path: Path = PROJECT_FILE) -> dict[str, tuple[str, ...] | str]:
    """The vocabularies of `path`'s `vars:`: lists as tuples, single values as strings.
    Read anew on each call (the dbt build fingerprint wants the file as it is now)."""
    variables = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("vars") or {}
    found: dict[str, tuple[str, ...] | str] = {}
    for name, is_list in _SHAPES.items():
        value = variables.get(name)
        values = value if is_list else [value]
        if not isinstance(values, list) or not values or not all(
            isinstance(v, str) and v and v == v.strip().lower() for v in values
        ):
            shape = "a non-empty list of" if is_list else "one"
            raise ValueError(f"{path}: vars.{name} must be {shape} lower-case, trimmed, non-empty text value(s)")
        found[name] = tuple(values) if is_list else values[0]
    return found


_VOCABULARIES = load()
EVENT_TYPES: tuple[str, ...] = _VOCABULARIES["event_types"]  # type: ignore[assignment]
WON_STAGE: str = _VOCABULARIES["won_stage"]  # type: ignore[assignment]
LOST_STAGE: str = _VOCABULARIES["lost_stage"]  # type: ignore[assignment]
CLOSED_STAGES: tuple[str, ...] = (WON_STAGE, LOST_STAGE)
FREE_MAIL_DOMAINS: tuple[str, ...] = _VOCABULARIES["free_mail_domains"]  # type: ignore[assignment]


def check_subset(owner: str, values: Iterable[str], vocabulary: tuple[str, ...], every: bool = False) -> None:
    """Fail at import when a generator's own choice of values (its weight per event type, the
    free-mail providers it uses) names one the vocabulary does not hold or, with `every`,
    leaves one out."""
    values = set(values)
    unknown, missing = sorted(values - set(vocabulary)), sorted(set(vocabulary) - values) if every else []
    if unknown or missing:
        raise ValueError(f"{owner}: not in the vocabulary of {PROJECT_FILE}: {unknown}; missing: {missing}")

"""The validated rules as the one-row table `config.rules` that dbt models read.

The columns are the settings of the `Rules` model (rules.py), named by each
setting's `Column` and typed from its annotation, so a new setting reaches dbt
without being listed here. A section left out of the file (a SAL rule not in
force) leaves its columns NULL.

Values travel as bound parameters, never formatted into SQL text, so an
industry named `'; DROP TABLE x` is just an industry.
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator
from typing import Annotated, Any, NamedTuple, Union, get_args, get_origin

import duckdb
from pydantic import BaseModel

from baton.lib.rules import Column, Rules

_SQL_TYPES: dict[Any, str] = {str: "VARCHAR", float: "DOUBLE", int: "INTEGER", bool: "BOOLEAN", dt.date: "DATE"}


class ConfigColumn(NamedTuple):
    name: str
    sql_type: str
    value: Any


def config_columns(rules: Rules, as_of: dt.date) -> list[ConfigColumn]:
    """The row of `config.rules`: the run's context, then every setting of the file."""
    return [
        ConfigColumn("rules_path", "VARCHAR", rules.path),
        ConfigColumn("as_of_date", "DATE", as_of),
        ConfigColumn("sal_rules", "VARCHAR[]", list(rules.sal_rules)),
        *_settings(Rules, rules),
    ]


def write_rules_table(conn: duckdb.DuckDBPyConnection, rules: Rules, as_of: dt.date) -> None:
    columns = config_columns(rules, as_of)
    definition = ", ".join(f"{column.name} {column.sql_type}" for column in columns)
    placeholders = ", ".join(f"CAST(? AS {column.sql_type})" for column in columns)
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("CREATE SCHEMA IF NOT EXISTS config")
        conn.execute(f"CREATE OR REPLACE TABLE config.rules ({definition})")
        conn.execute(f"INSERT INTO config.rules VALUES ({placeholders})", [column.value for column in columns])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _settings(model_type: type[BaseModel], model: BaseModel | None) -> Iterator[ConfigColumn]:
    for name, field in model_type.model_fields.items():
        value = None if model is None else getattr(model, name)
        section = _bare(field.annotation)
        if isinstance(section, type) and issubclass(section, BaseModel):
            yield from _settings(section, value)
            continue
        column = next((item for item in field.metadata if isinstance(item, Column)), None)
        if column is None:
            raise TypeError(f"{model_type.__name__}.{name} has no Column: name its column in config.rules")
        if column.keys is not None:
            key_type, value_type = get_args(_bare(field.annotation))
            yield ConfigColumn(column.keys, _sql_type(key_type) + "[]", None if value is None else list(value))
            yield ConfigColumn(
                column.name,
                _sql_type(value_type) + "[]",
                None if value is None else [_sql_value(item) for item in value.values()],
            )
        else:
            yield ConfigColumn(column.name, _sql_type(field.annotation), _sql_value(value))


def _bare(annotation: Any) -> Any:
    """The type without its validators and without `| None` (absent means NULL)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            (annotation,) = [arg for arg in get_args(annotation) if arg is not type(None)]
        else:
            return annotation


def _sql_type(annotation: Any) -> str:
    bare = _bare(annotation)
    if get_origin(bare) is tuple:
        return _sql_type(get_args(bare)[0]) + "[]"
    return _SQL_TYPES[bare]


def _sql_value(value: Any) -> Any:
    # DuckDB binds a Python list as a LIST; the model keeps tuples (immutable).
    if isinstance(value, tuple):
        return [_sql_value(item) for item in value]
    return value

"""dbt's `unique` data test on DuckDB is the project's two-pass version
(dbt_project/macros/test_unique.sql: hashes first, then the values with a repeated
hash), which stays within the warehouse's memory limit where dbt's own ran out
(200M event ids, docs/scale-out.md). It must return what dbt's own returns."""

from __future__ import annotations

import random
from pathlib import Path

import duckdb
import pytest

from dbt_macros import render_macro


def _dbt_default_unique(model: str, column: str) -> str:
    import jinja2
    from dbt.include.global_project import PACKAGE_PATH

    source = Path(PACKAGE_PATH) / "macros" / "generic_test_sql" / "unique.sql"
    module = jinja2.Environment().from_string(source.read_text(encoding="utf-8")).module
    return str(module.default__test_unique(model, column))


def _ours(model: str, column: str) -> str:
    return render_macro("test_unique.sql", "duckdb__test_unique", model, column)


@pytest.fixture
def conn():
    rng = random.Random(3)
    values = [f"E-{rng.randrange(0, 5000):06d}" for _ in range(6000)] + [None] * 40 + ["x", "x", "", ""]
    rng.shuffle(values)
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE events AS SELECT unnest(?::VARCHAR[]) AS event_id", [values])
        connection.execute("CREATE TABLE distinct_events AS SELECT DISTINCT event_id FROM events")
        yield connection


def _rows(conn, sql: str) -> list[tuple]:
    return sorted(conn.execute(sql).fetchall(), key=repr)


def test_it_reports_exactly_the_duplicates_dbt_s_own_test_reports(conn) -> None:
    ours, theirs = _rows(conn, _ours("events", "event_id")), _rows(conn, _dbt_default_unique("events", "event_id"))
    assert ours == theirs and len(ours) > 100
    assert ("x", 2) in ours and ("", 2) in ours and all(value is not None for value, _ in ours)
    assert _rows(conn, _ours("distinct_events", "event_id")) == []


def test_values_that_share_a_hash_but_differ_are_not_duplicates(conn) -> None:
    """A weak stand-in for hash() (the value's length: every E-nnnnnn collides) must not
    change the answer: the second pass compares the values themselves."""
    colliding = _ours("distinct_events", "event_id").replace("hash(", "length(")
    assert "length(event_id)" in colliding
    assert _rows(conn, colliding) == []
    assert _rows(conn, _ours("events", "event_id").replace("hash(", "length(")) == _rows(
        conn, _dbt_default_unique("events", "event_id")
    )

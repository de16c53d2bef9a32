"""Runs the dbt unit tests (`unit_tests:` in the dbt project) against a built warehouse.

The unit tests hold hand-computed expectations for the rules of CONTRACT
sections 3, 4, 5 and 7 (identity, SAL, sourced/influenced pipeline, precise
readings). dbt needs every upstream relation to exist to learn column types,
so they run against the sample warehouse built by the `built_warehouse`
fixture (tests/conftest.py, BATON_AS_OF=2026-11-15).

Every unit test of the project runs. Besides a zero exit code, the test
checks that dbt reports exactly as many passed unit tests as the yml files
define, so a unit test that silently stops being collected (bad yml key,
renamed model) fails here too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dbt_macros import render_macro

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
UNIT_TEST_FILES = tuple(
    path for path in sorted((DBT_PROJECT / "models").rglob("*.yml")) if "unit_tests:" in path.read_text(encoding="utf-8")
)

# dbt's closing line, e.g. "Done. PASS=31 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=31"
_SUMMARY = re.compile(r"Done\.\s+PASS=(?P<passed>\d+)\b.*?\bTOTAL=(?P<total>\d+)")


def _unit_tests() -> list[dict]:
    tests: list[dict] = []
    for path in UNIT_TEST_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tests.extend(document.get("unit_tests") or [])
    return tests


def _dbt_executable() -> str:
    # The dbt of the interpreter running pytest (the project's venv), else PATH.
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if found is None:
        pytest.fail("dbt executable not found next to the Python interpreter nor on PATH")
    return found


def test_unit_test_files_define_named_described_tests() -> None:
    tests = _unit_tests()
    assert tests, "no dbt unit tests defined"
    names = [test.get("name") for test in tests]
    assert all(names), "every unit test needs a name"
    assert len(names) == len(set(names)), f"duplicate unit test names: {sorted(n for n in names if names.count(n) > 1)}"
    for test in tests:
        assert test.get("model"), f"{test['name']}: no model"
        assert (test.get("description") or "").strip(), f"{test['name']}: no description (the hand computation)"
        assert test.get("given") is not None and test.get("expect") is not None, f"{test['name']}: needs given and expect"


@pytest.mark.slow
def test_dbt_unit_tests_pass(built_warehouse: Path, tmp_path: Path) -> None:
    expected = len(_unit_tests())
    env = dict(os.environ)
    env["BATON_DUCKDB_PATH"] = str(built_warehouse)
    env["DO_NOT_TRACK"] = "1"
    # A private target/log dir: the run neither reads nor clobbers the
    # project's partial-parse state and artifacts.
    result = subprocess.run(
        [
            _dbt_executable(),
            "--no-use-colors",
            "test",
            "--project-dir", str(DBT_PROJECT),
            "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(tmp_path / "target"),
            "--log-path", str(tmp_path / "logs"),
            "--select", "test_type:unit",
        ],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"dbt unit tests failed (exit {result.returncode}):\n{output[-8000:]}"
    assert _SUMMARY.findall(output), f"no 'Done. PASS=N ... TOTAL=N' summary in dbt output:\n{output[-4000:]}"
    # Counted from run_results.json: the summary's PASS also counts the on-run-start hook.
    results = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]
    unit_results = [r for r in results if r["unique_id"].startswith("unit_test.")]
    passed = sum(r["status"] == "pass" for r in unit_results)
    assert passed == expected, f"dbt reports {passed} unit tests passed, the yml files define {expected} unit tests"
    assert len(unit_results) == expected, f"dbt ran {len(unit_results)} unit tests, the yml files define {expected}"


# ------------------------------------------------------------ fixed_order_sum
# Every sum of DOUBLEs over rows in the models goes through the fixed_order_sum
# macro (dbt_project/macros/fixed_order_sum.sql), so that a rerun or a nightly
# incremental build gives the same bits as a full build. These tests run the
# macro's SQL in DuckDB directly, on values stored in different orders and with
# 1 or 2 threads, next to a plain sum() that does not.


def _fixed_order_sum(expression: str, **kwargs: object) -> str:
    return render_macro("fixed_order_sum.sql", "fixed_order_sum", expression, **kwargs)


def _results_in_orders(values: list, select: str, orders: list[list[int]], threads: tuple[int, ...] = (1,)) -> set:
    """The results of `select` over a table t(i, g, x) (x = values[i], g = i % 3) whose rows are
    stored in each of `orders`, run with each number of threads."""
    import duckdb

    results = set()
    for order in orders:
        with duckdb.connect() as conn:
            conn.execute("SET preserve_insertion_order = true")
            conn.execute(
                "CREATE TABLE t AS SELECT i, i % 3 AS g, v[i + 1] AS x "
                "FROM (SELECT ?::DOUBLE[] AS v), unnest(?::BIGINT[]) WITH ORDINALITY AS u(i, position) ORDER BY position",
                [values, order],
            )
            for n in threads:
                conn.execute(f"SET threads = {n}")
                rows = conn.execute(select).fetchall()
                results.add(tuple(tuple(row) for row in rows))
    return results


def test_a_plain_double_sum_depends_on_the_order_fixed_order_sum_does_not() -> None:
    """1e16 + 1 is 1e16 in doubles (the spacing of doubles there is 2): 1e16, 1, 1 summed in that
    order gives 1e16, in the order 1, 1, 1e16 gives 1e16 + 2. fixed_order_sum adds in ascending
    order whatever the storage order: always 1e16 + 2. A null is skipped, a FILTER applies, and a
    sum over no row is null, as with sum()."""
    values = [1e16, 1.0, 1.0, None]
    orders = [[0, 1, 2, 3], [1, 2, 0, 3], [3, 1, 0, 2], [2, 3, 1, 0]]
    assert _results_in_orders(values, "SELECT sum(x) FROM t", orders) == {((1e16,),), ((1e16 + 2,),)}
    assert _results_in_orders(values, f"SELECT {_fixed_order_sum('x')} FROM t", orders) == {((1e16 + 2,),)}
    assert _results_in_orders(values, f"SELECT {_fixed_order_sum('x', where='i <> 2')} FROM t", orders) == {
        ((1e16,),)  # 1 + 1e16
    }
    assert _results_in_orders(values, f"SELECT {_fixed_order_sum('x', where='x > 1e17')} FROM t", orders) == {((None,),)}
    # per group (g = i % 3): 1e16 and the null; 1; 1
    by_group = f"SELECT g, {_fixed_order_sum('x')} FROM t GROUP BY g ORDER BY g"
    assert _results_in_orders(values, by_group, orders) == {((0, 1e16), (1, 1.0), (2, 1.0))}


def test_fixed_order_sum_of_many_amounts_is_the_same_in_any_storage_order_and_with_any_threads() -> None:
    """300,000 amounts in cents, from 0.01 to 10 million (several row groups, so DuckDB adds them in
    parallel): the plain sum changes with the storage order and the number of threads,
    fixed_order_sum never; both are within a few units of the last place of the exact total."""
    import math
    import random

    rng = random.Random(20261115)
    values = [round(rng.uniform(0.01, 10.0 ** rng.randint(0, 7)), 2) for _ in range(300_000)]
    orders = [list(range(len(values)))]
    for seed in (1, 2):
        shuffled = list(range(len(values)))
        random.Random(seed).shuffle(shuffled)
        orders.append(shuffled)
    plain = {rows[0][0] for rows in _results_in_orders(values, "SELECT sum(x) FROM t", orders, threads=(1, 2))}
    fixed = {rows[0][0] for rows in _results_in_orders(values, f"SELECT {_fixed_order_sum('x')} FROM t", orders, threads=(1, 2))}
    assert len(plain) > 1, "the plain sum was the same in every order: the demonstration would prove nothing"
    assert len(fixed) == 1
    exact = math.fsum(values)
    assert all(abs(total - exact) <= 1e-12 * exact for total in plain | fixed)


def test_time_decay_normalisation_through_fixed_order_sum_is_the_same_in_any_order() -> None:
    """The normalisation of int_attribution_weights: x / (fixed_order_sum(x) per deal, joined back),
    on relative weights in (0, 1]: the weights have the same bits whatever the order the rows are
    stored in, and sum to 1 per deal; with a window sum() they do not."""
    import math
    import random

    rng = random.Random(7)
    values = [2.0 ** (-rng.uniform(0, 60) / 7) for _ in range(3000)]
    orders = [list(range(3000)), list(reversed(range(3000))), sorted(range(3000), key=lambda i: values[i])]
    plain = _results_in_orders(values, "SELECT i, x / sum(x) OVER (PARTITION BY g) FROM t ORDER BY i", orders)
    fixed = _results_in_orders(
        values,
        f"""SELECT i, x / total FROM t
        INNER JOIN (SELECT g, {_fixed_order_sum('x')} AS total FROM t GROUP BY g) USING (g) ORDER BY i""",
        orders,
        threads=(1, 2),
    )
    assert len(plain) > 1, "the window sum was the same in every order: the demonstration would prove nothing"
    assert len(fixed) == 1
    [weights] = fixed
    for g in range(3):
        assert math.fsum(w for i, w in weights if i % 3 == g) == pytest.approx(1, abs=1e-12)
    for plain_weights in plain:  # the window sum differs only in the last bits
        assert [w for _, w in plain_weights] == pytest.approx([w for _, w in weights], rel=1e-13)

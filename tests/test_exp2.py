"""2^x as the time-decay weights compute it (dbt_project/macros/exp2.sql).

The macro uses + - * / only, so DuckDB and Spark give it the same bits
(tests/test_spark.py runs it on both). Here: it is as accurate as the C
library's pow (never more than 1 ulp from the true value), exact where 2^x is
a double, and right at the edges of the double range. The references are
computed independently of the macro: exact powers of two with math.ldexp, the
correctly rounded sqrt(2) (so 2^(k + 1/2) is known to half an ulp), and
Python's math.pow.
"""

from __future__ import annotations

import math
import random
import struct

import duckdb
import pytest

from dbt_macros import render_macro


def exp2_sql(x: str) -> str:
    return render_macro("exp2.sql", "exp2", x)


def ulps_apart(a: float, b: float) -> int:
    def ordered(value: float) -> int:
        bits = struct.unpack(">q", struct.pack(">d", value))[0]
        return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF)
    return abs(ordered(a) - ordered(b))


def in_duckdb(expression: str, xs: list[float | None]) -> list[float | None]:
    """`expression` of a DOUBLE x, for each of `xs` in order."""
    with duckdb.connect() as conn:
        return [row[0] for row in conn.execute(
            f"SELECT {expression} FROM unnest(?::DOUBLE[]) WITH ORDINALITY AS t(x, i) ORDER BY i", [xs]
        ).fetchall()]


def exp2_in_duckdb(xs: list[float | None]) -> list[float | None]:
    return in_duckdb(exp2_sql("x"), xs)


def test_exp2_is_exact_on_every_integer_exponent_of_the_double_range() -> None:
    exponents = list(range(-1074, 1024))
    got = exp2_in_duckdb([float(k) for k in exponents])
    wrong = [(k, value) for k, value in zip(exponents, got) if value != math.ldexp(1.0, k)]
    assert not wrong, wrong[:5]


def test_exp2_of_half_integers_is_within_one_ulp_of_sqrt2_times_the_power() -> None:
    # 2^(k + 1/2) = sqrt(2) * 2^k: math.sqrt is correctly rounded and the product by 2^k exact
    exponents = list(range(-1000, 1000))
    got = exp2_in_duckdb([k + 0.5 for k in exponents])
    for k, value in zip(exponents, got):
        assert ulps_apart(value, math.sqrt(2) * math.ldexp(1.0, k)) <= 1, (k, value)
    assert got[exponents.index(0)] in (math.sqrt(2), math.nextafter(math.sqrt(2), 0))


def test_exp2_is_within_one_ulp_of_the_c_library_pow_where_time_decay_uses_it() -> None:
    rng = random.Random(20261206)
    # time-decay exponents: -(days)/7 for touches up to ~2 years old, at microsecond resolution
    xs = [-(rng.randrange(0, 730 * 86_400_000_000) / 86_400_000_000) / 7 for _ in range(50_000)]
    xs += [rng.uniform(-1074, 1023) for _ in range(20_000)]
    got = exp2_in_duckdb(xs)
    distances = [ulps_apart(value, math.pow(2.0, x)) for x, value in zip(xs, got)]
    assert max(distances) <= 1
    # and mostly the same bits: measured 90% equal (ulps_apart 0) on the time-decay range
    assert sum(d == 0 for d in distances[:50_000]) > 0.85 * 50_000


def test_exp2_decreases_as_the_exponent_decreases() -> None:
    xs = [-i / 7_000 for i in range(0, 70_000)]
    got = exp2_in_duckdb(xs)
    assert all(later <= earlier for earlier, later in zip(got, got[1:]))


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, 1.0),
        (-2.0, 0.25),  # 2^(-14/7): the unit test int_attribution_weights_n2_closed_deal_7_and_14_days
        (-1074.0, 5e-324),  # the smallest subnormal
        (-1075.0, 0.0),  # 2^-1075 is half the smallest subnormal: rounds to 0, as pow does
        (-46_000 / 7, 0.0),
        (1023.0, math.ldexp(1.0, 1023)),
        (1023.5, None),  # outside the domain: 2^x overflows a double from 1024
        (None, None),
    ],
)
def test_exp2_at_the_edges(x: float | None, expected: float | None) -> None:
    assert exp2_in_duckdb([x]) == [expected]

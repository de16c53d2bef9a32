"""How numbers are written in the report (docs/report.md, "Number formats").

The rules are exact, so a test (or a reader with a calculator) gets the same
text from the marts:

- a share is `100 x numerator / denominator`, computed exactly from the two
  counts, rounded half up to one decimal, then `%`: 82 of 313 -> `26.2%`;
  `—` when the denominator is 0;
- an amount (ARR, cost) is rounded half up to whole units and grouped by
  thousands with commas, no currency sign (the contract fixes one currency but
  not which): 1234567.5 -> `1,234,568`; `—` when unknown;
- a count is grouped by thousands: `1,234`.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

NOT_AVAILABLE = "—"


def share(numerator: int | None, denominator: int | None) -> Fraction | None:
    """numerator / denominator as an exact fraction; None when the denominator is 0 or unknown."""
    if numerator is None or not denominator:
        return None
    return Fraction(int(numerator), int(denominator))


def pct(numerator: int | None, denominator: int | None) -> str:
    """`26.2%`: 100 x numerator / denominator, exactly, rounded half up to one decimal."""
    value = share(numerator, denominator)
    if value is None:
        return NOT_AVAILABLE
    tenths = _round_half_up(value * 1000)  # tenths of a percent
    sign = "-" if tenths < 0 else ""
    whole, tenth = divmod(abs(tenths), 10)
    return f"{sign}{whole}.{tenth}%"


def _round_half_up(value: Fraction) -> int:
    """Round to the nearest integer, halves away from zero."""
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return -magnitude if value < 0 else magnitude


def to_decimal(value: float | int | Decimal | None) -> Decimal | None:
    """A mart value as a Decimal (a DOUBLE through its shortest repr, so 0.1 stays 0.1)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def amount(value: float | int | Decimal | None) -> str:
    """`1,234,568`: rounded half up to whole units, thousands grouped by commas."""
    number = to_decimal(value)
    if number is None:
        return NOT_AVAILABLE
    whole = int(number.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return f"{whole:,}"


def count(value: int | None) -> str:
    return NOT_AVAILABLE if value is None else f"{int(value):,}"


def month_label(month: dt.date, as_of: dt.date | None = None) -> str:
    """`Nov 2026`, with `*` when the month is the as-of date's (still running)."""
    label = month.strftime("%b %Y")
    if as_of is not None and (month.year, month.month) == (as_of.year, as_of.month):
        label += "*"
    return label


def day_label(day: dt.date | None) -> str:
    return NOT_AVAILABLE if day is None else f"{day.day} {day.strftime('%b %Y')}"

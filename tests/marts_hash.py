"""Exact fingerprints of warehouse tables, for tests that demand bit-identical outputs.

Two builds are equal when every table has the same columns (names and types)
and the same multiset of rows, every value identical to the last bit: a DOUBLE
is compared by its IEEE 754 bit pattern (so 0.30000000000000004 is not 0.3,
and -0.0 is not 0.0), never with a tolerance or after rounding. The order rows
were written in does not matter (tables are sets): each row is encoded to
bytes on its own, the encodings are sorted, and the sorted list is hashed.

`table_digests(path, schema)` gives {table: TableDigest}; on a mismatch,
`describe_difference(a, b)` lists the rows only one side has, with floats
spelled out bit for bit (float.hex), which is what a failing assert should show.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import duckdb


def encode_value(value: Any) -> str:
    """A text encoding of one value that is equal exactly when the values are bit-identical."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int
        return f"bool:{value}"
    if isinstance(value, float):
        return f"double:{struct.pack('>d', value).hex()}"
    if isinstance(value, int):
        return f"int:{value}"
    if isinstance(value, str):
        return f"str:{value!r}"
    if isinstance(value, decimal.Decimal):
        return f"decimal:{value!s}"  # str keeps the scale: 1.50 is not 1.5
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return f"{type(value).__name__}:{value.isoformat() if hasattr(value, 'isoformat') else value!r}"
    if isinstance(value, uuid.UUID):
        return f"uuid:{value}"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"bytes:{bytes(value).hex()}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{encode_value(k)}:{encode_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(encode_value(v) for v in value) + "]"
    return f"{type(value).__name__}:{value!r}"


def encode_row(row: Iterable[Any]) -> str:
    return "(" + ",".join(encode_value(value) for value in row) + ")"


def readable(value: Any) -> Any:
    """A value as a failing assert should show it: floats with their exact bits."""
    if isinstance(value, float):
        return f"{value!r} ({value.hex()})"
    return value


@dataclass(frozen=True)
class TableDigest:
    columns: tuple[tuple[str, str], ...]
    row_count: int
    sha256: str
    # the encoded rows, sorted: kept to explain a difference, not compared
    rows: tuple[str, ...] = field(compare=False, repr=False)
    raw_rows: dict[str, tuple] = field(compare=False, repr=False)


def table_digest(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> TableDigest:
    columns = tuple(
        conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
    )
    raw = conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
    encoded = {encode_row(row): row for row in raw}
    rows = tuple(sorted(encode_row(row) for row in raw))
    digest = hashlib.sha256()
    digest.update(encode_value([list(column) for column in columns]).encode())
    for row in rows:
        digest.update(row.encode())
        digest.update(b"\n")
    return TableDigest(columns, len(rows), digest.hexdigest(), rows, encoded)


def table_digests(path: Path, schema: str, exclude: Iterable[str] = ()) -> dict[str, TableDigest]:
    """Every base table of `schema` in the warehouse at `path`, but those in `exclude`."""
    excluded = set(exclude)
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1",
                [schema],
            ).fetchall()
            if row[0] not in excluded
        ]
        return {table: table_digest(conn, schema, table) for table in tables}


def describe_difference(name: str, left: TableDigest, right: TableDigest, limit: int = 6) -> str:
    """Why two digests differ: the columns, or the first rows only one side has."""
    if left.columns != right.columns:
        return f"{name}: columns differ: {left.columns} vs {right.columns}"
    only_left = sorted(set(left.rows) - set(right.rows))
    only_right = sorted(set(right.rows) - set(left.rows))
    lines = [
        f"{name}: {left.row_count} vs {right.row_count} rows; "
        f"{len(only_left)} only in the first, {len(only_right)} only in the second"
    ]
    names = [column for column, _ in left.columns]
    if len(only_left) == len(only_right):
        # rows sort on their first columns: pair them and show the columns that differ
        for key_left, key_right in list(zip(only_left, only_right))[:limit]:
            row_left, row_right = left.raw_rows[key_left], right.raw_rows[key_right]
            changed = [
                f"{n}: {readable(a)} -> {readable(b)}"
                for n, a, b in zip(names, row_left, row_right)
                if encode_value(a) != encode_value(b)
            ]
            lines.append(f"  row {names[0]}={row_left[0]!r}: " + "; ".join(changed))
    else:
        for label, side, keys in (("first", left, only_left), ("second", right, only_right)):
            for key in keys[:limit]:
                row = side.raw_rows[key]
                lines.append(f"  only in {label}: " + ", ".join(f"{n}={readable(v)}" for n, v in zip(names, row)))
    if not only_left and not only_right:
        lines.append("  same distinct rows, different multiplicities")
    return "\n".join(lines)


def assert_same_tables(
    first: dict[str, TableDigest], second: dict[str, TableDigest], what: str = "the two builds"
) -> None:
    """Every table of `first` and `second` bit-identical; a readable message otherwise."""
    assert sorted(first) == sorted(second), f"{what}: different tables: {sorted(first)} vs {sorted(second)}"
    differences = [describe_difference(t, first[t], second[t]) for t in sorted(first) if first[t] != second[t]]
    assert not differences, f"{what} differ (exact comparison, floats by bit pattern):\n" + "\n".join(differences)

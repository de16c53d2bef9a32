"""Quoting for the few places where a name or a path must be written into SQL text
(DuckDB takes no bound parameter for identifiers, ATTACH or COPY TO). Values that can
be bound parameters always are; everything else goes through these two functions."""

from __future__ import annotations


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"

"""The SQL a dbt macro of dbt_project/macros renders, for the macros written in
plain Jinja (they use nothing of dbt's), so tests can run it in DuckDB or Spark
directly."""

from __future__ import annotations

from pathlib import Path

MACROS = Path(__file__).resolve().parents[1] / "dbt_project" / "macros"


def render_macro(file: str, macro: str, *args: object, **kwargs: object) -> str:
    import jinja2

    module = jinja2.Environment().from_string((MACROS / file).read_text(encoding="utf-8")).module
    return str(getattr(module, macro)(*args, **kwargs))

"""dbt as a Dagster resource, without two costs Baton does not need (~2.5 s per run),
built with the engine BATON_ENGINE chooses (baton.lib.engine, docs/scale-out.md).

Before every dbt command dagster-dbt runs `dbt --version` in a subprocess (a
second Python start importing dbt) and builds a dbt adapter inside the Dagster
process, which it uses only to fetch row counts and column metadata on request.
Baton reads row counts itself once dbt has finished (assets/metrics.py), and its
dbt is the dbt-core installed beside it, whose version the package metadata
gives. `tests/test_definitions.py` fails when a dagster-dbt upgrade renames what
this overrides.

The engine: with no `target` given, every command runs against the engine's dbt
target (`default`, DuckDB; `spark` with BATON_ENGINE=spark), with the variables
the Spark target reads (BATON_LAKE_DIR) in the environment dbt inherits.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version

from baton.lib import engine


class BatonDbtCliResource(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None

    def cli(self, args: Sequence[str], **kwargs: Any) -> Any:  # type: ignore[override]
        engine.pin_engine_environment()
        engine.check_requirements()
        if self.target is None and "--target" not in args:
            args = [*args, "--target", engine.dbt_target()]
        return super().cli(args, **kwargs)

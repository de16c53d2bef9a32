"""What the last complete dbt build included, and how tonight's build can follow it.

The heavy dbt models are incremental (docs/performance.md, "Incremental
models"): a nightly build recomputes only the persons, leads and deals that the
files loaded since the last complete build changed. What those files are is
known from the load ledger: every file gets the next `file_id`, and raw rows
carry it. So a complete build records the last file id it included, and the
next build's incremental models read it back (`built_through_file_id()` in
dbt_project/macros/incremental.sql).

Everything else the incremental models depend on is the same for every key:
the rules (SAL definition, keywords, lookback, marketing sources), the models'
own code and the contract's vocabularies (event types, closed stages, free-mail
providers: dbt project vars, which no model checksum covers). When any of them
changed since the last complete build, no key is safe to keep, and the build is
a `--full-refresh`. The as-of date is not part
of it: what it moves (the touches and time-decay weights of open deals) is
rebuilt for every open deal each night.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import duckdb

from baton.lib import vocabularies

FULL = "full"
CHANGES = "changes"
INCREMENTAL_VARS = {"baton_incremental": True}

_CREATE_BUILDS = """
    CREATE TABLE IF NOT EXISTS audit.dbt_builds (
        built_at TIMESTAMP NOT NULL,
        mode VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        changes_since_file_id BIGINT,
        built_through_file_id BIGINT,
        inputs_fingerprint VARCHAR NOT NULL
    )
"""


@dataclass(frozen=True)
class BuildPlan:
    mode: str
    reason: str
    # the last file id the previous complete build included (mode CHANGES)
    changes_since_file_id: int | None
    # the last file id loaded now: what this build includes once complete
    built_through_file_id: int | None
    inputs_fingerprint: str

    def dbt_args(self) -> list[str]:
        # The models read the file id themselves, from audit.dbt_builds: the var stays the same
        # every night, so dbt's partial parse of the night before stays valid.
        return [*(["--full-refresh"] if self.mode == FULL else []), "--vars", json.dumps(INCREMENTAL_VARS)]


def inputs_fingerprint(conn: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> str:
    """A hash of what every key of an incremental model depends on: the rules (without the
    as-of date), the code of the project's models and macros, and the vocabularies (project
    vars in dbt_project.yml: a model's checksum covers its `var()` calls, not their values)."""
    columns = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'config' AND table_name = 'rules' AND column_name <> 'as_of_date' "
            "ORDER BY ordinal_position"
        ).fetchall()
    ]
    rules = conn.execute(f"SELECT {', '.join(columns)} FROM config.rules").fetchall() if columns else []
    project = manifest.get("metadata", {}).get("project_name")
    code = sorted(
        (unique_id, node.get("checksum", {}).get("checksum", ""))
        for unique_id, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "model"
    ) + sorted(
        (unique_id, hashlib.sha256(macro.get("macro_sql", "").encode()).hexdigest())
        for unique_id, macro in manifest.get("macros", {}).items()
        if macro.get("package_name") == project
    )
    payload = json.dumps(
        {"rules": [list(map(str, row)) for row in rules], "code": code, "vocabularies": vocabularies.load()},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def plan_build(conn: duckdb.DuckDBPyConnection, manifest: dict[str, Any]) -> BuildPlan:
    conn.execute("CREATE SCHEMA IF NOT EXISTS audit")
    conn.execute(_CREATE_BUILDS)
    fingerprint = inputs_fingerprint(conn, manifest)
    loaded_through = _last_file_id(conn)
    last = conn.execute(
        "SELECT built_through_file_id, inputs_fingerprint FROM audit.dbt_builds ORDER BY built_at DESC LIMIT 1"
    ).fetchone()
    if last is None:
        return BuildPlan(FULL, "no complete build yet", None, loaded_through, fingerprint)
    if last[1] != fingerprint:
        return BuildPlan(FULL, "the rules, the models' code or the vocabularies changed", None, loaded_through, fingerprint)
    return BuildPlan(
        CHANGES, f"files loaded after file id {last[0] or 0}", last[0] or 0, loaded_through, fingerprint
    )


def record_build(conn: duckdb.DuckDBPyConnection, plan: BuildPlan) -> None:
    """Called only once every model of the project built: a partial or failed build
    leaves the last complete one in place, and the next night recomputes from there."""
    conn.execute(_CREATE_BUILDS)
    conn.execute(
        "INSERT INTO audit.dbt_builds VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?)",
        [plan.mode, plan.reason, plan.changes_since_file_id, plan.built_through_file_id, plan.inputs_fingerprint],
    )


def _last_file_id(conn: duckdb.DuckDBPyConnection) -> int | None:
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'audit' AND table_name = 'load_ledger'"
    ).fetchone()[0]
    if not exists:
        return None
    return conn.execute("SELECT max(file_id) FROM audit.load_ledger").fetchone()[0]

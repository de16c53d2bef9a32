"""What-if for a proposed SAL definition: `baton rules diff PROPOSED.yml`.

When marketing and sales renegotiate the ICP they need to see what a proposed
definition would do before it becomes the agreed one: which leads would flip,
and how % LeadToSAL would move per month and source.

The SAL rules live in exactly one place, the dbt models. So the what-if does
not re-implement them: it compiles the models between the rules table and the
verdict (`stg_config__rules` -> ... -> `int_lead_sal_evaluation`) and runs
that SQL in a scratch in-memory DuckDB where the rules table holds the
proposed rules, reading everything else from the warehouse attached
READ_ONLY. The marts are never changed.

On Spark (BATON_ENGINE=spark) the warehouse file holds the raw views, the
rules and the published marts, but not the intermediate tables the rule
chain reads: Spark built those, as Parquet in its own warehouse. The chain's
inputs are then read from there (`engine.spark_table_sql`), and a staging
view among them is compiled for DuckDB and run over the warehouse's raw
views. The chain itself still runs in DuckDB: it is the SAL rules' SQL, the
same on both engines, and a proposal is a few seconds' work there.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from baton.lib import engine, settings
from baton.lib.engine import DUCKDB_TARGET
from baton.lib.dbt_cli import dbt_executable
from baton.lib.rules import load_rules
from baton.lib.rules_table import write_rules_table
from baton.lib.sqltext import quote_literal

# The models between the rules table and the verdict, in dependency order.
RULE_CHAIN = ("stg_config__rules", "int_job_function_keywords", "int_leads_enriched", "int_lead_sal_evaluation")
ALIAS = "baton_whatif"  # catalog name of the attached warehouse in the compiled SQL


@dataclass(frozen=True)
class WhatIf:
    agreed_version: str
    proposed_version: str
    monthly: list[tuple]  # month, lead_source, leads, sals_before, sals_after, pct_before, pct_after
    transitions: list[tuple]  # status_before, status_after, leads
    flip_count: int
    flips: list[tuple]  # the first flips: lead_id, status_before, status_after, reasons_before, reasons_after


def compile_rule_chain(workdir: Path, upstream: bool = False) -> dict[str, dict]:
    """The rule chain's models (with `upstream`, also every model they read, directly or not)
    as dbt compiled them for DuckDB: manifest nodes whose compiled_code refers to relations as
    "baton_whatif"."<schema>"."<name>"."""
    env = {
        **os.environ,
        "BATON_DUCKDB_PATH": str(workdir / f"{ALIAS}.duckdb"),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        dbt_executable(), "compile", "--quiet",
        "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR),
        "--target", DUCKDB_TARGET, "--target-path", str(workdir / "target"),
        "--select", *([f"+{RULE_CHAIN[-1]}"] if upstream else RULE_CHAIN),
    ]
    completed = subprocess.run(command, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt compile failed:\n{completed.stdout}\n{completed.stderr}")
    manifest = json.loads((workdir / "target" / "manifest.json").read_text())
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "compiled_code" in node and (upstream or node["name"] in RULE_CHAIN)
    }


def _spark_inputs(conn: duckdb.DuckDBPyConnection, models: dict[str, dict]) -> dict[str, str]:
    """On Spark: what to read for each model the rule chain reads. A table Spark built is
    read from its Parquet files; a view (Spark's are not files) is compiled SQL run here,
    into memory.main.whatif_<name>, its own inputs read the same way. Returns the
    substitutions relation -> what to read."""
    ids = {node["unique_id"]: name for name, node in models.items()}
    substitutions: dict[str, str] = {}

    def provide(name: str) -> None:
        node = models[name]
        relation = _relation(node["schema"], node["alias"] or name)
        if relation in substitutions:
            return
        if node["config"]["materialized"] != "view":
            substitutions[relation] = engine.spark_table_sql(node["schema"], node["alias"] or name)
            return
        for parent in node["depends_on"]["nodes"]:
            if parent in ids:
                provide(ids[parent])
        conn.execute(f"CREATE TABLE memory.main.whatif_{name} AS {_substituted(node['compiled_code'], substitutions)}")
        substitutions[relation] = f"memory.main.whatif_{name}"

    for name in RULE_CHAIN:
        for parent in models[name]["depends_on"]["nodes"]:
            if parent in ids and ids[parent] not in RULE_CHAIN:
                provide(ids[parent])
    return substitutions


def _substituted(sql: str, substitutions: dict[str, str]) -> str:
    for original, replacement in substitutions.items():
        sql = sql.replace(original, replacement)
    return sql


def _relation(schema: str, name: str) -> str:
    return f'"{ALIAS}"."{schema}"."{name}"'


def evaluate(warehouse_path: Path, proposed_rules_path: Path, flips_csv: Path | None = None, max_flips: int = 50) -> WhatIf:
    proposed = load_rules(proposed_rules_path)
    with tempfile.TemporaryDirectory(prefix="baton-whatif-") as tmp:
        models = compile_rule_chain(Path(tmp), upstream=engine.is_spark())
        conn = duckdb.connect()
        try:
            conn.execute("SET TimeZone = 'UTC'")
            conn.execute(f"ATTACH {quote_literal(str(warehouse_path))} AS {ALIAS} (READ_ONLY)")
            as_of = conn.execute(f"SELECT as_of_date FROM {ALIAS}.config.rules").fetchone()[0]
            write_rules_table(conn, proposed, as_of)  # memory.config.rules: the proposed definition
            substitutions = {_relation("config", "rules"): "memory.config.rules"}
            if engine.is_spark():
                substitutions.update(_spark_inputs(conn, models))
            for model in RULE_CHAIN:
                sql = _substituted(models[model]["compiled_code"], substitutions)
                conn.execute(f"CREATE TABLE memory.main.whatif_{model} AS {sql}")
                schema = "staging" if model.startswith("stg_") else "intermediate"
                substitutions[_relation(schema, model)] = f"memory.main.whatif_{model}"
            result = _compare(conn, proposed.version, max_flips)
            if flips_csv is not None:
                target = quote_literal(str(flips_csv.resolve()))
                conn.execute(f"COPY ({FLIPS_SQL}) TO {target} (HEADER, DELIMITER ',')")
            return result
        finally:
            conn.close()


FLIPS_SQL = """
    SELECT lead_id, status_before, status_after, reasons_before, reasons_after
    FROM comparison WHERE status_before <> status_after ORDER BY lead_id
"""


def _compare(conn: duckdb.DuckDBPyConnection, proposed_version: str, max_flips: int) -> WhatIf:
    conn.execute(
        f"""
        CREATE TEMP TABLE comparison AS
        SELECT agreed.lead_id, agreed.lead_source, CAST(date_trunc('month', agreed.created_at) AS DATE) AS month,
               agreed.rules_version AS agreed_version,
               agreed.sal_status AS status_before, proposed.sal_status AS status_after,
               agreed.sal_reasons AS reasons_before, proposed.sal_reasons AS reasons_after
        FROM {ALIAS}.marts.fct_leads AS agreed
        JOIN memory.main.whatif_int_lead_sal_evaluation AS proposed USING (lead_id)
        """
    )
    agreed_version = conn.execute("SELECT coalesce(any_value(agreed_version), '') FROM comparison").fetchone()[0]
    monthly = conn.execute(
        """
        SELECT month, lead_source, count(*) AS leads,
               count(*) FILTER (WHERE status_before = 'accepted') AS sals_before,
               count(*) FILTER (WHERE status_after = 'accepted') AS sals_after,
               count(*) FILTER (WHERE status_before = 'accepted') / count(*) AS pct_before,
               count(*) FILTER (WHERE status_after = 'accepted') / count(*) AS pct_after
        FROM comparison GROUP BY ALL ORDER BY month, lead_source
        """
    ).fetchall()
    transitions = conn.execute(
        "SELECT status_before, status_after, count(*) FROM comparison GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    flip_count = conn.execute("SELECT count(*) FROM comparison WHERE status_before <> status_after").fetchone()[0]
    flips = conn.execute(f"{FLIPS_SQL} LIMIT {int(max_flips)}").fetchall()
    return WhatIf(agreed_version, proposed_version, monthly, transitions, flip_count, flips)


def render(result: WhatIf) -> str:
    lines = [f"SAL what-if: agreed rules {result.agreed_version!r} -> proposed {result.proposed_version!r}", ""]
    total = sum(row[2] for row in result.monthly)
    before = sum(row[3] for row in result.monthly)
    after = sum(row[4] for row in result.monthly)
    if total:
        lines.append(f"LeadToSAL overall: {before}/{total} = {before / total:.1%} -> {after}/{total} = {after / total:.1%}")
    lines += ["", "LeadToSAL per month x source (before -> after):", f"  {'month':<10} {'lead_source':<18} {'leads':>6}  {'before':>7}  {'after':>7}"]
    for month, source, leads, _, _, pct_before, pct_after in result.monthly:
        marker = "" if pct_before == pct_after else "  *"
        lines.append(f"  {month!s:<10} {source:<18} {leads:>6}  {pct_before:>7.1%}  {pct_after:>7.1%}{marker}")
    lines += ["", "Leads by verdict (agreed -> proposed):"]
    for status_before, status_after, leads in result.transitions:
        lines.append(f"  {status_before:<12} -> {status_after:<12} {leads:>6}")
    lines += ["", f"Leads that flip: {result.flip_count}"]
    for lead_id, status_before, status_after, reasons_before, reasons_after in result.flips:
        lines.append(f"  {lead_id}: {status_before} ({reasons_before or 'all rules pass'}) -> {status_after} ({reasons_after or 'all rules pass'})")
    if result.flip_count > len(result.flips):
        lines.append(f"  ... and {result.flip_count - len(result.flips)} more (use --out FILE for all)")
    return "\n".join(lines)

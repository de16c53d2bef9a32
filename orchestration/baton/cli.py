"""`baton`: the command line.

`baton run` materializes every asset once, in-process (CONTRACT s1): rules are
validated before anything is written, progress is printed per step, and the
exit status is non-zero when a step or a blocking check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from . import settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="baton", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="load new landing files and rebuild every mart, once, in this process")
    commands.add_parser("parse", help="(re)build the dbt manifest the Dagster definitions load")
    generate_parser = commands.add_parser("generate", help="write a synthetic landing folder at scale (inside DuckDB)")
    generate_parser.add_argument("out", type=Path)
    generate_parser.add_argument("--leads", type=int, required=True, help="lead records (events: 20 per lead)")
    generate_parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    generate_parser.add_argument("--seed", type=int, default=42)
    bench_parser = commands.add_parser("bench", help="time full and nightly builds at scale (see benchmarks/README.md)")
    bench_parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments of python -m benchmarks")
    rules_cmd = commands.add_parser("rules", help="work with SAL rules files")
    rules_sub = rules_cmd.add_subparsers(dest="rules_command", required=True)
    diff = rules_sub.add_parser(
        "diff", help="what a proposed SAL definition would change, next to the agreed one (read-only)"
    )
    diff.add_argument("proposed", type=Path, help="the proposed rules file")
    diff.add_argument("--out", type=Path, help="write every lead that flips to this CSV file")
    ui_parser = commands.add_parser("ui", help="open the Dagster UI (dagster dev) on this machine only, unless told otherwise")
    ui_parser.add_argument("--host", default=os.environ.get("BATON_UI_HOST", "127.0.0.1"), help="address to bind (default 127.0.0.1)")
    ui_parser.add_argument("--port", default=os.environ.get("BATON_UI_PORT", "3000"))
    args = parser.parse_args(argv)
    if args.command == "run":
        return run()
    if args.command == "generate":
        from .generate import generate

        counts = generate(args.out, args.leads, args.format, args.seed, progress=_say)
        _say(", ".join(f"{entity} {rows:,}" for entity, rows in counts.items()))
        return 0
    if args.command == "bench":
        sys.path.insert(0, str(settings.REPO_ROOT))
        from benchmarks.__main__ import main as bench_main

        return bench_main(args.bench_args)
    if args.command == "rules":
        return rules_diff(args.proposed, args.out)
    if args.command == "ui":
        return ui(args.host, args.port)
    if args.command == "parse":
        from .project import prepare_manifest

        print(prepare_manifest(force=True))
        return 0
    return 2


def ui_command(host: str, port: str) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster) if dagster.exists() else "dagster", "dev", "-h", host, "-p", str(port), "-w", str(settings.REPO_ROOT / "workspace.yaml")]


def ui(host: str, port: str) -> int:
    from .project import prepare_manifest

    settings.pin_environment()
    prepare_manifest()
    settings.ensure_dagster_home()
    # the code server `dagster dev` starts must find this environment's dbt and dagster
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")])
    # exec: `dagster dev` stays this process, so stopping it (Ctrl-C, kill <pid>) also stops its code servers.
    command = ui_command(host, port)
    os.execv(command[0], command) if os.path.isabs(command[0]) else os.execvp(command[0], command)
    return 0


def rules_diff(proposed: Path, out: Path | None) -> int:
    from .rules import RulesError
    from .whatif import evaluate, render

    settings.pin_environment()
    warehouse = settings.duckdb_path()
    if not warehouse.exists():
        _say(f"error: no warehouse at {warehouse}: run `baton run` first (or set BATON_DUCKDB_PATH)")
        return 2
    try:
        result = evaluate(warehouse, proposed, flips_csv=out)
    except RulesError as error:
        _say(f"error: {error}")
        return 2
    print(render(result))
    if out is not None:
        _say(f"{result.flip_count} flipping leads written to {out}")
    return 0


def _say(message: str) -> None:
    print(f"[baton] {message}", file=sys.stderr, flush=True)


def run() -> int:
    from .rules import RulesError, load_rules

    started = time.monotonic()
    settings.pin_environment()
    try:
        rules = load_rules(settings.rules_path())
        as_of = settings.as_of_date()
    except (RulesError, ValueError) as error:
        _say(f"error: {error}")
        _say("nothing was written.")
        return 2
    _say(f"landing folder {settings.landing_dir()}")
    _say(f"warehouse      {settings.duckdb_path()}")
    _say(f"rules          {rules.path} (version {rules.version}), as of {as_of}")

    from .project import prepare_manifest

    prepare_manifest()

    import dagster as dg

    from .definitions import defs
    from .progress import ProgressPrinter

    from .resources import exclusive_lock

    # Two runs starting at once on a new Dagster home would both create its
    # SQLite tables; the first creates them, the second waits a moment.
    home = settings.ensure_dagster_home()
    with exclusive_lock(home / ".baton-instance.lock", "waiting for another Baton run to set up the Dagster instance"):
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)
        instance.get_asset_keys(limit=1)
    printer = ProgressPrinter(_say)
    # Dagster's own step events go to the UI's event log; the terminal gets INFO lines
    # (each file loaded, each dbt model built) as they happen, then a summary.
    result = defs.resolve_job_def("nightly").execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": os.environ.get("BATON_LOG_LEVEL", "INFO")}}}},
    )
    printer.replay(instance, result)
    elapsed = time.monotonic() - started
    failures = printer.failures(result)
    if failures or not result.success:
        for failure in failures or ["the run failed (see the Dagster UI for the run's logs)"]:
            _say(f"FAILED {failure}")
        _say(f"run {result.run_id} failed after {elapsed:.1f}s")
        return 1
    _say(f"run {result.run_id} succeeded in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

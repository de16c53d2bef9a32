"""`baton`: the command line.

`baton run` materializes every asset once, in-process (CONTRACT s1): settings
and rules are validated before anything is written, progress is printed as it
happens, and the exit status says what happened (EXIT_CODES).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

from baton.lib import settings


EXIT_CODES = """exit status:
  0  every step and check passed and every landing file loaded
  1  a step or an error-severity check failed (the last line names the cause)
  2  bad settings (landing folder, warehouse or serving path, rules file, as-of date): nothing was written
  3  the run completed but a landing file failed or hit a transient error: the marts were built,
     the serving copy was NOT replaced (readers keep the last good figures); fix, remove or
     `baton skip` the file"""


def _settings_help() -> str:
    lines = ["settings (environment variables; a flag overrides its variable):"]
    for setting in settings.SETTINGS:
        flag = f" [{setting.flag}]" if setting.flag else ""
        lines.append(f"  {setting.env_var}{flag}\n      {setting.meaning}; default: {setting.default}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="baton", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser(
        "run",
        help="load new landing files and rebuild every mart, once, in this process",
        description="Load the new files of the landing folder, rebuild the marts, run their checks and publish the serving copy.",
        epilog=_settings_help() + "\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run_parser.add_argument("--landing", type=Path, metavar="FOLDER", help="landing folder (BATON_LANDING_DIR)")
    run_parser.add_argument("--warehouse", type=Path, metavar="FILE", help="DuckDB warehouse file (BATON_DUCKDB_PATH)")
    run_parser.add_argument("--rules", type=Path, metavar="FILE", help="rules file (BATON_RULES)")
    run_parser.add_argument("--mappings", type=Path, metavar="FOLDER", help="folder of import mappings (BATON_MAPPINGS)")
    run_parser.add_argument("--as-of", metavar="YYYY-MM-DD", help="as-of date (BATON_AS_OF)")
    run_parser.add_argument("--settle-seconds", metavar="N", help="defer landing files modified less than N seconds ago (BATON_SETTLE_SECONDS)")
    run_parser.add_argument("--verbose", action="store_true", help="show Dagster's and dbt's own logs on the terminal (BATON_VERBOSE)")
    skip_parser = commands.add_parser(
        "skip",
        help="acknowledge a landing file that failed: stop failing the nightly run on it (recorded in the ledger)",
        description="Record a failed landing file as `skipped` in audit.load_ledger, with who and when; "
        "the same file no longer fails the run. A new version of the file loads as usual.",
    )
    skip_parser.add_argument("file", type=Path, help="the landing file (a path, or relative to the landing folder)")
    skip_parser.add_argument("--landing", type=Path, metavar="FOLDER", help="landing folder (BATON_LANDING_DIR)")
    skip_parser.add_argument("--warehouse", type=Path, metavar="FILE", help="DuckDB warehouse file (BATON_DUCKDB_PATH)")
    mappings_parser = commands.add_parser(
        "mappings",
        help="list the import mappings in force: the landing folder's _mappings/, BATON_MAPPINGS, the built-in presets",
        description="List every import mapping (CONTRACT section 8) in the order a file's header is tried against them, "
        "after validating each mapping file.",
    )
    mappings_parser.add_argument("--landing", type=Path, metavar="FOLDER", help="landing folder (BATON_LANDING_DIR)")
    mappings_parser.add_argument("--mappings", type=Path, metavar="FOLDER", help="folder of import mappings (BATON_MAPPINGS)")
    check_parser = commands.add_parser(
        "check-landing",
        help="show, for each file of a landing folder, the mapping it would use and its first rows as Baton types them; writes nothing",
        description="Load every file of the landing folder into a throw-away in-memory database, exactly as a run would, "
        "and show per file: the verdict, the mapping used, the header columns used and left unused, the first rows "
        "as typed, and the first quarantine reasons. Exit 0 when every file would load, 3 when some would not, "
        "2 for a bad mapping file or folder.",
    )
    check_parser.add_argument("landing", type=Path, nargs="?", metavar="FOLDER", help="landing folder (default BATON_LANDING_DIR)")
    check_parser.add_argument("--mappings", type=Path, metavar="FOLDER", help="folder of import mappings (BATON_MAPPINGS)")
    check_parser.add_argument("--rows", type=int, default=5, metavar="N", help="rows shown per file (default 5)")
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
    serve_parser = commands.add_parser(
        "serve",
        help="production: the 02:00 schedule and the new-landing-files sensor (dagster-daemon) and the UI (dagster-webserver)",
        description="Start `dagster-daemon run` (the nightly schedule, the new_landing_files sensor, the run queue) and "
        "`dagster-webserver` (the UI) with DAGSTER_HOME (default: .dagster_home in the repository; set it to a "
        "persistent folder in production), and stop both, with every process they started, on Ctrl-C or SIGTERM. "
        "Runs are launched by the daemon and see this command's environment: set the BATON_* variables here. "
        "See docs/operations.md.",
    )
    serve_parser.add_argument("--host", default=os.environ.get("BATON_UI_HOST", "127.0.0.1"), help="address the UI binds (default 127.0.0.1)")
    serve_parser.add_argument("--port", default=os.environ.get("BATON_UI_PORT", "3000"))
    serve_parser.add_argument("--no-ui", action="store_true", help="run the daemon only (schedule, sensor, run queue)")
    args = parser.parse_args(argv)
    _flags_to_environment(args)
    if args.command == "run":
        return run()
    if args.command == "skip":
        return skip(args.file)
    if args.command == "mappings":
        return list_mappings()
    if args.command == "check-landing":
        return check_landing(args.rows)
    if args.command == "generate":
        from baton.dev.generate import generate

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
    if args.command == "serve":
        return serve(args.host, args.port, ui=not args.no_ui)
    if args.command == "parse":
        from baton.lib.dbt_cli import prepare_manifest

        print(prepare_manifest(force=True))
        return 0
    return 2


def _flags_to_environment(args: argparse.Namespace) -> None:
    """A flag wins over its environment variable; the run (and dbt, which it starts) read the environment."""
    for attribute, env_var in (
        ("landing", "BATON_LANDING_DIR"),
        ("warehouse", "BATON_DUCKDB_PATH"),
        ("rules", "BATON_RULES"),
        ("mappings", "BATON_MAPPINGS"),
        ("as_of", "BATON_AS_OF"),
        ("settle_seconds", "BATON_SETTLE_SECONDS"),
    ):
        value = getattr(args, attribute, None)
        if value is not None:
            os.environ[env_var] = str(Path(value).resolve()) if isinstance(value, Path) else str(value)
    if getattr(args, "verbose", False):
        os.environ["BATON_VERBOSE"] = "1"


def ui_command(host: str, port: str) -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster) if dagster.exists() else "dagster", "dev", "-h", host, "-p", str(port), "-w", str(settings.REPO_ROOT / "workspace.yaml")]


def ui(host: str, port: str) -> int:
    from baton.lib.dbt_cli import prepare_manifest

    settings.pin_environment()
    prepare_manifest()
    settings.ensure_dagster_home()
    # the code server `dagster dev` starts must find this environment's dbt and dagster
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")])
    # exec: `dagster dev` stays this process, so stopping it (Ctrl-C, kill <pid>) also stops its code servers.
    command = ui_command(host, port)
    os.execv(command[0], command) if os.path.isabs(command[0]) else os.execvp(command[0], command)
    return 0


def serve_commands(host: str, port: str, ui: bool = True) -> list[list[str]]:
    """`dagster-daemon run` and (unless `ui` is false) `dagster-webserver`, on Baton's workspace."""
    workspace = str(settings.REPO_ROOT / "workspace.yaml")

    def tool(name: str) -> str:
        path = Path(sys.executable).with_name(name)
        return str(path) if path.exists() else name

    commands = [[tool("dagster-daemon"), "run", "-w", workspace]]
    if ui:
        commands.append([tool("dagster-webserver"), "-h", host, "-p", str(port), "-w", workspace])
    return commands


def serve(host: str, port: str, ui: bool = True, stop_timeout: float = 30.0) -> int:
    """Run the daemon and the webserver until told to stop, then stop both and everything they started.

    Each child starts in its own session (its own process group, away from the terminal's), so a
    Ctrl-C reaches only this process, which then stops each child's whole group by the child's pid
    (the code servers they start, and a run in progress, included): SIGTERM, then SIGKILL after
    `stop_timeout` seconds. Nothing is ever stopped by name. If either child exits, the other is
    stopped too and the exit status says so (systemd's Restart= then starts both again)."""
    import signal
    import subprocess

    from baton.lib.dbt_cli import prepare_manifest

    from baton.lib.extract.mappings import MappingError, load_mappings
    from baton.lib.preflight import SettingsError, check_paths
    from baton.lib.rules import RulesError, load_rules

    settings.pin_environment()  # absolute paths: the daemon's code server and the runs it launches inherit them
    try:  # the settings every run will use: wrong ones stop the service now, not at 02:00
        load_rules(settings.rules_path())
        settings.as_of_date()
        settings.settle_seconds()
        load_mappings(settings.landing_dir(), settings.mappings_dir())
        check_paths(settings.landing_dir(), settings.duckdb_path(), settings.serving_path())
    except (RulesError, MappingError, SettingsError, ValueError) as error:
        _say(f"error: {error}")
        return 2
    prepare_manifest()
    home = settings.ensure_dagster_home()
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.prefix) / "bin"), os.environ.get("PATH", "")])
    _say(f"DAGSTER_HOME   {home} (run history, schedule and sensor state, compute logs under storage/)")
    _say(f"landing folder {settings.landing_dir()}")
    _say(f"warehouse      {settings.duckdb_path()} (dbt logs in {settings.log_dir()})")
    stop = {"signal": None}

    def request_stop(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    children: list[subprocess.Popen] = []
    status = 0
    try:
        for command in serve_commands(host, port, ui):
            children.append(subprocess.Popen(command, start_new_session=True))
            _say(f"started {Path(command[0]).name} (pid {children[-1].pid})")
        if ui:
            _say(f"UI on http://{host}:{port}; Ctrl-C stops the daemon and the UI")
        while stop["signal"] is None:
            exited = [child for child in children if child.poll() is not None]
            if exited:
                child = exited[0]
                _say(f"{Path(str(child.args[0])).name} (pid {child.pid}) exited with status {child.returncode}; stopping the rest")
                status = child.returncode or 1
                break
            time.sleep(0.5)
        else:
            _say(f"signal {signal.Signals(stop['signal']).name}: stopping the daemon and the UI")
    finally:
        _stop_process_groups(children, stop_timeout)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def _stop_process_groups(children: list, timeout: float) -> None:
    """SIGTERM each child's process group (its pgid is its pid: start_new_session), wait until every
    process of the groups has ended, at most `timeout` seconds, then SIGKILL what is left."""
    import signal

    def signal_group(pid: int, sig: int) -> None:
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    for child in children:
        signal_group(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    # poll() reaps a leader that has ended; the group may outlive it (a code server, a run worker)
    while time.monotonic() < deadline and any(child.poll() is None or _group_alive(child.pid) for child in children):
        time.sleep(0.2)
    for child in children:
        if child.poll() is None or _group_alive(child.pid):
            _say(f"{Path(str(child.args[0])).name} (pid {child.pid}) did not stop in {timeout:g}s: killing its process group")
            signal_group(child.pid, signal.SIGKILL)
        child.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def rules_diff(proposed: Path, out: Path | None) -> int:
    from baton.lib.warehouse import writer_lock
    from baton.lib.rules import RulesError
    from baton.lib.whatif import evaluate, render

    from baton.lib import engine

    settings.pin_environment()
    warehouse = settings.duckdb_path()
    if not warehouse.exists():
        _say(f"error: no warehouse at {warehouse}: run `baton run` first (or set BATON_DUCKDB_PATH)")
        return 2
    try:
        # The run's writer lock: the what-if waits for a nightly run, and a nightly run waits the
        # few seconds it takes, instead of failing on DuckDB's lock of the warehouse file.
        with writer_lock(warehouse):
            result = evaluate(warehouse, proposed, flips_csv=out)
    except (RulesError, engine.EngineError) as error:
        _say(f"error: {error}")
        return 2
    print(render(result))
    if out is not None:
        _say(f"{result.flip_count} flipping leads written to {out}")
    return 0


def skip(file: Path) -> int:
    """`baton skip FILE`: record a failed landing file as acknowledged (ledger status `skipped`)."""
    import getpass
    import socket

    from baton.lib.extract.loader import skip_file
    from baton.lib.preflight import SettingsError, WarehouseLocked, check_database_path
    from baton.lib.warehouse import connect, writer_lock

    settings.pin_environment()
    warehouse = settings.duckdb_path()
    # Not resolved: the ledger names a link by its own path (and a link may loop).
    candidates = [file] if file.is_absolute() else [Path.cwd() / file, settings.landing_dir() / file]
    path = next((c for c in candidates if os.path.lexists(c)), candidates[-1])
    path = Path(os.path.abspath(path))
    try:
        check_database_path(warehouse, "warehouse", "BATON_DUCKDB_PATH")
        if not warehouse.exists():
            raise SettingsError(f"no warehouse at {warehouse}: nothing has failed there yet (BATON_DUCKDB_PATH)")
        with writer_lock(warehouse):
            conn = connect(warehouse)
            try:
                message = skip_file(conn, path, f"{getpass.getuser()}@{socket.gethostname()}")
            finally:
                conn.close()
    except (SettingsError, WarehouseLocked, ValueError) as error:
        _say(f"error: {error}")
        return 2
    _say(message)
    return 0


def list_mappings() -> int:
    from baton.lib.extract.mappings import MappingError, load_mappings

    try:
        mappings = load_mappings(settings.landing_dir(), settings.mappings_dir())
    except MappingError as error:
        _say(f"error: {error}")
        return 2
    print("Tried in this order for a file of the mapping's entity; the first whose detect columns are all in the header is used.")
    for mapping in mappings.items:
        print(f"{mapping.name}  [{mapping.entity}]  {mapping.source}")
        print(f"    detect: {', '.join(mapping.detect)}")
    return 0


def check_landing(rows: int) -> int:
    from baton.lib.extract.mappings import MappingError, load_mappings
    from baton.lib.extract.preview import describe, preview_landing
    from baton.lib.preflight import SettingsError, check_landing as check_folder

    landing = settings.landing_dir()
    try:
        check_folder(landing)
        mappings = load_mappings(landing, settings.mappings_dir())
    except (SettingsError, MappingError) as error:
        _say(f"error: {error}")
        return 2
    previews = preview_landing(landing, mappings, rows)
    print(describe(previews, landing))
    bad = [p for p in previews if p.status in ("failed", "error")]
    loaded = [p for p in previews if p.status == "loaded"]
    print(
        f"{len(previews)} entries: {len(loaded)} would load, {len(bad)} would not"
        + (f" ({', '.join(os.path.relpath(p.path, landing) for p in bad)})" if bad else "")
        + ". Nothing was written."
    )
    return 3 if bad else 0


def _say(message: str) -> None:
    print(f"[baton] {message}", file=sys.stderr, flush=True)


def run() -> int:
    from baton.lib.extract.mappings import load_mappings
    from baton.lib.preflight import SettingsError, check_paths
    from baton.lib.rules import RulesError, load_rules

    started = time.monotonic()
    settings.pin_environment()
    try:
        rules = load_rules(settings.rules_path())
        as_of = settings.as_of_date()
        settle = settings.settle_seconds()
        settings.lock_wait_seconds()
        mappings = load_mappings(settings.landing_dir(), settings.mappings_dir())
        check_paths(settings.landing_dir(), settings.duckdb_path(), settings.serving_path())
    except (RulesError, SettingsError, ValueError) as error:
        _say(f"error: {error}")
        if not isinstance(error, SettingsError):
            _say("nothing was written.")
        return 2
    _say(f"landing folder {settings.landing_dir()} (files modified in the last {settle:g} s wait for the next run)")
    _say(f"warehouse      {settings.duckdb_path()}")
    _say(f"serving copy   {settings.serving_path()}")
    _say(f"rules          {rules.path} (version {rules.version}), as of {as_of}")
    _say(f"mappings       {mappings.summary()}")
    if not settings.verbose():
        _say(f"dbt log        {settings.log_dir()}/dbt-<run id>.log")
    from baton.lib.extract.entities import ENTITIES
    from baton.lib.extract.landing import strays

    for name in strays(settings.landing_dir(), list(ENTITIES)):
        _say(f"not read: {name} in the landing folder is no entity's (entity folders: {', '.join(ENTITIES)})")

    from baton.lib.dbt_cli import prepare_manifest

    prepare_manifest()

    import dagster as dg

    from baton.defs.ingest import FILES_LOADED_CHECK, PROBLEM_FILES_METADATA
    from baton.definitions import defs
    from baton.cli.progress import LiveProgress, failures
    from baton.lib.warehouse import exclusive_lock

    # Two runs starting at once on a new Dagster home would both create its
    # SQLite tables; the first creates them, the second waits a moment.
    home = settings.ensure_dagster_home()
    with exclusive_lock(home / ".baton-instance.lock", "waiting for another Baton run to set up the Dagster instance"):
        instance = dg.DagsterInstance.get()
        instance.get_runs(limit=1)
        instance.get_asset_keys(limit=1)
    run_id = str(uuid.uuid4())
    _say(f"run {run_id} started")
    # Dagster's own console log only with --verbose: the terminal gets Baton's lines, as they happen.
    log_level = os.environ.get("BATON_LOG_LEVEL", "INFO") if settings.verbose() else "CRITICAL"
    from baton.defs.jobs import run_tags

    with LiveProgress(instance, run_id, _say):
        result = defs.resolve_job_def("nightly").execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags=run_tags("baton run"),
        )
    elapsed = time.monotonic() - started
    problem_files = _problem_files(result, PROBLEM_FILES_METADATA)
    for problem in problem_files:
        _say(f"  {problem['status']}: {problem['entity']}/{Path(problem['path']).name}: {problem['reason']}")
    errors = failures(result, ignored_checks=(FILES_LOADED_CHECK,))
    if errors or not result.success:
        errors = errors or ["the run failed (see the Dagster UI for the run's logs)"]
        for failure in errors[1:]:
            _say(f"FAILED {failure}")
        _say(f"run {run_id} FAILED after {elapsed:.1f}s: {errors[0]}")
        return 1
    failed = [p for p in problem_files if p["status"] in ("failed", "error")]
    if failed:
        named = "; ".join(f"{p['entity']}/{Path(p['path']).name} ({p['status']}: {p['reason']})" for p in failed)
        _say(
            f"run {run_id} completed in {elapsed:.1f}s but {len(failed)} landing file(s) did not load: {named}. "
            f"Serving copy and report NOT replaced (readers keep the last good figures); fix or remove the file, or `baton skip FILE`."
        )
        return 3
    _say(f"run {run_id} succeeded in {elapsed:.1f}s")
    return 0


def _problem_files(result, metadata_key: str) -> list[dict]:
    """The landing files that did not simply load, as the raw assets reported them."""
    import dagster as dg

    problems = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            value = event.event_specific_data.materialization.metadata.get(metadata_key)
            if value is not None:
                problems.extend(value.value)
    return problems


if __name__ == "__main__":
    raise SystemExit(main())

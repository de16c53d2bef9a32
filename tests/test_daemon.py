"""Production scheduling (docs/operations.md): `baton serve` runs `dagster-daemon run` on a Dagster
home of its own; the daemon evaluates the new_landing_files sensor, which requests a run when a
landing file arrives; the run the daemon launches sees the environment `baton serve` was started
with; stopping `baton serve` stops every process it started."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from conftest import BATON, REPO_ROOT, SAMPLE_AS_OF, baton_env, run_baton

pytestmark = pytest.mark.slow

SENSOR = "new_landing_files"


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (from /proc), recorded to check that none outlives `baton serve`."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _sensor_ticks(instance):
    from dagster._core.scheduler.instigation import InstigatorType

    states = [s for s in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR) if s.name == SENSOR]
    return instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id, limit=100) if states else []


def _wait(what: str, condition, timeout: float, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}:\n" + log.read_text(errors="replace")[-4000:])


def test_the_daemon_runs_the_sensor_and_the_run_sees_the_serve_environment(tmp_path: Path) -> None:
    import dagster as dg

    from baton.lib.rules import load_rules

    landing = tmp_path / "landing"
    shutil.copytree(REPO_ROOT / "seeds", landing)
    env = baton_env(tmp_path, BATON_LANDING_DIR=str(landing), BATON_SENSOR_INTERVAL_SECONDS="1")
    home = Path(env["DAGSTER_HOME"])
    expected_tags = {
        "baton/as_of": SAMPLE_AS_OF,
        "baton/landing_dir": str(landing.resolve()),
        "baton/rules_version": str(load_rules(None).version),
    }

    # `baton run` tags its run the same way
    completed = run_baton(env)
    assert completed.returncode == 0, completed.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        [cli_run] = instance.get_runs()
        assert cli_run.tags.items() >= {**expected_tags, "baton/trigger": "baton run"}.items()

    log_path = tmp_path / "serve.log"
    log = log_path.open("w")
    serve = subprocess.Popen(
        [BATON, "serve", "--no-ui"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path
    )
    started: set[int] = set()
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            # 1. the daemon evaluates the sensor (RUNNING by default): the first tick records the folder
            first = _wait("the sensor's first tick", lambda: _sensor_ticks(instance), 120, log_path)
            assert "first evaluation" in (first[-1].skip_reason or ""), first[-1]
            started |= _descendants(serve.pid)

            # 2. a new landing file (written elsewhere, then renamed into place, as a copy tool does)
            new_file = tmp_path / "leads_2026_11_16.csv"
            header, row = (landing / "leads" / "leads_2026_10_01.csv").read_text().splitlines()[:2]
            new_file.write_text(f"{header}\nL-DAEMON-1{row[row.index(','):]}\n")
            new_file.rename(landing / "leads" / "leads_2026_11_16.csv")

            def tick_with_a_run():
                return next((tick for tick in _sensor_ticks(instance) if tick.run_ids), None)

            tick = _wait("a sensor tick that requested a run", tick_with_a_run, 120, log_path)
            [run] = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/sensor_name": SENSOR}))
            assert tick.run_ids == [run.run_id]
            assert run.tags.items() >= {**expected_tags, "baton/trigger": "sensor"}.items()
            started |= _descendants(serve.pid)  # the code server and the run worker, while they run

            # 3. the daemon launches it (run queue), and the run works with the serve environment
            def finished():
                current = instance.get_run_by_id(run.run_id)
                started.update(_descendants(serve.pid))
                return current if current.is_finished else None

            done = _wait("the sensor's run to finish", finished, 300, log_path)
            assert done.status == dg.DagsterRunStatus.SUCCESS, log_path.read_text(errors="replace")[-4000:]
        with duckdb.connect(env["BATON_DUCKDB_PATH"], read_only=True) as conn:
            assert conn.execute("SELECT count(*) FROM raw.leads WHERE lead_id = 'L-DAEMON-1'").fetchone() == (1,)
        # where the logs went: dbt's beside the warehouse, the run's stdout/stderr under DAGSTER_HOME/storage
        assert (tmp_path / "logs" / f"dbt-{run.run_id}.log").is_file()
        assert list((home / "storage" / run.run_id / "compute_logs").glob("*.err"))
        assert (home / "history" / "runs" / f"{run.run_id}.db").is_file()
    finally:
        started |= _descendants(serve.pid)
        serve.send_signal(signal.SIGTERM)  # what Ctrl-C or `systemctl stop` does: by our own child's pid
        try:
            status = serve.wait(timeout=90)
        except subprocess.TimeoutExpired:
            status = None
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        # whatever is left, stopped by the pids recorded above (never by name)
        survivors = [pid for pid in started if _alive(pid)]
        for pid in survivors:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
    assert status == 0, log_path.read_text(errors="replace")[-3000:]
    assert started, "no process was started below baton serve"
    assert not survivors, f"left running after baton serve stopped: {survivors}"
    assert "stopping the daemon" in log_path.read_text(errors="replace")

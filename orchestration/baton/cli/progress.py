"""A readable account of a run as it happens: one line per step, per file and per
dbt model, failed checks at once, and the cause of a failure named.

`LiveProgress` follows the run's event log from a second thread while the run
executes in-process, so each line appears when its event is written, not
replayed at the end.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import dagster as dg

# dagster-dbt's own bookkeeping messages, which say nothing to a person watching the run.
_QUIET_MESSAGES = (
    "A dbt subsetted execution",
    "Copying `",
    "Running dbt command",
    "Finished dbt command",
    "Forwarding interrupt",
)
_FIGURES = ("rows_loaded", "rows_quarantined", "files_failed", "lead_to_sal_rate", "undetermined_share", "dagster/row_count")
_POLL_SECONDS = 0.2


class LiveProgress:
    """Prints a run's events while it executes (use as a context manager around the run)."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, say: Callable[[str], None]) -> None:
        self._instance = instance
        self._run_id = run_id
        self._say = say
        self._cursor: str | None = None
        self._started: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="baton-progress", daemon=True)

    def __enter__(self) -> LiveProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()
        self._drain()  # whatever was written after the thread's last look

    def _follow(self) -> None:
        while not self._stop.wait(_POLL_SECONDS):
            try:
                self._drain()
            except Exception:  # noqa: BLE001 - progress must never break the run; the final drain retries
                pass

    def _drain(self) -> None:
        while True:
            connection = self._instance.get_records_for_run(self._run_id, cursor=self._cursor, limit=500)
            for record in connection.records:
                self._show(record.event_log_entry)
            self._cursor = connection.cursor
            if not connection.has_more:
                return

    def _show(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if event is None:
            message = entry.user_message or ""
            if message and (entry.level >= 30 or not message.startswith(_QUIET_MESSAGES)):
                self._say(f"  {message}")
            return
        step = event.step_key
        if event.event_type == dg.DagsterEventType.STEP_START:
            self._started[step] = entry.timestamp
            self._say(f"step {step}: started")
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            seconds = entry.timestamp - self._started.get(step, entry.timestamp)
            if event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                self._say(f"step {step}: ok in {seconds:.1f}s")
            else:
                self._say(f"step {step}: FAILED in {seconds:.1f}s: {summary(event.event_specific_data.error)}")
        elif event.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE:
            self._say(f"FAILED before the first step: {summary(event.event_specific_data.error)}")
        elif event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            self._say(f"step {step}: retrying after a failure: {summary(event.event_specific_data.error)}")
        elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            figures = {k: v.value for k, v in materialization.metadata.items() if k in _FIGURES}
            if figures:
                shown = ", ".join(f"{k.removeprefix('dagster/')}={v}" for k, v in figures.items())
                self._say(f"  {materialization.asset_key.to_user_string()}: {shown}")
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                self._say(
                    f"  check {evaluation.asset_key.to_user_string()}:{evaluation.check_name} "
                    f"did not pass ({evaluation.severity.value})"
                )


def failures(result: dg.ExecuteInProcessResult, ignored_checks: tuple[str, ...] = ()) -> list[str]:
    """Failed steps (with their cause) and failed error-severity checks not in `ignored_checks`."""
    problems = []
    for event in result.all_events:
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            problems.append(f"step {event.step_key}: {summary(event.event_specific_data.error)}")
        elif event.event_type == dg.DagsterEventType.RESOURCE_INIT_FAILURE:
            # before any step: bad paths, or the warehouse held by another process
            problems.append(summary(event.event_specific_data.error))
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if (
                not evaluation.passed
                and evaluation.severity == dg.AssetCheckSeverity.ERROR
                and evaluation.check_name not in ignored_checks
            ):
                problems.append(f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return problems


def summary(error) -> str:
    """The innermost cause's first line plus the lines that say what went wrong (dbt's errors
    come after a long preamble; Dagster wraps a step's own error in its own errors)."""
    while error is not None and error.cause is not None and (
        error.cls_name.startswith("Dagster") or error.cls_name == "RetryRequestedFromPolicy"
    ):
        error = error.cause
    if error is None or not error.message:
        return "unknown error"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", error.message)
    lines = [line.strip() for line in plain.strip().splitlines() if line.strip()]
    lines[0] = re.sub(r"^dagster\._core\.definitions\.events\.Failure: ", "", lines[0])
    telling = [line for line in lines[1:] if any(word in line for word in ("Error", "error", "FAIL", "failed", "Failure"))]
    return "\n    ".join([lines[0], *telling[:10]])

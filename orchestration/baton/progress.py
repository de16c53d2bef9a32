"""A readable account of an in-process run: one line per step and per failed check."""

from __future__ import annotations

import re
from collections.abc import Callable

import dagster as dg


class ProgressPrinter:
    def __init__(self, say: Callable[[str], None]) -> None:
        self._say = say

    def replay(self, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> None:
        started: dict[str, float] = {}
        for entry in instance.all_logs(result.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            step = event.step_key
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[step] = entry.timestamp
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                seconds = entry.timestamp - started.get(step, entry.timestamp)
                state = "ok" if event.event_type == dg.DagsterEventType.STEP_SUCCESS else "FAILED"
                self._say(f"step {step}: {state} in {seconds:.1f}s")
            elif event.event_type == dg.DagsterEventType.STEP_UP_FOR_RETRY:
                data = event.event_specific_data
                self._say(f"step {step}: retrying after a failure: {_summary(data.error)}")
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                materialization = event.event_specific_data.materialization
                figures = {
                    k: v.value
                    for k, v in materialization.metadata.items()
                    if k in ("rows_loaded", "rows_quarantined", "files_failed", "lead_to_sal_pct", "undetermined_pct", "dagster/row_count")
                }
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

    @staticmethod
    def failures(result: dg.ExecuteInProcessResult) -> list[str]:
        """Failed steps (with their error) and failed blocking or error-severity checks."""
        problems = []
        for event in result.all_events:
            if event.event_type == dg.DagsterEventType.STEP_FAILURE:
                error = event.event_specific_data.error
                problems.append(f"step {event.step_key}: {_summary(error)}")
            elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
                evaluation = event.event_specific_data
                if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                    problems.append(f"check {evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
        return problems


def _summary(error) -> str:
    """The error's first line plus the lines that say what went wrong (dbt's errors come
    after a long preamble, and the underlying cause is often a nested error)."""
    while error is not None and error.cause is not None and error.cls_name in ("DagsterExecutionStepExecutionError", "RetryRequestedFromPolicy"):
        error = error.cause
    if error is None or not error.message:
        return "unknown error"
    plain = re.sub(r"\x1b\[[0-9;]*m", "", error.message)
    lines = [line.strip() for line in plain.strip().splitlines() if line.strip()]
    telling = [line for line in lines[1:] if any(word in line for word in ("Error", "error", "FAIL", "failed", "Failure"))]
    return "\n    ".join([lines[0], *telling[:10]])

"""Crash points for the crash-safety tests.

With BATON_CRASH_AT=<point> the process kills itself with SIGKILL when it
reaches that point: a real, unclean death (no cleanup, no finally blocks), as
a power cut or the OOM killer would cause. Unset, this does nothing.
"""

from __future__ import annotations

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("BATON_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def fail_once_point(name: str) -> None:
    """With BATON_FAIL_ONCE=<point>, raise a transient error the first time the
    point is reached (remembered in the BATON_FAIL_ONCE_MARKER file), to prove
    the retry policy recovers from it."""
    marker = os.environ.get("BATON_FAIL_ONCE_MARKER")
    if os.environ.get("BATON_FAIL_ONCE") == name and marker and not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write(name)
        raise OSError(f"injected transient failure at {name}")

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

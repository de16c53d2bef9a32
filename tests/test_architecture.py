"""The house rules of the code (README, "Architecture"): plain library code never imports Dagster,
and loading the Dagster definitions changes nothing in the environment."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import baton.lib


def _run(code: str) -> str:
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def test_no_module_of_lib_imports_dagster() -> None:
    modules = [m.name for m in pkgutil.walk_packages(baton.lib.__path__, "baton.lib.")]
    assert "baton.lib.extract.loader" in modules and "baton.lib.rules" in modules
    loaded = json.loads(
        _run(
            "import importlib, json, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_dbt'))))"
        )
    )
    assert loaded == []


def test_loading_the_definitions_changes_nothing_in_the_environment() -> None:
    changed = json.loads(
        _run(
            "import json, os\n"
            "before = dict(os.environ)\n"
            "import baton.definitions\n"
            "print(json.dumps(sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))))"
        )
    )
    assert changed == []

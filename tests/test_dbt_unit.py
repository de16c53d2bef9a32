"""Runs the dbt unit tests (`unit_tests:` in the dbt project) against a built warehouse.

The unit tests hold hand-computed expectations for the rules of CONTRACT
sections 3, 4, 5 and 7 (identity, SAL, sourced/influenced pipeline, precise
readings). dbt needs every upstream relation to exist to learn column types,
so they run against the sample warehouse built by the `built_warehouse`
fixture (tests/conftest.py, BATON_AS_OF=2026-11-15).

Every unit test of the project runs. Besides a zero exit code, the test
checks that dbt reports exactly as many passed unit tests as the yml files
define, so a unit test that silently stops being collected (bad yml key,
renamed model) fails here too.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT = REPO / "dbt_project"
UNIT_TEST_FILES = tuple(
    path for path in sorted((DBT_PROJECT / "models").rglob("*.yml")) if "unit_tests:" in path.read_text(encoding="utf-8")
)

# dbt's closing line, e.g. "Done. PASS=31 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=31"
_SUMMARY = re.compile(r"Done\.\s+PASS=(?P<passed>\d+)\b.*?\bTOTAL=(?P<total>\d+)")


def _unit_tests() -> list[dict]:
    tests: list[dict] = []
    for path in UNIT_TEST_FILES:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tests.extend(document.get("unit_tests") or [])
    return tests


def _dbt_executable() -> str:
    # The dbt of the interpreter running pytest (the project's venv), else PATH.
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if found is None:
        pytest.fail("dbt executable not found next to the Python interpreter nor on PATH")
    return found


def test_unit_test_files_define_named_described_tests() -> None:
    tests = _unit_tests()
    assert tests, "no dbt unit tests defined"
    names = [test.get("name") for test in tests]
    assert all(names), "every unit test needs a name"
    assert len(names) == len(set(names)), f"duplicate unit test names: {sorted(n for n in names if names.count(n) > 1)}"
    for test in tests:
        assert test.get("model"), f"{test['name']}: no model"
        assert (test.get("description") or "").strip(), f"{test['name']}: no description (the hand computation)"
        assert test.get("given") is not None and test.get("expect") is not None, f"{test['name']}: needs given and expect"


@pytest.mark.slow
def test_dbt_unit_tests_pass(built_warehouse: Path, tmp_path: Path) -> None:
    expected = len(_unit_tests())
    env = dict(os.environ)
    env["BATON_DUCKDB_PATH"] = str(built_warehouse)
    env["DO_NOT_TRACK"] = "1"
    # A private target/log dir: the run neither reads nor clobbers the
    # project's partial-parse state and artifacts.
    result = subprocess.run(
        [
            _dbt_executable(),
            "--no-use-colors",
            "test",
            "--project-dir", str(DBT_PROJECT),
            "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(tmp_path / "target"),
            "--log-path", str(tmp_path / "logs"),
            "--select", "test_type:unit",
        ],
        cwd=DBT_PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"dbt unit tests failed (exit {result.returncode}):\n{output[-8000:]}"
    summaries = _SUMMARY.findall(output)
    assert summaries, f"no 'Done. PASS=N ... TOTAL=N' summary in dbt output:\n{output[-4000:]}"
    passed, total = (int(value) for value in summaries[-1])
    assert passed == expected, f"dbt reports PASS={passed}, the yml files define {expected} unit tests"
    assert total == expected, f"dbt ran TOTAL={total}, the yml files define {expected} unit tests"

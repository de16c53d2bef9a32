"""What BI tools get (docs/bi.md): a serving file the DuckDB 1.x inside BI drivers opens, the same
tables as Parquet and CSV files, byte-identical on a rerun, and readers that hold the previous
night keep reading it, complete, while a new one is published.

The fast tests publish a small hand-made warehouse in-process. The slow ones use the sample built
with the real CLI and read it with DuckDB 1.1.3, installed once into `<repo>/.cache/duckdb-1.1.3`
(a venv of its own; PyPI must be reachable the first time, and the test fails, not skips, if not).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

import baton.lib.serving as serving_module
from baton.lib.serving import SERVING_STORAGE_VERSION, files_path, publish
from conftest import REPO_ROOT, baton_env, run_baton

OLD_DUCKDB = "1.1.3"
OLD_DUCKDB_VENV = REPO_ROOT / ".cache" / f"duckdb-{OLD_DUCKDB}"
# The DuckDB file header: 8 bytes of checksum, "DUCK", then the storage version number (uint64).
STORAGE_NUMBER_READ_BY_DUCKDB_1_1 = 64


# --- a small warehouse, for the fast tests --------------------------------------------------------


def make_warehouse(path: Path, extra_lead: bool = False) -> None:
    """marts with a double, a timestamp, a map, personal data and NULLs, rows inserted in a random order."""
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS marts; CREATE SCHEMA IF NOT EXISTS audit")
        conn.execute("DROP TABLE IF EXISTS marts.fct_leads; DROP TABLE IF EXISTS marts.monthly; DROP TABLE IF EXISTS audit.load_ledger")
        conn.execute(
            f"""
            CREATE TABLE marts.fct_leads AS
            SELECT 'L-' || i AS lead_id,
                   'person' || i || '@example.com' AS email,
                   'First' || i AS first_name, 'Last' || i AS last_name,
                   CASE WHEN i % 7 = 0 THEN NULL ELSE i * 1000.1 / 3 END AS amount,
                   TIMESTAMP '2026-11-01 08:00:00' + i * INTERVAL 37 MINUTE AS created_at,
                   map(['employee_count', 'industry'], [CASE WHEN i % 2 = 0 THEN 'pass' ELSE 'fail' END, 'pass']) AS rule_results,
                   i % 3 = 0 AS is_sal
            FROM range({301 if extra_lead else 300}) r(i)
            ORDER BY random()
            """
        )
        conn.execute(
            """
            CREATE TABLE marts.monthly AS
            SELECT date_trunc('month', created_at)::DATE AS month, count(*) AS leads,
                   -- summed in a fixed order: a float sum over rows in another order differs in the last bits
                   sum(amount ORDER BY lead_id) AS amount, sum(amount ORDER BY lead_id) / count(amount) AS avg_amount
            FROM marts.fct_leads GROUP BY ALL ORDER BY random()
            """
        )
        conn.execute("CREATE TABLE audit.load_ledger AS SELECT 'leads' AS entity, 'leads.csv' AS file_name, 300 AS rows_loaded")


@pytest.fixture
def small(tmp_path: Path) -> tuple[Path, Path]:
    warehouse = tmp_path / "warehouse.duckdb"
    make_warehouse(warehouse)
    return warehouse, tmp_path / "out" / "warehouse.serving.duckdb"


def publish_file(warehouse: Path, serving: Path, **kwargs) -> None:
    with duckdb.connect(str(warehouse)) as conn:
        publish(conn, serving, **kwargs)


def tables_of(serving: Path) -> list[str]:
    with duckdb.connect(str(serving), read_only=True) as conn:
        return [f"{s}.{t}" for s, t in conn.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY ALL").fetchall()]


def file_hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def generations(serving: Path) -> list[Path]:
    link = files_path(serving)
    return sorted(p for p in link.parent.iterdir() if p.name.startswith(f".{link.name}.") and p.is_dir())


# --- fast ----------------------------------------------------------------------------------------


def test_the_serving_file_is_in_the_storage_format_duckdb_1_1_reads(small: tuple[Path, Path]) -> None:
    warehouse, serving = small
    publish_file(warehouse, serving)
    head = serving.read_bytes()[:20]
    assert head[8:12] == b"DUCK"
    assert struct.unpack("<Q", head[12:20])[0] == STORAGE_NUMBER_READ_BY_DUCKDB_1_1, SERVING_STORAGE_VERSION


def test_parquet_and_csv_hold_the_serving_tables_value_for_value_without_personal_data(small: tuple[Path, Path]) -> None:
    warehouse, serving = small
    publish_file(warehouse, serving)
    folder = files_path(serving)
    assert folder.is_symlink() and folder.name == "warehouse.serving.files"
    tables = tables_of(serving)
    assert tables == ["audit.load_ledger", "marts.fct_leads", "marts.monthly"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.{ext}" for t in tables for ext in ("csv", "parquet"))
    with duckdb.connect() as conn:
        conn.execute(f"ATTACH '{serving}' AS serving (READ_ONLY)")
        for table in tables:
            expected = conn.execute(f"SELECT * FROM serving.{table} ORDER BY ALL").fetchall()
            # Read in file order: the rows are stored sorted, in the DuckDB file and in both files.
            assert conn.execute(f"SELECT * FROM serving.{table}").fetchall() == expected, table
            assert conn.execute(f"SELECT * FROM read_parquet('{folder}/{table}.parquet')").fetchall() == expected, table
            as_text = conn.execute(f"SELECT CAST(COLUMNS(*) AS VARCHAR) FROM serving.{table}").fetchall()
            from_csv = conn.execute(f"FROM read_csv('{folder}/{table}.csv', header = true, all_varchar = true)").fetchall()
            assert sorted(from_csv, key=repr) == sorted(as_text, key=repr) and len(from_csv) == len(expected), table
        columns = [r[0] for r in conn.execute("SELECT column_name FROM (DESCRIBE serving.marts.fct_leads)").fetchall()]
    assert not {"email", "email_hash", "first_name", "last_name"} & set(columns)
    for path in folder.iterdir():
        content = path.read_bytes()
        assert b"@example.com" not in content and b"First1" not in content, path.name


def test_csv_only_for_tables_a_spreadsheet_opens_parquet_for_all(small: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    warehouse, serving = small
    monkeypatch.setattr(serving_module, "CSV_MAX_ROWS", 299)  # fct_leads has 300 rows
    with duckdb.connect(str(warehouse)) as conn:
        published = {f"{t.schema}.{t.table}": t.files for t in publish(conn, serving)}
    assert published["marts.fct_leads"] == ("marts.fct_leads.parquet",)
    assert published["marts.monthly"] == ("marts.monthly.parquet", "marts.monthly.csv")
    assert sorted(p.name for p in files_path(serving).iterdir()) == sorted(f for files in published.values() for f in files)


def test_with_a_pii_key_the_files_carry_the_same_email_hash_as_the_serving_file(small: tuple[Path, Path]) -> None:
    warehouse, serving = small
    publish_file(warehouse, serving, pii_key="k1")
    with duckdb.connect() as conn:
        in_file = conn.execute(f"SELECT lead_id, email_hash FROM read_parquet('{files_path(serving)}/marts.fct_leads.parquet') ORDER BY ALL").fetchall()
        conn.execute(f"ATTACH '{serving}' AS serving (READ_ONLY)")
        assert in_file == conn.execute("SELECT lead_id, email_hash FROM serving.marts.fct_leads ORDER BY ALL").fetchall()
    assert b"@example.com" not in (files_path(serving) / "marts.fct_leads.csv").read_bytes()


def test_a_rerun_gives_byte_identical_parquet_and_csv_files_whatever_the_row_order(small: tuple[Path, Path]) -> None:
    warehouse, serving = small
    publish_file(warehouse, serving)
    first = file_hashes(files_path(serving))
    make_warehouse(warehouse)  # the same marts, rows inserted in another order
    publish_file(warehouse, serving)
    assert file_hashes(files_path(serving)) == first
    make_warehouse(warehouse, extra_lead=True)
    publish_file(warehouse, serving)
    assert file_hashes(files_path(serving))["marts.fct_leads.parquet"] != first["marts.fct_leads.parquet"]


def test_the_files_folder_is_swapped_whole_and_the_previous_night_is_kept_until_the_next(small: tuple[Path, Path]) -> None:
    warehouse, serving = small
    link = files_path(serving)
    publish_file(warehouse, serving)
    night1 = link.resolve()
    held = open(night1 / "marts.fct_leads.parquet", "rb")  # a reader in the middle of night 1
    try:
        make_warehouse(warehouse, extra_lead=True)
        publish_file(warehouse, serving)
        night2 = link.resolve()
        assert night2 != night1 and generations(serving) == sorted([night1, night2])
        # A reader that resolved the link just before the swap still finds night 1 whole.
        with duckdb.connect() as conn:
            assert conn.execute(f"SELECT count(*) FROM '{night1}/marts.fct_leads.parquet'").fetchone()[0] == 300
            assert conn.execute(f"SELECT count(*) FROM '{link}/marts.fct_leads.parquet'").fetchone()[0] == 301
        publish_file(warehouse, serving)
        assert generations(serving) == sorted([night2, link.resolve()])  # night 1 deleted...
        assert held.read(4) == b"PAR1"  # ...and a handle open on it still reads
    finally:
        held.close()


def test_a_long_lived_connection_over_the_parquet_files_sees_each_new_night(small: tuple[Path, Path]) -> None:
    """The no-reconnect set-up docs/bi.md gives Metabase: views over the files, in an in-memory DuckDB."""
    warehouse, serving = small
    publish_file(warehouse, serving)
    with duckdb.connect() as reader:
        reader.execute(f"CREATE VIEW fct_leads AS FROM read_parquet('{files_path(serving)}/marts.fct_leads.parquet')")
        assert reader.execute("SELECT count(*) FROM fct_leads").fetchone()[0] == 300
        make_warehouse(warehouse, extra_lead=True)
        publish_file(warehouse, serving)
        assert reader.execute("SELECT count(*) FROM fct_leads").fetchone()[0] == 301


def test_a_killed_publish_leaves_nothing_visible_and_its_leftovers_go_next_time(small: tuple[Path, Path]) -> None:
    warehouse, serving = small
    publish_file(warehouse, serving)
    link = files_path(serving)
    before = (serving.read_bytes(), link.resolve(), file_hashes(link))
    half_folder = serving.with_name(f".{link.name}.20260101T000000-dead.tmp")
    half_folder.mkdir()
    (half_folder / "marts.fct_leads.parquet").write_bytes(b"half")
    half_link = serving.with_name(f".{link.name}.0123.link")
    os.symlink(half_folder.name, half_link)
    assert (serving.read_bytes(), link.resolve(), file_hashes(link)) == before
    publish_file(warehouse, serving)
    assert not half_folder.exists() and not half_link.is_symlink()
    assert not [p for p in serving.parent.iterdir() if p.name.endswith((".tmp", ".link"))]


def test_a_real_folder_where_the_link_goes_is_refused_and_nothing_is_replaced(small: tuple[Path, Path]) -> None:
    warehouse, serving = small
    publish_file(warehouse, serving)
    before = serving.read_bytes()
    link = files_path(serving)
    link.unlink()
    link.mkdir()
    (link / "mine.txt").write_text("someone's")
    with pytest.raises(RuntimeError, match="not the link"):
        publish_file(warehouse, serving)
    assert serving.read_bytes() == before and (link / "mine.txt").read_text() == "someone's"


# --- slow: the sample, and DuckDB 1.1.3 as BI drivers embed it ----------------------------------


@pytest.fixture(scope="session")
def old_duckdb() -> Path:
    """The Python of a venv with DuckDB 1.1.3, created once under <repo>/.cache (git-ignored)."""
    python = OLD_DUCKDB_VENV / "bin" / "python"
    OLD_DUCKDB_VENV.parent.mkdir(parents=True, exist_ok=True)
    with open(OLD_DUCKDB_VENV.with_name(OLD_DUCKDB_VENV.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two sessions at once build it once
        if _version(python) != OLD_DUCKDB:
            staging = OLD_DUCKDB_VENV.with_name(f"{OLD_DUCKDB_VENV.name}.tmp-{os.getpid()}")
            shutil.rmtree(staging, ignore_errors=True)
            for command in (
                [sys.executable, "-m", "venv", str(staging)],
                [str(staging / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet",
                 f"duckdb=={OLD_DUCKDB}", "pytz"],  # pytz: DuckDB 1.1 needs it to hand a TIMESTAMPTZ to Python
            ):
                completed = subprocess.run(command, capture_output=True, text=True, timeout=600)
                if completed.returncode != 0:
                    shutil.rmtree(staging, ignore_errors=True)
                    pytest.fail(f"could not set up DuckDB {OLD_DUCKDB} for the old-reader tests: {' '.join(command)}\n"
                                + completed.stdout[-2000:] + completed.stderr[-3000:])
            shutil.rmtree(OLD_DUCKDB_VENV, ignore_errors=True)
            staging.rename(OLD_DUCKDB_VENV)
        assert _version(python) == OLD_DUCKDB, f"{python} does not run DuckDB {OLD_DUCKDB}"
    return python


def _version(python: Path) -> str | None:
    if not python.exists():
        return None
    completed = subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True, text=True)
    return completed.stdout.strip() if completed.returncode == 0 else None


DUMP = textwrap.dedent(
    """
    import json, sys, duckdb
    out = {"version": duckdb.__version__, "tables": {}}
    conn = duckdb.connect(sys.argv[1], read_only=True)
    for schema, table in conn.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY ALL").fetchall():
        relation = f'"{schema}"."{table}"' if len(sys.argv) == 2 else f"read_parquet('{sys.argv[2]}/{schema}.{table}.parquet')"
        rows = conn.execute(f"SELECT * FROM {relation}").fetchall()  # file order: stored sorted
        out["tables"][f"{schema}.{table}"] = json.dumps(rows, default=repr)
    print(json.dumps(out))
    """
)


def dump(python: Path | str, serving: Path, parquet_folder: Path | None = None) -> dict:
    """Every row of every table, as the DuckDB of `python` reads them from the serving file (or the Parquet files)."""
    args = [str(python), "-c", DUMP, str(serving)] + ([str(parquet_folder)] if parquet_folder else [])
    completed = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout)


@pytest.mark.slow
def test_duckdb_1_1_refuses_a_file_in_duckdb_2_storage(old_duckdb: Path, tmp_path: Path) -> None:
    """The control: the old reader is old enough to show the problem the pinned format solves."""
    path = tmp_path / "default.duckdb"
    with duckdb.connect(str(path)) as conn:
        conn.execute("CREATE TABLE t AS SELECT 1 AS x")
    completed = subprocess.run([str(old_duckdb), "-c", f"import duckdb; duckdb.connect({str(path)!r}, read_only=True)"], capture_output=True, text=True)
    assert completed.returncode != 0 and "version number" in completed.stderr, completed.stderr[-2000:]


@pytest.mark.slow
def test_duckdb_1_1_opens_the_serving_copy_and_reads_every_table_as_duckdb_2_does(built_warehouse: Path, old_duckdb: Path) -> None:
    serving = built_warehouse.with_name("warehouse.serving.duckdb")
    old, new = dump(old_duckdb, serving), dump(sys.executable, serving)
    assert (old["version"], new["version"]) == (OLD_DUCKDB, duckdb.__version__)
    assert "marts.fct_leads" in old["tables"] and "audit.load_ledger" in old["tables"]
    assert old["tables"] == new["tables"]
    # ...and they are the warehouse's figures: same rows, same values in every published column.
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        conn.execute(f"ATTACH '{serving}' AS serving (READ_ONLY)")
        for table in new["tables"]:
            columns = [r[0] for r in conn.execute(f"SELECT column_name FROM (DESCRIBE serving.{table})").fetchall()]
            assert "email_hash" not in columns
            listed = ", ".join(f'"{c}"' for c in columns)
            assert conn.execute(f"SELECT {listed} FROM {table} ORDER BY ALL").fetchall() == conn.execute(f"SELECT * FROM serving.{table}").fetchall(), table
        leads = conn.execute("SELECT count(*), count(DISTINCT lead_id) FROM marts.fct_leads").fetchone()
    assert leads[0] > 0 and len(json.loads(old["tables"]["marts.fct_leads"])) == leads[0]


@pytest.mark.slow
def test_the_parquet_files_equal_the_serving_tables_for_duckdb_2_and_duckdb_1_1(built_warehouse: Path, old_duckdb: Path) -> None:
    serving = built_warehouse.with_name("warehouse.serving.duckdb")
    folder = files_path(serving)
    assert folder.is_symlink()
    from_file = dump(sys.executable, serving)["tables"]
    assert dump(sys.executable, serving, folder)["tables"] == from_file
    assert dump(old_duckdb, serving, folder)["tables"] == from_file
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.{ext}" for t in from_file for ext in ("csv", "parquet"))


@pytest.mark.slow
def test_a_real_rerun_publishes_byte_identical_parquet_and_csv(built_warehouse: Path, warehouse_copy: Path, tmp_path: Path) -> None:
    """A second `baton run` (dbt rebuilds every mart, another process) over the same landing files."""
    completed = run_baton(baton_env(tmp_path))
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    first = file_hashes(files_path(built_warehouse.with_name("warehouse.serving.duckdb")))
    again = file_hashes(files_path(warehouse_copy.with_name("warehouse.serving.duckdb")))
    assert again == first


HOLDER = textwrap.dedent(
    """
    import sys, duckdb
    conn = duckdb.connect(sys.argv[1], read_only=True)
    count = "SELECT count(*) FROM marts.fct_leads"
    print(conn.execute(count).fetchone()[0], flush=True)
    sys.stdin.readline()                      # the test says when the new copy is published
    print(conn.execute(count).fetchone()[0], flush=True)
    conn.close()
    print(duckdb.connect(sys.argv[1], read_only=True).execute(count).fetchone()[0], flush=True)
    """
)


@pytest.mark.slow
def test_a_duckdb_1_1_reader_holding_the_serving_copy_keeps_the_old_one_while_a_new_one_is_published(
    built_warehouse: Path, warehouse_copy: Path, old_duckdb: Path
) -> None:
    serving = warehouse_copy.with_name("warehouse.serving.duckdb")
    shutil.copy(built_warehouse.with_name("warehouse.serving.duckdb"), serving)
    holder = subprocess.Popen([str(old_duckdb), "-c", HOLDER, str(serving)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        before = int(holder.stdout.readline())
        with duckdb.connect(str(warehouse_copy)) as conn:
            conn.execute("INSERT INTO marts.fct_leads SELECT * REPLACE ('NEW-' || lead_id AS lead_id) FROM marts.fct_leads ORDER BY lead_id LIMIT 1")
            publish(conn, serving)  # not blocked by the reader
        holder.stdin.write("go\n")
        holder.stdin.flush()
        still_open, reopened = int(holder.stdout.readline()), int(holder.stdout.readline())
        assert holder.wait(timeout=60) == 0
    finally:
        holder.kill()
    assert (still_open, reopened) == (before, before + 1)
    with duckdb.connect() as conn:
        assert conn.execute(f"SELECT count(*) FROM '{files_path(serving)}/marts.fct_leads.parquet'").fetchone()[0] == before + 1

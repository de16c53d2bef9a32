"""Raw as a Parquet lake (orchestration/baton/lib/extract/lake.py).

Each loaded landing file's typed rows are one Parquet file,
`<warehouse folder>/raw/<entity>/file_id=<n>/part-0.parquet`; `raw.<entity>` is
a view over the files whose ledger row is `loaded`. These tests check the
layout and the Parquet types (what a Spark engine will read), the view (with
no file, `_file_id`, the same columns as the raw tables of earlier versions),
the crash points around the write (SIGKILL in a child process), rolled-back
loads, the upgrade of a warehouse with raw tables, a moved warehouse, and the
rows-balance check reading the lake.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import duckdb
import pytest

from baton.lib.extract import lake, loader
from baton.lib.extract.balance import rows_balance_problems
from baton.lib.extract.entities import ENTITIES
from baton.lib.extract.loader import ensure_warehouse, load_entity
from baton.lib.extract.mappings import Mappings
from baton.lib.extract.preview import preview_landing

LEADS = (
    "lead_id,email,job_title,employee_count,industry,lead_source,created_at,favourite_colour\n"
    "L-1,a@x.com,CFO,51-200,Banking,webinar,2026-01-02T03:04:05.123456+02:00,blue\n"
    "L-2,b@x.com,CTO,120,Retail,ebook,2026-01-03,\n"
    "L-3,,,,,webinar,2026-01-04T00:00:00Z,red\n"
    "L-4,d@x.com,CEO,,,webinar,not a date,\n"  # quarantined: bad created_at
)
DEALS = (
    "deal_id,account_id,amount,stage,created_at,closed_at\n"
    "D-1,A-1,1200.5,closed_won,2026-02-01T10:00:00Z,2026-03-01\n"
    "D-2,A-2,99,open,2026-02-02,\n"
)
CAMPAIGNS = "campaign_id,campaign_name,channel,cost,start_date,end_date\nC-1,Webinars,webinar,1000,2026-01-05,2026-12-31\n"


def put(landing: Path, entity: str, name: str, text: str) -> Path:
    folder = landing / entity
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def load(conn: duckdb.DuckDBPyConnection, entity: str, landing: Path):
    return load_entity(conn, entity, landing, progress=lambda message: None)


def folders(lake_folder: Path) -> set[tuple[str, str]]:
    """(entity, folder name) of every folder in the lake."""
    return {(p.parent.name, p.name) for p in (lake_folder / "raw").glob("*/*") if p.is_dir()}


def loaded(conn: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    rows = conn.execute("SELECT entity, 'file_id=' || file_id FROM audit.load_ledger WHERE status = 'loaded'").fetchall()
    return set(rows)


def raw_rows(conn: duckdb.DuckDBPyConnection, entity: str) -> list[tuple]:
    return conn.execute(f"SELECT * EXCLUDE (_loaded_at) FROM raw.{entity} ORDER BY _file_id, _row_number").fetchall()


def table_columns(entity: str) -> list[tuple[str, str]]:
    """The columns of raw.<entity> as earlier versions created the table."""
    e = ENTITIES[entity]
    return [(name, sql_type) for name, sql_type in (*e.raw_columns, *loader.METADATA_COLUMNS)]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    folder = tmp_path / "wh"
    folder.mkdir()
    return folder / "baton.duckdb"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    return folder


# --- layout and types --------------------------------------------------------------------------


def test_one_folder_per_loaded_file_and_none_for_failed_or_duplicate_files(warehouse: Path, landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    put(landing, "leads", "b_same.csv", LEADS)  # duplicate content
    put(landing, "leads", "c_bad.csv", "name,colour\nx,y\n")  # failed: no required column
    put(landing, "leads", "d_header_only.csv", LEADS.splitlines()[0] + "\n")  # loads 0 rows
    with duckdb.connect(str(warehouse)) as conn:
        results = {Path(r.path).name: r.status for r in load(conn, "leads", landing)}
        assert results == {"a.csv": "loaded", "b_same.csv": "duplicate", "c_bad.csv": "failed", "d_header_only.csv": "loaded"}
        assert folders(warehouse.parent) == loaded(conn)
        ids = dict(conn.execute("SELECT file_name, file_id FROM audit.load_ledger").fetchall())
        for name in ("a.csv", "d_header_only.csv"):
            folder = warehouse.parent / "raw" / "leads" / f"file_id={ids[name]}"
            assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]
        assert (warehouse.parent / "raw" / lake.MARKER).is_file()
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (3,)
        assert rows_balance_problems(conn, "leads") == []


def test_parquet_holds_the_raw_columns_in_types_spark_reads(warehouse: Path, landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    put(landing, "deals", "d.csv", DEALS)
    put(landing, "campaigns", "c.csv", CAMPAIGNS)
    with duckdb.connect(str(warehouse)) as conn:
        for entity in ("leads", "deals", "campaigns"):
            load(conn, entity, landing)
        [leads_file] = (warehouse.parent / "raw" / "leads").glob("*/part-0.parquet")
        [deals_file] = (warehouse.parent / "raw" / "deals").glob("*/part-0.parquet")
        [campaigns_file] = (warehouse.parent / "raw" / "campaigns").glob("*/part-0.parquet")
        schema = {
            name: (physical, logical or converted)
            for path in (leads_file, deals_file, campaigns_file)
            for name, physical, logical, converted in conn.execute(
                "SELECT name, type, logical_type::VARCHAR, converted_type FROM parquet_schema(?) WHERE name <> 'duckdb_schema'",
                [str(path)],
            ).fetchall()
        }
        described = dict(
            conn.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning = false))",
                [str(leads_file)],
            ).fetchall()
        )
        # the file's own columns: exactly the raw columns, JSON as text
        assert list(described) == [name for name, _ in table_columns("leads")]
        assert described["_raw_row"] == "VARCHAR"
        assert schema["created_at"][0] == "INT64" and "isAdjustedToUTC=0" in schema["created_at"][1]
        assert "MICROS" in schema["created_at"][1]
        assert schema["_loaded_at"][0] == "INT64" and "isAdjustedToUTC=0" in schema["_loaded_at"][1]
        assert schema["employee_count_min"][0] == "INT64"
        assert schema["amount"][0] == "DOUBLE"
        assert schema["start_date"] == ("INT32", "DATE")
        assert schema["_raw_row"][0] == "BYTE_ARRAY"
        # the values: timestamps in UTC to the microsecond, JSON text of the unknown columns
        row = conn.execute(
            "SELECT created_at, employee_count, employee_count_min, employee_count_max, _raw_row"
            " FROM read_parquet(?) WHERE lead_id = 'L-1'",
            [str(leads_file)],
        ).fetchone()
        assert row == (dt.datetime(2026, 1, 2, 1, 4, 5, 123456), None, 51, 200, '{"favourite_colour":"blue"}')


def test_view_has_the_columns_and_types_of_the_old_raw_tables(tmp_path: Path) -> None:
    with duckdb.connect() as conn:
        ensure_warehouse(conn)
        for entity in ENTITIES:
            described = conn.execute(f"SELECT column_name, column_type FROM (DESCRIBE raw.{entity})").fetchall()
            assert described == table_columns(entity), entity


def test_view_works_with_no_file_at_all(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as conn:
        ensure_warehouse(conn)
        for entity in ENTITIES:
            assert conn.execute(f"SELECT * FROM raw.{entity}").fetchall() == []
            assert conn.execute(f"SELECT count(*) FROM raw.{entity} WHERE _file_id > 3").fetchone() == (0,)
        assert not list((warehouse.parent / "raw").glob("*/*"))
    # and read-only, as dbt's tests and BI tools open it
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (0,)


def test_file_id_is_the_folders_and_the_files(warehouse: Path, landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    put(landing, "leads", "b.csv", LEADS.replace("L-", "M-").replace("@x.com", "@y.com"))
    with duckdb.connect(str(warehouse)) as conn:
        load(conn, "leads", landing)
        pattern = str(warehouse.parent / "raw" / "leads" / "*" / "*.parquet")
        mismatched = conn.execute(
            "SELECT count(*) FROM read_parquet(?, hive_partitioning = false, filename = true)"
            " WHERE 'file_id=' || _file_id <> regexp_extract(filename, '(file_id=\\d+)/part-0.parquet$', 1)",
            [pattern],
        ).fetchone()
        assert mismatched == (0,)
        by_view = conn.execute("SELECT _file_id, count(*) FROM raw.leads GROUP BY ALL ORDER BY 1").fetchall()
        ledger = conn.execute("SELECT file_id, rows_loaded FROM audit.load_ledger ORDER BY 1").fetchall()
        assert by_view == ledger and len(ledger) == 2


def test_view_counts_only_files_the_ledger_records_loaded(warehouse: Path, landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    with duckdb.connect(str(warehouse)) as conn:
        load(conn, "leads", landing)
        source = next((warehouse.parent / "raw" / "leads").glob("*/part-0.parquet"))
        # a folder no ledger row loaded (what a crash after the rename leaves)
        orphan = warehouse.parent / "raw" / "leads" / "file_id=999"
        orphan.mkdir()
        shutil.copy(source, orphan / "part-0.parquet")
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (3,)
        # the same rows under another entity's loaded id do not count either
        other = conn.execute("SELECT file_id FROM audit.load_ledger").fetchone()[0]
        assert conn.execute("SELECT count(*) FROM raw.deals WHERE _file_id = ?", [other]).fetchone() == (0,)
        # the next extract sweeps the orphan and a stale temporary file
        stale = source.parent / ".tmp-0123"
        stale.write_bytes(b"half a file")
        load(conn, "leads", landing)
        assert not orphan.exists() and not stale.exists()
        assert folders(warehouse.parent) == loaded(conn)


# --- crashes and rolled-back loads ---------------------------------------------------------------


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import duckdb
    from baton.lib.extract.loader import load_entity
    conn = duckdb.connect(sys.argv[1])
    load_entity(conn, sys.argv[3], Path(sys.argv[2]), progress=print)
    conn.close()
    """
)


@pytest.mark.parametrize(
    "crash_at",
    ["extract:before_lake_rename:leads", "extract:after_lake_write:leads", "extract:before_commit:leads"],
)
def test_killed_around_the_lake_write_leaves_nothing_counted_and_loads_once_next_time(
    warehouse: Path, landing: Path, crash_at: str
) -> None:
    put(landing, "leads", "a.csv", LEADS)
    with duckdb.connect(str(warehouse)) as conn:  # an earlier night, loaded
        put(landing, "deals", "d.csv", DEALS)
        load(conn, "deals", landing)
        before = raw_rows(conn, "deals")
    env = {**os.environ, "BATON_CRASH_AT": crash_at}
    killed = subprocess.run(
        [sys.executable, "-c", CHILD, str(warehouse), str(landing), "leads"], env=env, capture_output=True, text=True
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    left = list((warehouse.parent / "raw" / "leads").glob("*/*"))
    if crash_at == "extract:before_lake_rename:leads":
        assert [p.name[:5] for p in left] == [".tmp-"]
    else:
        assert [p.name for p in left] == ["part-0.parquet"]  # renamed, but its ledger row never committed
    with duckdb.connect(str(warehouse)) as conn:
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM audit.load_ledger WHERE entity = 'leads'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM audit.quarantine").fetchone() == (0,)
        [result] = load(conn, "leads", landing)
        assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 3, 1)
        assert conn.execute("SELECT count(*), count(DISTINCT lead_id) FROM raw.leads").fetchone() == (3, 3)
        assert folders(warehouse.parent) == loaded(conn)
        assert not list((warehouse.parent / "raw").glob("*/*/.tmp-*"))
        assert raw_rows(conn, "deals") == before
        assert rows_balance_problems(conn, "leads") == [] and rows_balance_problems(conn, "deals") == []


def test_a_load_rolled_back_after_its_parquet_was_written_leaves_no_folder(
    warehouse: Path, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(landing, "leads", "a.csv", LEADS)

    def full_disk(self) -> None:
        raise OSError(28, "No space left on device")

    with duckdb.connect(str(warehouse)) as conn:
        with monkeypatch.context() as patched:
            patched.setattr(lake.Staged, "publish", full_disk)
            [result] = load(conn, "leads", landing)
        assert result.status == "error" and "No space left" in result.reason
        assert folders(warehouse.parent) == set()
        with monkeypatch.context() as patched:  # the file changed while it was read: deferred, rolled back
            patched.setattr(loader, "_changed", lambda path, stat: True)
            [result] = load(conn, "leads", landing)
        assert result.status == "deferred"
        assert folders(warehouse.parent) == set()
        assert conn.execute("SELECT count(*) FROM audit.quarantine").fetchone() == (0,)
        [result] = load(conn, "leads", landing)
        assert result.status == "loaded"
        assert folders(warehouse.parent) == loaded(conn) and len(loaded(conn)) == 1


# --- upgrade, moves ------------------------------------------------------------------------------


def _as_an_earlier_version(warehouse: Path) -> None:
    """Turn a warehouse into what earlier versions built: raw tables, no lake, and (leads) the raw
    table from before employee counts could be ranges."""
    with duckdb.connect(str(warehouse)) as conn:
        for entity in ENTITIES:
            conn.execute(f"CREATE TABLE raw.{entity}_old AS SELECT * FROM raw.{entity}")
            if entity == "leads":
                conn.execute("ALTER TABLE raw.leads_old DROP COLUMN employee_count_min")
                conn.execute("ALTER TABLE raw.leads_old DROP COLUMN employee_count_max")
            conn.execute(f"DROP VIEW raw.{entity}")
            conn.execute(f"ALTER TABLE raw.{entity}_old RENAME TO {entity}")
        conn.execute("DROP TABLE audit.lake")
    shutil.rmtree(warehouse.parent / "raw")


def test_a_warehouse_with_raw_tables_moves_them_to_the_lake_once(
    warehouse: Path, landing: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(landing, "leads", "a.csv", LEADS.replace("51-200", "75"))  # plain numbers only, as before ranges
    put(landing, "leads", "b_empty.csv", LEADS.splitlines()[0] + "\n")
    put(landing, "deals", "d.csv", DEALS)
    with duckdb.connect(str(warehouse)) as conn:
        for entity in ENTITIES:
            load(conn, entity, landing)
        expected = {entity: raw_rows(conn, entity) for entity in ENTITIES}
    _as_an_earlier_version(warehouse)
    with duckdb.connect(str(warehouse)) as conn:
        kinds = conn.execute("SELECT DISTINCT table_type FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()
        assert kinds == [("BASE TABLE",)]
        # interrupted once after exporting (the swap to the view failed): nothing lost, done again
        with monkeypatch.context() as patched:
            patched.setattr(lake, "_create_view", lambda *args: (_ for _ in ()).throw(duckdb.IOException("interrupted")))
            with pytest.raises(duckdb.IOException):
                ensure_warehouse(conn)
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (3,)
        ensure_warehouse(conn)
        kinds = conn.execute("SELECT DISTINCT table_type FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()
        assert kinds == [("VIEW",)]
        for entity in ENTITIES:
            assert raw_rows(conn, entity) == expected[entity], entity
            described = conn.execute(f"SELECT column_name, column_type FROM (DESCRIBE raw.{entity})").fetchall()
            assert described == table_columns(entity)
            assert rows_balance_problems(conn, entity) == []
        assert folders(warehouse.parent) == loaded(conn)  # the 0-row file too
        # the next night loads on top of it
        put(landing, "leads", "c.csv", LEADS.replace("L-", "N-"))
        [*_, new] = load(conn, "leads", landing)
        assert new.status == "loaded"
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (6,)
        assert folders(warehouse.parent) == loaded(conn)


def test_a_warehouse_copied_alone_takes_its_lake_along(warehouse: Path, landing: Path, tmp_path: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    with duckdb.connect(str(warehouse)) as conn:
        load(conn, "leads", landing)
        expected = raw_rows(conn, "leads")
    copy = tmp_path / "elsewhere" / "baton.duckdb"
    copy.parent.mkdir()
    shutil.copy(warehouse, copy)
    with duckdb.connect(str(copy), read_only=True) as conn:  # still reads the lake it was built with
        assert raw_rows(conn, "leads") == expected
    with duckdb.connect(str(copy)) as conn:
        ensure_warehouse(conn)
        assert lake.root(conn) == copy.parent
        assert folders(copy.parent) == loaded(conn)
    shutil.rmtree(warehouse.parent / "raw")
    with duckdb.connect(str(copy), read_only=True) as conn:
        assert raw_rows(conn, "leads") == expected
    # a warehouse whose old lake is gone as well says where it was
    lost = tmp_path / "lost" / "baton.duckdb"
    lost.parent.mkdir()
    shutil.copy(warehouse, lost)
    with duckdb.connect(str(lost)) as conn, pytest.raises(lake.LakeError, match="moved without its Parquet lake"):
        ensure_warehouse(conn)


def test_a_warehouse_moved_with_its_lake_points_its_views_at_the_new_place(
    warehouse: Path, landing: Path, tmp_path: Path
) -> None:
    put(landing, "leads", "a.csv", LEADS)
    with duckdb.connect(str(warehouse)) as conn:
        load(conn, "leads", landing)
        expected = raw_rows(conn, "leads")
    moved = tmp_path / "moved"
    shutil.move(warehouse.parent, moved)
    with duckdb.connect(str(moved / "baton.duckdb")) as conn:
        ensure_warehouse(conn)
        assert lake.root(conn) == moved
        assert raw_rows(conn, "leads") == expected


def test_two_warehouses_cannot_share_a_folder(warehouse: Path, landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    with duckdb.connect(str(warehouse)) as conn:
        load(conn, "leads", landing)
    other = warehouse.with_name("other.duckdb")
    with duckdb.connect(str(other)) as conn, pytest.raises(lake.LakeError, match="another Baton warehouse"):
        ensure_warehouse(conn)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (3,)


def test_a_new_warehouse_in_place_of_a_deleted_one_takes_its_folder_over(warehouse: Path, landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    with duckdb.connect(str(warehouse)) as conn:
        load(conn, "leads", landing)
    warehouse.unlink()  # start again from the landing folder, the old raw/ left in place
    put(landing, "leads", "b.csv", LEADS.replace("L-", "N-"))
    with duckdb.connect(str(warehouse)) as conn:
        results = [r.status for r in load(conn, "leads", landing)]
        assert results == ["loaded", "loaded"]
        assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (6,)
        assert folders(warehouse.parent) == loaded(conn)
        assert rows_balance_problems(conn, "leads") == []


# --- checks and tools reading raw --------------------------------------------------------------------


def test_rows_balance_reads_what_the_lake_holds(warehouse: Path, landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    with duckdb.connect(str(warehouse)) as conn:
        load(conn, "leads", landing)
        assert rows_balance_problems(conn, "leads") == []
        shutil.rmtree(next((warehouse.parent / "raw" / "leads").glob("file_id=*")))
        [problem] = rows_balance_problems(conn, "leads")
        assert "ledger says loaded 3 + quarantined 1, stored 0 in raw + 1 in quarantine" in problem


def test_check_landing_keeps_no_lake_behind(landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    before = set(Path(tempfile.gettempdir()).glob("baton-check-landing-*"))
    [preview] = [p for p in preview_landing(landing, Mappings(())) if p.entity == "leads"]
    assert (preview.status, preview.rows_loaded, preview.rows_quarantined) == ("loaded", 3, 1)
    assert [row[1] for row in preview.rows] == ["L-1", "L-2", "L-3"]
    assert set(Path(tempfile.gettempdir()).glob("baton-check-landing-*")) == before


def test_a_warehouse_in_memory_gets_a_temporary_lake_removed_at_exit(landing: Path) -> None:
    put(landing, "leads", "a.csv", LEADS)
    child = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        import duckdb
        from baton.lib.extract import lake
        from baton.lib.extract.loader import load_entity
        conn = duckdb.connect()
        load_entity(conn, "leads", Path(sys.argv[1]), progress=lambda m: None)
        print(lake.root(conn))
        print(conn.execute("SELECT count(*) FROM raw.leads").fetchone()[0])
        """
    )
    done = subprocess.run([sys.executable, "-c", child, str(landing)], capture_output=True, text=True, check=True)
    folder, count = done.stdout.split()
    assert count == "3"
    assert Path(folder).name.startswith("baton-lake-") and not Path(folder).exists()


def test_folders_of_dead_processes_are_removed_and_no_one_elses(tmp_path: Path) -> None:
    """The sweep behind the in-memory lake and the extract's scratch folders: a killed process
    skips its clean-up, the next one removes its folders, never a live process's."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead_pid = int(finished.stdout)
    names = [f"baton-x-{dead_pid}-a", f"baton-x-{os.getpid()}-b", f"baton-x-{os.getppid()}-c", "baton-x-notapid", f"other-{dead_pid}-d"]
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "part.parquet").write_text("x")
    lake.remove_folders_of_dead_processes(tmp_path, "baton-x-")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[1:])

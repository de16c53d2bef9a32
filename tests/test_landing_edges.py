"""The extract step at the edges of the landing folder (issue 10).

What a night can bring besides a clean new file: a file that failed before
and is still there, a transient failure (out of memory, I/O) that says
nothing about the file, compressed exports and stray files, a file still
being written, a re-sent file with the old name, size and time, symbolic
link loops and timestamps with impossible offsets. Like test_extract.py,
every test calls `load_entity` on a fresh DuckDB and checks the returned
statuses, the ledger, raw and the quarantine against values worked out by
hand; every test ends with each file balanced (rows read = loaded +
quarantined).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from baton.lib.extract import errors, loader, readers
from baton.lib.extract.landing import strays
from baton.lib.extract.loader import FileLoad, load_entity
# `conn` (a balanced in-memory warehouse) and `landing` are test_extract's fixtures.
from test_extract import FIXTURES, LEADS_HEADER, assert_balanced, conn, landing, ledger, load, put, quarantine, raw  # noqa: F401


def statuses(results: list[FileLoad]) -> list[tuple[str, str, bool]]:
    return [(Path(r.path).name, r.status, r.repeated) for r in results]


def ledger_rows(conn: duckdb.DuckDBPyConnection) -> int:
    return conn.execute("SELECT count(*) FROM audit.load_ledger").fetchone()[0]


# --- B. a failed file keeps failing loudly, until fixed, removed or skipped --------------------


MISSING = "b.csv: missing required column(s) created_at (header has: lead_id, email, lead_source)"


def test_a_failed_file_is_reported_failed_again_every_run_until_it_is_fixed(conn, landing, monkeypatch) -> None:
    put(landing, "leads", "a.csv", fixture="leads_good.csv")
    bad = put(landing, "leads", "b.csv", fixture="missing_required_column.csv")
    first = load(conn, "leads", landing)
    assert statuses(first) == [("a.csv", "loaded", False), ("b.csv", "failed", False)]
    assert first[1].reason.startswith(MISSING + "; no mapping ")

    # next run: known by size and time (not even hashed), and still failed, loudly
    real_hash = loader.content_hash
    monkeypatch.setattr(loader, "content_hash", lambda path: pytest.fail(f"{path} was hashed again"))
    second = load(conn, "leads", landing)
    assert statuses(second) == [("a.csv", "unchanged", False), ("b.csv", "failed", True)]
    assert second[1].reason == first[1].reason
    # touched: hashed, same content, still failed; nothing new in the ledger either way
    monkeypatch.setattr(loader, "content_hash", real_hash)
    stat = bad.stat()
    os.utime(bad, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert statuses(load(conn, "leads", landing))[1] == ("b.csv", "failed", True)
    assert ledger(conn) == [("a.csv", "loaded", 2, 2, 0, None), ("b.csv", "failed", 0, 0, 0, MISSING)]

    # fixed: the new content loads, and the file is quiet from then on
    bad.write_text(LEADS_HEADER + "H-3,three@example.com,webinar,2026-01-07\n")
    assert statuses(load(conn, "leads", landing))[1] == ("b.csv", "loaded", False)
    assert statuses(load(conn, "leads", landing))[1] == ("b.csv", "unchanged", False)
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-3",)]
    # removed: no longer discovered, no longer reported
    put(landing, "leads", "c.csv", fixture="missing_required_column.csv")
    assert statuses(load(conn, "leads", landing))[2][1:] == ("failed", False)
    (landing / "leads" / "c.csv").unlink()
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged", "unchanged"]


def test_skip_file_acknowledges_a_failed_file_and_a_new_version_still_loads(conn, landing) -> None:
    bad = put(landing, "leads", "b.csv", fixture="missing_required_column.csv")
    load(conn, "leads", landing)
    message = loader.skip_file(conn, bad, who="alice")
    assert "\n" not in message and str(bad) in message
    rows = conn.execute(
        "SELECT status, reason, content_hash, file_bytes, file_mtime_ns FROM audit.load_ledger ORDER BY file_id"
    ).fetchall()
    assert [row[0] for row in rows] == ["failed", "skipped"]
    assert re.fullmatch(
        rf"skipped by alice at \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC; it had failed: {re.escape(MISSING)}; no mapping .*", rows[1][1]
    )
    assert rows[1][2:] == rows[0][2:]  # the same file content (hash, size, time)
    # acknowledged: quiet from now on, whether known by time or by hash
    assert statuses(load(conn, "leads", landing)) == [("b.csv", "unchanged", False)]
    stat = bad.stat()
    os.utime(bad, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert statuses(load(conn, "leads", landing)) == [("b.csv", "unchanged", False)]
    assert ledger_rows(conn) == 2
    # skipping twice is refused: it is no longer a failed file
    with pytest.raises(ValueError, match="not a failed file"):
        loader.skip_file(conn, bad, who="alice")
    # a new version of the file loads normally
    bad.write_text(LEADS_HEADER + "H-3,three@example.com,webinar,2026-01-07\n")
    assert statuses(load(conn, "leads", landing)) == [("b.csv", "loaded", False)]


def test_skip_file_finds_the_ledger_row_from_a_relative_or_linked_path(conn, landing, tmp_path, monkeypatch) -> None:
    (tmp_path / "via").symlink_to(landing)  # the landing folder as the run saw it: through a link
    put(landing, "leads", "b.csv", fixture="missing_required_column.csv")
    load(conn, "leads", tmp_path / "via")
    monkeypatch.chdir(landing)
    assert "via/leads/b.csv" in loader.skip_file(conn, Path("leads/b.csv"), who="dave")
    assert statuses(load(conn, "leads", tmp_path / "via")) == [("b.csv", "unchanged", False)]


def test_skip_file_refuses_a_file_that_did_not_fail(conn, landing) -> None:
    good = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    load(conn, "leads", landing)
    with pytest.raises(ValueError, match=r"not a failed file in the ledger: .*a\.csv.*loaded"):
        loader.skip_file(conn, good, who="bob")
    with pytest.raises(ValueError, match="not a failed file in the ledger"):
        loader.skip_file(conn, landing / "leads" / "never_seen.csv", who="bob")
    assert ledger_rows(conn) == 1


def test_a_refused_link_is_reported_again_and_can_be_skipped(conn, landing, tmp_path) -> None:
    outside = tmp_path / "secret.csv"
    shutil.copyfile(FIXTURES / "leads_good.csv", outside)
    (landing / "leads").mkdir()
    link = landing / "leads" / "link.csv"
    link.symlink_to(outside)
    assert statuses(load(conn, "leads", landing)) == [("link.csv", "failed", False)]
    assert statuses(load(conn, "leads", landing)) == [("link.csv", "failed", True)]
    loader.skip_file(conn, link.resolve(), who="carol")  # given as its target: still the link's ledger row
    assert statuses(load(conn, "leads", landing)) == [("link.csv", "unchanged", False)]
    assert [row[1] for row in ledger(conn)] == ["failed", "skipped"]


# --- C. a transient failure is not a verdict on the file ---------------------------------------


def test_out_of_memory_is_an_error_not_a_verdict_and_the_next_run_loads_the_file(conn, landing) -> None:
    put(landing, "leads", "a_small.csv", fixture="leads_good.csv")
    big = landing / "leads" / "b_big.csv"
    conn.execute(
        """
        COPY (SELECT 'B-' || i AS lead_id, 'p' || i || '@example.com' AS email, 'webinar' AS lead_source,
                     TIMESTAMP '2026-01-01' + to_seconds(i) AS created_at FROM range(400000) AS t(i))
        TO ? (HEADER)
        """,
        [str(big)],
    )
    put(landing, "leads", "c_small.csv", LEADS_HEADER + "H-3,three@example.com,webinar,2026-01-07\n")
    # The CSV reader needs a buffer the size of this 22 MB file: more than the limit.
    conn.execute("SET memory_limit = '16MB'")
    conn.execute("SET threads = 1")
    results = load(conn, "leads", landing)
    assert statuses(results) == [
        ("a_small.csv", "loaded", False), ("b_big.csv", "error", False), ("c_small.csv", "loaded", False),
    ]
    assert "Out of Memory" in results[1].reason
    (row,) = [row for row in ledger(conn) if row[0] == "b_big.csv"]
    assert row[:5] == ("b_big.csv", "error", 0, 0, 0)
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-3",)]
    # the next run (with memory enough) tries it again and loads every row
    conn.execute("RESET memory_limit")
    conn.execute("RESET threads")
    assert statuses(load(conn, "leads", landing)) == [
        ("a_small.csv", "unchanged", False), ("b_big.csv", "loaded", False), ("c_small.csv", "unchanged", False),
    ]
    assert conn.execute(
        "SELECT count(*), count(DISTINCT lead_id), min(_row_number), max(_row_number) FROM raw.leads WHERE lead_id LIKE 'B-%'"
    ).fetchone() == (400000, 400000, 1, 400000)
    assert [row[1] for row in ledger(conn)] == ["loaded", "error", "loaded", "loaded"]


def test_an_io_error_while_reading_is_an_error_and_the_other_files_still_load(conn, landing, monkeypatch) -> None:
    put(landing, "leads", "a.csv", fixture="leads_good.csv")
    put(landing, "leads", "b.csv", LEADS_HEADER + "H-3,three@example.com,webinar,2026-01-07\n")
    put(landing, "leads", "c.csv", LEADS_HEADER + "H-4,four@example.com,webinar,2026-01-08\n")
    real_read = readers.read

    def disk_full_on_b(conn, path, *args, **kwargs):
        if Path(path).name == "b.csv":
            raise OSError(28, "No space left on device")
        return real_read(conn, path, *args, **kwargs)

    monkeypatch.setattr(readers, "read", disk_full_on_b)
    results = load(conn, "leads", landing)
    assert statuses(results) == [("a.csv", "loaded", False), ("b.csv", "error", False), ("c.csv", "loaded", False)]
    assert "No space left on device" in results[1].reason
    # an error is not terminal: the next run tries again (and records each attempt)
    assert statuses(load(conn, "leads", landing))[1] == ("b.csv", "error", False)
    monkeypatch.setattr(readers, "read", real_read)
    assert statuses(load(conn, "leads", landing))[1] == ("b.csv", "loaded", False)
    assert [row[:2] for row in ledger(conn)] == [
        ("a.csv", "loaded"), ("b.csv", "error"), ("c.csv", "loaded"), ("b.csv", "error"), ("b.csv", "loaded"),
    ]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-4",), ("H-3",)]


def test_a_file_that_cannot_be_hashed_or_vanishes_mid_load_is_an_error_not_a_verdict(conn, landing, monkeypatch) -> None:
    path = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    gone = put(landing, "leads", "b.csv", LEADS_HEADER + "H-3,three@example.com,webinar,2026-01-07\n")
    real_hash, real_read = loader.content_hash, readers.read

    def hash_fails_on_a(p):
        if p == path:
            raise PermissionError(13, "Permission denied")
        return real_hash(p)

    def b_moves_away_first(conn, source, *args, **kwargs):
        if Path(source) == gone:
            gone.unlink()
        return real_read(conn, source, *args, **kwargs)

    monkeypatch.setattr(loader, "content_hash", hash_fails_on_a)
    monkeypatch.setattr(readers, "read", b_moves_away_first)
    results = load(conn, "leads", landing)
    assert statuses(results) == [("a.csv", "error", False), ("b.csv", "error", False)]
    assert results[0].reason.startswith("cannot read the file: Permission denied; ")
    assert "disappeared" in results[1].reason
    monkeypatch.setattr(loader, "content_hash", real_hash)
    assert statuses(load(conn, "leads", landing)) == [("a.csv", "loaded", False)]  # b.csv is gone: not reported


def test_when_not_even_the_error_can_be_recorded_the_step_fails_with_nothing_recorded(conn, landing, monkeypatch) -> None:
    put(landing, "leads", "a.csv", fixture="leads_good.csv")
    real_read, real_record = readers.read, loader._record

    def out_of_memory(*args, **kwargs):
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 16.0 MiB")

    def record_all_but_errors(conn, entity, path, digest, stat, status, *args, **kwargs):
        if status == "error":
            raise duckdb.OutOfMemoryException("Out of Memory Error: still no memory")
        return real_record(conn, entity, path, digest, stat, status, *args, **kwargs)

    monkeypatch.setattr(readers, "read", out_of_memory)
    monkeypatch.setattr(loader, "_record", record_all_but_errors)
    with pytest.raises(duckdb.OutOfMemoryException, match="still no memory"):
        load(conn, "leads", landing)
    assert ledger_rows(conn) == 0
    assert conn.execute("SELECT count(*) FROM raw.leads").fetchone() == (0,)
    # the connection is still usable, and the next run loads the file
    monkeypatch.setattr(readers, "read", real_read)
    monkeypatch.setattr(loader, "_record", real_record)
    assert statuses(load(conn, "leads", landing)) == [("a.csv", "loaded", False)]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OSError(28, "No space left on device"), True),
        (PermissionError(13, "Permission denied"), True),
        (duckdb.OutOfMemoryException("Out of Memory Error: failed to pin block"), True),
        (duckdb.InterruptException("INTERRUPT Error: Interrupted!"), True),
        (duckdb.TransactionException("TransactionContext Error: Catalog write-write conflict"), True),
        (duckdb.IOException("IO Error: Could not write file \"/tmp/x\": No space left on device"), True),
        (duckdb.IOException("IO Error: No files found that match the pattern \"/landing/a.csv\""), True),
        (errors.FileRejected("not UTF-8 encoded"), False),
        (duckdb.InvalidInputException("Invalid Input Error: Failed to read file \"a.parquet\": Snappy decompression failure"), False),
        (duckdb.InvalidInputException("Invalid Input Error: No magic bytes found at end of file 'a.parquet'"), False),
        (duckdb.ConversionException("Conversion Error: Could not convert string"), False),
    ],
)
def test_only_a_fault_of_the_file_is_a_verdict(error, transient) -> None:
    assert errors.is_transient(error) is transient


# --- D. compressed exports, and everything else in an entity folder ----------------------------


def zstd_compress(data: bytes) -> bytes:
    if importlib.util.find_spec("zstandard"):
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    if shutil.which("zstd"):
        return subprocess.run(["zstd", "-q", "-c"], input=data, capture_output=True, check=True).stdout
    pytest.skip("no zstd compressor here (neither the zstandard package nor the zstd command)")


def compress(data: bytes, suffix: str) -> bytes:
    return gzip.compress(data) if suffix == ".gz" else zstd_compress(data)


def load_alone(tmp_path: Path, entity: str, name: str, data: bytes):
    """Load one file into a fresh warehouse: its ledger row, raw rows and quarantine."""
    landing = tmp_path / f"landing_{name}"
    landing.mkdir()
    path = put(landing, entity, name, data)
    with duckdb.connect() as connection:
        results = load(connection, entity, landing)
        assert_balanced(connection)
        stored = connection.execute(
            f"SELECT * EXCLUDE (_source_file, _loaded_at) FROM raw.{entity} ORDER BY _row_number"
        ).fetchall()
        held = connection.execute(
            "SELECT source_file, row_number, raw_row, reason FROM audit.quarantine ORDER BY row_number"
        ).fetchall()
        (row,) = connection.execute(
            "SELECT file_path, content_hash, status, rows_read, rows_loaded, rows_quarantined, reason FROM audit.load_ledger"
        ).fetchall()
    assert {source for source, *_ in held} <= {str(path)}
    return statuses(results), row, stored, [tuple(rest) for _, *rest in held]


HOSTILE_LEADS = (
    LEADS_HEADER
    + "H-1,one@example.com,webinar,2026-01-05T10:00:00Z\n"
    + "H-2,two@example.com,webinar\n\n"
    + 'H-3,"multi\nline",webinar,2026-02-30\n'
    + "H-4,four@example.com,ebook,2026-01-06T10:00:00+02:00,surplus\n"
    + "H-1,again@example.com,ebook,2026-01-07\n"
    + "H-5,five@example.com,ebook,2026-01-08T09:30:00-05:00\n"
).encode()


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
@pytest.mark.parametrize(
    ("entity", "name", "plain"),
    [
        ("leads", "leads.csv", HOSTILE_LEADS),
        ("engagement_events", "events.jsonl", (FIXTURES / "not_json.jsonl").read_bytes()),
    ],
)
def test_a_compressed_export_loads_exactly_like_its_plain_form(tmp_path, entity, name, plain, suffix) -> None:
    packed = compress(plain, suffix)
    expected = load_alone(tmp_path, entity, name, plain)
    got = load_alone(tmp_path, entity, name + suffix, packed)
    assert got[0] == [(name + suffix, "loaded", False)]
    assert expected[0] == [(name, "loaded", False)]
    # the ledger keeps the original path and the hash of the original (compressed) bytes
    assert got[1][0].endswith(name + suffix) and got[1][1] == hashlib.sha256(packed).hexdigest()
    assert got[1][2:] == expected[1][2:]  # status, rows read / loaded / quarantined, reason
    assert got[2] == expected[2]  # the same rows, row numbers and values in raw
    assert got[3] == expected[3]  # the same quarantine: row numbers, raw rows, reasons
    assert expected[1][3] > expected[1][4] > 0  # the plain form does quarantine some rows


def test_a_compressed_parquet_file_loads_like_the_plain_one(tmp_path, conn) -> None:
    plain = tmp_path / "plain.parquet"
    conn.execute(
        "COPY (SELECT 'H-' || i AS lead_id, 'webinar' AS lead_source, TIMESTAMP '2026-01-05' AS created_at "
        "FROM range(3) AS t(i)) TO ? (FORMAT parquet)",
        [str(plain)],
    )
    expected = load_alone(tmp_path, "leads", "a.parquet", plain.read_bytes())
    got = load_alone(tmp_path, "leads", "a.parquet.gz", gzip.compress(plain.read_bytes()))
    assert got[1][2:] == expected[1][2:] == ("loaded", 3, 3, 0, None)
    assert got[2] == expected[2]


def test_a_compressed_single_entity_file_at_the_top_level_loads(conn, landing) -> None:
    (landing / "leads.csv.gz").write_bytes(gzip.compress((FIXTURES / "leads_good.csv").read_bytes()))
    put(landing, "leads", "a.csv", LEADS_HEADER + "H-3,three@example.com,webinar,2026-01-07\n")
    assert statuses(load(conn, "leads", landing)) == [("leads.csv.gz", "loaded", False), ("a.csv", "loaded", False)]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-3",)]


def test_a_broken_compressed_file_fails_with_a_reason_and_the_others_load(conn, landing) -> None:
    whole = gzip.compress(HOSTILE_LEADS)
    put(landing, "leads", "a_truncated.csv.gz", whole[: len(whole) // 2])
    put(landing, "leads", "b_not_gzip.csv.gz", HOSTILE_LEADS)
    put(landing, "leads", "c_empty_inside.csv.gz", gzip.compress(b""))
    put(landing, "leads", "d.csv", fixture="leads_good.csv")
    results = load(conn, "leads", landing)
    assert [r.status for r in results] == ["failed", "failed", "failed", "loaded"]
    assert results[0].reason.startswith("not a valid gzip file: ")
    assert results[1].reason.startswith("not a valid gzip file: ")
    assert results[2].reason == "empty file (0 bytes once decompressed)"
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]


@pytest.fixture(params=["module", "command"])
def zstd_way(request, monkeypatch) -> str:
    """Decompress .zst with the Python package zstandard, or with the zstd command (where there)."""
    if request.param == "module" and not importlib.util.find_spec("zstandard"):
        pytest.skip("the Python package zstandard is not installed")
    if request.param == "command" and not shutil.which("zstd"):
        pytest.skip("no zstd command")
    way = readers._unzstd_with_module if request.param == "module" else readers._unzstd_with_command
    monkeypatch.setattr(readers, "_zstd_decompressors", lambda: [way])
    return request.param


def test_a_zstd_file_of_several_frames_loads_whole(conn, landing, zstd_way) -> None:
    # Two compressed streams one after the other (`cat a.zst b.zst`) are one file of all their rows.
    first = LEADS_HEADER + "".join(f"H-{n},{n}@example.com,webinar,2026-01-05\n" for n in range(1, 3001))
    second = "".join(f"H-{n},{n}@example.com,webinar,2026-01-05\n" for n in range(3001, 3003))
    put(landing, "leads", "a.csv.zst", zstd_compress(first.encode()) + zstd_compress(second.encode()))
    (result,) = load(conn, "leads", landing)
    assert (result.status, result.rows_read, result.rows_loaded) == ("loaded", 3002, 3002)
    assert conn.execute("SELECT max(_row_number), count(DISTINCT lead_id) FROM raw.leads").fetchone() == (3002, 3002)


def test_a_broken_zstd_file_fails_with_a_reason(conn, landing, zstd_way) -> None:
    whole = zstd_compress(HOSTILE_LEADS * 50)
    put(landing, "leads", "a_truncated.csv.zst", whole[: len(whole) // 2])
    put(landing, "leads", "b_not_zstd.csv.zst", HOSTILE_LEADS)
    results = load(conn, "leads", landing)
    assert [r.status for r in results] == ["failed", "failed"]
    assert all(r.reason.startswith("not a valid zstd file: ") for r in results), results


def test_without_a_zstd_decompressor_a_zst_file_is_an_error_not_a_verdict(conn, landing, monkeypatch) -> None:
    put(landing, "leads", "a.csv.zst", zstd_compress(HOSTILE_LEADS))
    monkeypatch.setattr(readers, "_zstd_decompressors", lambda: [])
    (result,) = load(conn, "leads", landing)
    assert (result.status, result.reason.split(";")[0]) == ("error", "cannot read .zst files here: no zstd decompressor")


IGNORED = {
    ".DS_Store": "hidden file; Baton reads no hidden files",
    "archive.zip": "not a data file Baton reads (.zip); readable: .csv, .jsonl, .parquet, optionally .gz/.zst",
    "data.gz": "not a data file Baton reads (.gz); readable: .csv, .jsonl, .parquet, optionally .gz/.zst",
    "data.zst": "not a data file Baton reads (.zst); readable: .csv, .jsonl, .parquet, optionally .gz/.zst",
    "notes.txt": "not a data file Baton reads (.txt); readable: .csv, .jsonl, .parquet, optionally .gz/.zst",
    "old": "a folder; Baton reads only the files directly in the entity folder",
    "report.xlsx": "not a data file Baton reads (.xlsx); readable: .csv, .jsonl, .parquet, optionally .gz/.zst",
    "README": "not a data file Baton reads (no extension); readable: .csv, .jsonl, .parquet, optionally .gz/.zst",
}


def test_everything_else_in_an_entity_folder_is_ignored_recorded_once_and_reported_every_run(conn, landing) -> None:
    put(landing, "leads", "a.csv", fixture="leads_good.csv")
    for name in IGNORED:
        if name == "old":
            (landing / "leads" / "old").mkdir()
            put(landing, "leads", "old/leads_2025.csv", fixture="leads_good.csv")
        else:
            put(landing, "leads", name, b"PK\x03\x04 whatever")
    first = load(conn, "leads", landing)
    assert {Path(r.path).name: (r.status, r.reason, r.repeated) for r in first} == {
        "a.csv": ("loaded", None, False), **{name: ("ignored", reason, False) for name, reason in IGNORED.items()}
    }
    assert [Path(r.path).name for r in first] == sorted(["a.csv", *IGNORED])  # load order: by name
    rows = conn.execute("SELECT file_name, status, reason, content_hash FROM audit.load_ledger WHERE status = 'ignored'").fetchall()
    assert {name: reason for name, _, reason, _ in rows} == IGNORED
    assert all(digest.startswith("ignored:") for *_, digest in rows)
    # the next run reports them again, without recording them again
    second = load(conn, "leads", landing)
    assert {Path(r.path).name: (r.status, r.repeated) for r in second} == {
        "a.csv": ("unchanged", False), **{name: ("ignored", True) for name in IGNORED}
    }
    assert ledger_rows(conn) == 1 + len(IGNORED)
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]


def test_an_entity_path_that_is_a_file_is_ignored_with_a_reason_and_strays_are_named(conn, landing) -> None:
    (landing / "leads").write_text("lead_id,email\n")
    (landing / "lead").mkdir()
    (landing / "deals.csv").write_text("deal_id\n")
    (landing / "_mappings").mkdir()
    (landing / "README.md").write_text("the nightly exports\n")
    (result,) = load(conn, "leads", landing)
    assert (Path(result.path).name, result.status) == ("leads", "ignored")
    assert result.reason == "leads is not a folder: the entity's exports go in a folder named leads/"
    assert strays(landing, ["leads", "deals"]) == ["lead"]


# --- E. a file still being written is not loaded half-way --------------------------------------


def test_a_file_modified_within_the_settle_time_is_deferred_and_loads_once_settled(conn, landing) -> None:
    path = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    (result,) = load_entity(conn, "leads", landing, progress=lambda message: None, settle_seconds=60)
    assert (result.status, result.repeated) == ("deferred", False)
    assert re.fullmatch(r"modified \d+ s ago \(less than the 60 s settle time\); loaded next run", result.reason)
    assert ledger(conn) == [("a.csv", "deferred", 0, 0, 0, result.reason)]
    assert raw(conn, "leads", "lead_id") == []
    # two minutes later, untouched: it loads (deferred is not terminal)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - 120 * 10**9))
    (result,) = load_entity(conn, "leads", landing, progress=lambda message: None, settle_seconds=60)
    assert result.status == "loaded"
    assert [row[1] for row in ledger(conn)] == ["deferred", "loaded"]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]


def test_a_file_that_changes_while_being_read_is_rolled_back_and_deferred(conn, landing, monkeypatch) -> None:
    path = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    real_read = readers.read

    def read_while_the_export_goes_on(*args, **kwargs):
        landing_rows = real_read(*args, **kwargs)
        with path.open("a", encoding="utf-8") as handle:  # the exporter writes one more row meanwhile
            handle.write("H-3,three@example.com,webinar,2026-01-07\n")
        return landing_rows

    monkeypatch.setattr(readers, "read", read_while_the_export_goes_on)
    (result,) = load(conn, "leads", landing)
    assert (result.status, result.reason) == ("deferred", "changed while being read")
    assert ledger(conn) == [("a.csv", "deferred", 0, 0, 0, "changed while being read")]
    assert raw(conn, "leads", "lead_id") == [] and quarantine(conn) == []
    # the next run reads the finished file, every row of it
    monkeypatch.setattr(readers, "read", real_read)
    assert [r.status for r in load(conn, "leads", landing)] == ["loaded"]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-3",)]


def test_a_file_that_fails_to_parse_while_it_changes_is_deferred_not_failed(conn, landing, monkeypatch) -> None:
    path = put(landing, "leads", "a.parquet", b"PAR1 still being written")

    def half_written(*args, **kwargs):
        with path.open("ab") as handle:
            handle.write(b" ... more bytes ... PAR1")
        raise errors.FileRejected("No magic bytes found at end of file")

    monkeypatch.setattr(readers, "read", half_written)
    (result,) = load(conn, "leads", landing)
    assert (result.status, result.reason) == ("deferred", "changed while being read")


# --- F. a re-sent file with the same name, size and time ---------------------------------------


def test_a_resent_file_with_the_same_name_size_and_mtime_but_new_content_loads(conn, landing) -> None:
    path = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    assert [r.status for r in load(conn, "leads", landing)] == ["loaded"]
    before = path.stat()
    time.sleep(0.05)  # ctime has a coarse clock
    # `cp -p` / `rsync -t` of a corrected export: same name, same size, same modification time
    path.write_text(path.read_text().replace("H-2", "H-9"))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert after.st_ctime_ns != before.st_ctime_ns
    assert [r.status for r in load(conn, "leads", landing)] == ["loaded"]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",), ("H-1",), ("H-9",)]
    columns = conn.execute("SELECT file_inode, file_ctime_ns FROM audit.load_ledger ORDER BY file_id").fetchall()
    assert columns == [(before.st_ino, before.st_ctime_ns), (after.st_ino, after.st_ctime_ns)]


def test_ledger_rows_from_before_inode_and_ctime_fall_back_to_the_hash_once(conn, landing, monkeypatch) -> None:
    path = put(landing, "leads", "a.csv", fixture="leads_good.csv")
    load(conn, "leads", landing)
    conn.execute("UPDATE audit.load_ledger SET file_inode = NULL, file_ctime_ns = NULL")  # as recorded by an older Baton
    hashed = []
    real_hash = loader.content_hash
    monkeypatch.setattr(loader, "content_hash", lambda p: hashed.append(p) or real_hash(p))
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged"]
    assert hashed == [path]
    stat = path.stat()
    assert conn.execute("SELECT file_inode, file_ctime_ns FROM audit.load_ledger").fetchall() == [(stat.st_ino, stat.st_ctime_ns)]
    assert [r.status for r in load(conn, "leads", landing)] == ["unchanged"]
    assert hashed == [path]  # known by size and times again: not hashed a second time


# --- G. hostile names, links and offsets -------------------------------------------------------


def test_a_symlink_loop_and_a_dangling_link_fail_and_the_other_files_load(conn, landing) -> None:
    folder = landing / "leads"
    folder.mkdir()
    (folder / "a_loop.csv").symlink_to("a_loop.csv")
    (folder / "b_ping.csv").symlink_to("c_pong.csv")
    (folder / "c_pong.csv").symlink_to("b_ping.csv")
    (folder / "d_dangling.csv").symlink_to("gone.csv")
    put(landing, "leads", "e_good.csv", fixture="leads_good.csv")
    results = load(conn, "leads", landing)
    assert [(Path(r.path).name, r.status, r.reason) for r in results] == [
        ("a_loop.csv", "failed", "refused: a_loop.csv is a symbolic link loop"),
        ("b_ping.csv", "failed", "refused: b_ping.csv is a symbolic link loop"),
        ("c_pong.csv", "failed", "refused: c_pong.csv is a symbolic link loop"),
        ("d_dangling.csv", "failed", "refused: d_dangling.csv is a link to gone.csv, which does not exist"),
        ("e_good.csv", "loaded", None),
    ]
    assert raw(conn, "leads", "lead_id") == [("H-1",), ("H-2",)]
    # reported again on the next run, recorded once
    assert [r.repeated for r in load(conn, "leads", landing)] == [True, True, True, True, False]
    assert ledger_rows(conn) == 5


def test_timestamps_with_impossible_offsets_are_quarantined(conn, landing) -> None:
    put(landing, "engagement_events", "offsets.csv", fixture="impossible_offsets.csv")
    load(conn, "engagement_events", landing)
    assert quarantine(conn) == [
        ("offsets.csv", n, f"occurred_at: not a valid ISO 8601 date/time: 2026-03-01T10:00:00{offset}")
        for n, offset in [(1, "+25:00"), (2, "-24:00"), (3, "+05:60"), (4, "+9999"), (9, "+24")]
    ]
    assert raw(conn, "engagement_events", "event_id, occurred_at") == [
        ("E-5", dt.datetime(2026, 2, 28, 10, 1)),  # +23:59
        ("E-6", dt.datetime(2026, 3, 1, 10, 30)),  # -00:30
        ("E-7", dt.datetime(2026, 3, 1, 4, 30)),  # +0530
        ("E-8", dt.datetime(2026, 2, 28, 20, 0)),  # +14
    ]
    assert ledger(conn) == [("offsets.csv", "loaded", 9, 4, 5, None)]

"""What Baton would make of a landing folder, without writing anything (`baton check-landing`).

Every data file of every entity is loaded exactly as a run would load it --
the same reader, column plan, mapping, typing and quarantine -- but into an
in-memory DuckDB database (its Parquet lake in a scratch folder) that is thrown away, so the verdict shown is the
verdict a run would give (settle time and the ledger's memory of earlier runs
aside). For each file: the status and reason, the mapping it is read through,
which header columns feed which contract column and which are left unused,
the counts, the first rows as Baton types them and the first quarantine
reasons.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from baton.lib.extract import loader
from baton.lib.extract.entities import ENTITIES
from baton.lib.extract.landing import content_hash, discover
from baton.lib.extract.mappings import Mappings


@dataclass
class FilePreview:
    entity: str
    path: str
    status: str
    reason: str | None = None
    mapping: str | None = None
    # contract column -> the header column(s) it is read from, or `constant <value>`
    used: dict[str, str] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    columns: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    quarantined: list[tuple[int, str]] = field(default_factory=list)


def preview_landing(landing_dir: Path, mappings: Mappings, rows: int = 5) -> list[FilePreview]:
    """Preview every entry of every entity folder of `landing_dir` (see the module docstring)."""
    conn = duckdb.connect(":memory:")
    # The loaded rows go to a Parquet lake (lake.py) in a scratch folder, deleted afterwards.
    scratch = tempfile.mkdtemp(prefix="baton-check-landing-")
    try:
        conn.execute("SET preserve_insertion_order = false")
        loader.ensure_warehouse(conn, Path(scratch))
        return [
            _preview_file(conn, entity, landing_file, mappings, rows)
            for entity in ENTITIES.values()
            for landing_file in discover(landing_dir, entity.name)
        ]
    finally:
        conn.close()
        shutil.rmtree(scratch, ignore_errors=True)


def _preview_file(conn, entity, landing_file, mappings: Mappings, rows: int) -> FilePreview:
    path = str(landing_file.path)
    if landing_file.ignored is not None:
        return FilePreview(entity.name, path, "ignored", landing_file.ignored)
    if landing_file.refusal is not None:
        return FilePreview(entity.name, path, "failed", landing_file.refusal)
    try:
        stat = loader.FileStat.of(landing_file.path)
        digest = content_hash(landing_file.path)
    except OSError as error:
        return FilePreview(entity.name, path, "error", f"cannot read the file: {error.strerror or error}")
    if stat.size == 0:
        return FilePreview(entity.name, path, "failed", loader.EMPTY_FILE)
    plans: list = []
    result = loader._read_and_load(conn, entity, landing_file, digest, stat, mappings, plans)
    preview = FilePreview(
        entity.name, path, result.status, result.reason,
        rows_read=result.rows_read, rows_loaded=result.rows_loaded, rows_quarantined=result.rows_quarantined,
    )
    if plans:
        names, plan = plans[-1]
        preview.mapping = plan.mapping.name if plan.mapping else None
        taken = set()
        for column, positions in plan.sources.items():
            if positions:
                preview.used[column] = " + ".join(names[i - 1] for i in positions)
                taken.update(positions)
            elif plan.mapping is not None and column in plan.mapping.constants:
                preview.used[column] = f"constant {plan.mapping.constants[column]!r}"
        preview.unused = [name for i, name in enumerate(names, start=1) if i not in taken]
    if result.status == "loaded":
        file_id = conn.execute("SELECT max(file_id) FROM audit.load_ledger").fetchone()[0]
        typed = [name for name, _ in entity.raw_columns]
        cursor = conn.execute(
            f"SELECT _row_number, {', '.join(typed)} FROM raw.{entity.name} WHERE _file_id = ? ORDER BY _row_number LIMIT ?",
            [file_id, rows],
        )
        preview.columns = ["row", *typed]
        preview.rows = cursor.fetchall()
        preview.quarantined = conn.execute(
            "SELECT row_number, reason FROM audit.quarantine WHERE file_id = ? ORDER BY row_number LIMIT ?",
            [file_id, rows],
        ).fetchall()
    return preview


def describe(previews: list[FilePreview], landing_dir: Path) -> str:
    """The previews as text for a terminal."""
    lines: list[str] = []
    for p in previews:
        shown = os.path.relpath(p.path, landing_dir)
        head = f"{shown}  [{p.entity}]  {p.status}"
        if p.status == "loaded":
            head += f": read {p.rows_read}, would load {p.rows_loaded}, quarantine {p.rows_quarantined}"
        lines.append(head)
        if p.reason:
            lines.append(f"  reason: {p.reason}")
        if p.used or p.mapping:
            lines.append(f"  mapping: {p.mapping or 'none (contract-shaped header)'}")
        if p.used:
            lines.append("  columns: " + ", ".join(f"{column} <- {source}" for column, source in p.used.items()))
        if p.unused:
            lines.append("  unused:  " + ", ".join(p.unused) + "  (kept in raw._raw_row only)")
        if p.rows:
            widths = [max(len(str(v)) for v in column) for column in zip(p.columns, *p.rows)]
            for row in (p.columns, *p.rows):
                lines.append("    " + "  ".join(str("" if v is None else v).ljust(w) for v, w in zip(row, widths)).rstrip())
        for row_number, reason in p.quarantined:
            lines.append(f"  quarantined row {row_number}: {reason}")
        lines.append("")
    return "\n".join(lines)

"""Finding the export files of an entity in the landing folder (CONTRACT.md s2, s7)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

READABLE_SUFFIXES = (".csv", ".parquet", ".jsonl")


@dataclass(frozen=True)
class LandingFile:
    entity: str
    path: Path
    # Why the file is refused before reading (e.g. a link leading outside the
    # landing folder); None for a file we may read.
    refusal: str | None = None

    @property
    def format(self) -> str:
        return self.path.suffix.lower().lstrip(".")


def discover(landing_dir: Path, entity: str) -> list[LandingFile]:
    """The files of `entity` in load order: `<entity>.csv` first, then the
    folder's files sorted by name (the contract's order, so "latest file wins"
    means the same thing on every machine)."""
    landing_root = landing_dir.resolve()
    candidates: list[Path] = []
    single = landing_dir / f"{entity}.csv"
    if single.is_file():
        candidates.append(single)
    folder = landing_dir / entity
    if folder.is_dir():
        candidates.extend(
            sorted(
                (p for p in folder.iterdir() if p.suffix.lower() in READABLE_SUFFIXES and not p.name.startswith(".")),
                key=lambda p: p.name,
            )
        )
    files = []
    for path in candidates:
        refusal = None
        real = path.resolve()
        if not real.is_relative_to(landing_root):
            refusal = f"refused: {path.name} links outside the landing folder (to {real})"
        elif not real.is_file():
            refusal = f"refused: {path.name} is not a regular file"
        files.append(LandingFile(entity, path, refusal))
    return files


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

"""Finding the export files of an entity in the landing folder (CONTRACT.md s2, s7).

Every entry of an entity folder is accounted for, none silently passed over:

- a data file: `*.csv`, `*.jsonl`, `*.parquet`, each optionally compressed
  as `.gz` or `.zst` (`leads_0601.csv.gz`); read by the loader;
- anything else (a hidden file such as `.DS_Store`, a sub-folder, `.txt`,
  `.xlsx`, `.zip`, a bare `.gz` whose inner format the name does not say) is
  `ignored`, with a reason, and never read;
- an entry that cannot be followed (a symbolic link loop, a link whose target
  does not exist, a link leading outside the landing folder, a device or
  pipe) is `refused`: the loader records it failed with that reason.

At the top of the landing folder only `<entity>.csv` (also `.csv.gz`,
`.csv.zst`) belongs to an entity; the rest of the top level is other
entities' business.
"""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

DATA_FORMATS = ("csv", "jsonl", "parquet")
COMPRESSIONS = {"gz": "gzip", "zst": "zstd"}
READABLE = "readable: .csv, .jsonl, .parquet, optionally .gz/.zst"


@dataclass(frozen=True)
class LandingFile:
    entity: str
    path: Path
    # Why the entry is refused before reading (a link loop, a link leading outside the
    # landing folder...): recorded failed. None for a file we may read.
    refusal: str | None = None
    # Why the entry is not a data file at all (recorded ignored, never read).
    ignored: str | None = None

    @property
    def format(self) -> str:
        return data_format(self.path.name)[0]

    @property
    def compression(self) -> str | None:
        return data_format(self.path.name)[1]


def data_format(name: str) -> tuple[str, str | None]:
    """(`csv` | `jsonl` | `parquet` | '', `gzip` | `zstd` | None) from a file name."""
    parts = name.lower().rsplit(".", 2)
    compression = COMPRESSIONS.get(parts[-1]) if len(parts) > 1 else None
    if compression:
        parts = parts[:-1]
    fmt = parts[-1] if len(parts) > 1 and parts[-1] in DATA_FORMATS else ""
    return fmt, compression


def discover(landing_dir: Path, entity: str) -> list[LandingFile]:
    """The entries of `entity` in load order: `<entity>.csv` (and its
    compressed forms) first, then every entry of the folder sorted by name
    (the contract's order, so "latest file wins" means the same thing on
    every machine)."""
    landing_root = landing_dir.resolve()
    files = []
    for name in (f"{entity}.csv", f"{entity}.csv.gz", f"{entity}.csv.zst"):
        single = landing_dir / name
        if single.is_symlink() or single.is_file():
            files.append(_classify(entity, single, landing_root))
    folder = landing_dir / entity
    if folder.is_dir():
        for path in sorted(folder.iterdir(), key=lambda p: p.name):
            files.append(_classify(entity, path, landing_root))
    elif os.path.lexists(folder):
        reason = f"{entity} is not a folder: the entity's exports go in a folder named {entity}/"
        files.append(LandingFile(entity, folder, ignored=reason))
    return files


def strays(landing_dir: Path, entities: list[str]) -> list[str]:
    """Names at the top of the landing folder that belong to no entity (a typo such as `lead/`,
    an export dropped beside the folders): never read, so they are named to the person running."""
    expected = set(entities) | {f"{entity}.csv{suffix}" for entity in entities for suffix in ("", ".gz", ".zst")}
    # hidden and `_`-prefixed names are the folder's own business (`_mappings/`, editors' files), a README its notes
    return sorted(
        p.name
        for p in landing_dir.iterdir()
        if p.name not in expected and not p.name.startswith((".", "_")) and not p.name.upper().startswith("README")
    )


def _classify(entity: str, path: Path, landing_root: Path) -> LandingFile:
    name = path.name
    if name.startswith("."):
        return LandingFile(entity, path, ignored="hidden file; Baton reads no hidden files")
    try:
        real = path.resolve(strict=True)
    except (RuntimeError, OSError) as error:
        # RuntimeError: Python 3.11's report of a symbolic link loop.
        if path.is_symlink():
            if isinstance(error, RuntimeError) or getattr(error, "errno", None) == errno.ELOOP:
                return LandingFile(entity, path, refusal=f"refused: {name} is a symbolic link loop")
            if isinstance(error, FileNotFoundError):
                target = os.readlink(path)
                return LandingFile(entity, path, refusal=f"refused: {name} is a link to {target}, which does not exist")
        # Anything else (a permission problem...) is for the loader's stat to report, as an error.
        return LandingFile(entity, path)
    if not real.is_relative_to(landing_root):
        return LandingFile(entity, path, refusal=f"refused: {name} links outside the landing folder (to {real})")
    if real.is_dir():
        return LandingFile(entity, path, ignored="a folder; Baton reads only the files directly in the entity folder")
    fmt, compression = data_format(name)
    if not fmt:
        suffix = ("".join(path.suffixes[-2:]) if compression else path.suffix).lower()
        shown = suffix or "no extension"
        return LandingFile(entity, path, ignored=f"not a data file Baton reads ({shown}); {READABLE}")
    if not real.is_file():
        return LandingFile(entity, path, refusal=f"refused: {name} is not a regular file")
    return LandingFile(entity, path)


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()

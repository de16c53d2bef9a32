"""Errors of the extract step, and which of them are a verdict on the file."""

from __future__ import annotations

import re

import duckdb


class FileRejected(Exception):
    """The file as a whole cannot be loaded (unreadable, not UTF-8, missing or
    duplicated required column, a broken compressed stream); its reason goes to
    the load ledger and the file stays `failed` until it changes."""


class CannotReadNow(Exception):
    """This machine cannot read the file at the moment (e.g. no zstd
    decompressor installed): not the file's fault, so it is tried again."""


# DuckDB reports some faults of a file's bytes as I/O errors; those are the file's fault.
_FORMAT_IO = re.compile(r"corrupt|magic bytes|not a (valid )?(gzip|zstd|parquet)|decompress", re.IGNORECASE)


def is_transient(error: BaseException) -> bool:
    """True when the error says nothing about the file's content, so the next
    run should try the file again: out of memory, a full disk, an I/O error,
    a lock or write conflict, an interruption. False for a fault in the file
    itself (its header, encoding or format), which is a verdict."""
    if isinstance(error, FileRejected):
        return False
    if isinstance(error, (OSError, MemoryError, CannotReadNow)):
        return True
    if isinstance(error, (duckdb.OutOfMemoryException, duckdb.InterruptException, duckdb.TransactionException)):
        return True
    if isinstance(error, duckdb.IOException):
        return not _FORMAT_IO.search(str(error))
    return False

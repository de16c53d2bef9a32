"""Errors of the extract step."""


class FileRejected(Exception):
    """The file as a whole cannot be loaded (unreadable, not UTF-8, missing or
    duplicated required column); its reason goes to the load ledger."""

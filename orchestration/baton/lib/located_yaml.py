"""YAML files written by people, read so that every mistake names its line and key.

The rules file and the import mappings are edited by marketing and sales ops
rather than by the engineers who run the pipeline, so a mistake in them must
stop a run with a message pointing at the exact line and key to fix. The file
is read with ``yaml.compose`` (which keeps the line of every node), handed to a
pydantic model as plain data whose scalars are `Scalar`s (the model decides
what a scalar may be), and each validation error is traced back to its line.
Anything unexpected -- an unknown key, a key without a value, a duplicated key,
an alias that contains itself -- is an error rather than something to guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

TOP_LEVEL = "(top level)"
_STR_TAG = "tag:yaml.org,2002:str"

Loc = tuple[str | int, ...]


class LocatedError(ValueError):
    """A file that cannot be used, with where the problem is.

    ``file``, ``line`` and ``key`` are kept as attributes so that callers (and
    tests) can point at the problem without parsing the message. Subclasses
    name the kind of file (`label`).
    """

    label = "file"

    def __init__(self, file: str, reason: str, line: int | None = None, key: str | None = None) -> None:
        self.file = file
        self.reason = reason
        self.line = line
        self.key = key
        where = f"{self.label} {file}" if line is None else f"{self.label} {file}, line {line}"
        what = reason if key is None else f"{key}: {reason}"
        super().__init__(f"{where}: {what}")

    def __reduce__(self) -> tuple[type[LocatedError], tuple[str, str, int | None, str | None]]:
        # The default reduction would call __init__ with the formatted message
        # only; runs may ship errors between processes, so keep them picklable.
        return (type(self), (self.file, self.reason, self.line, self.key))


def problem(reason: str, at: str | tuple[str, ...] = ()) -> PydanticCustomError:
    """A validation error in Baton's own words; ``at`` names the key it is about,
    below where the validator sits (a model-wide check blaming one key)."""
    context = {"reason": reason, "at": (at,) if isinstance(at, str) else at}
    return PydanticCustomError("baton_yaml", "{reason}", context)


@dataclass(frozen=True)
class Scalar:
    """A YAML scalar as written; the setting that reads it decides what it may be.

    The loader cannot type scalars itself: `version: 2026.10` must stay the text
    "2026.10" while `max_inclusive: 1e4` is a number, and a quoted "50" is a
    string where a number is expected.
    """

    text: str
    value: Any  # YAML 1.1's reading (str, int, float, bool, date...); None: the key has no value
    plain: bool  # not quoted


def is_no_value(value: Any) -> bool:
    return isinstance(value, Scalar) and value.value is None


def text(value: Any) -> Any:
    """A string setting: a YAML string, never a number or boolean YAML read for it."""
    if isinstance(value, (list, dict)):
        raise problem("must be a string, not a list or mapping")
    if not isinstance(value, Scalar) or value.value is None:
        return value
    if not isinstance(value.value, str):
        raise problem(f"must be a string, not {value.text!r} (quote it)")
    return value.value


def as_written(value: Any) -> Any:
    """A scalar as its text (`2026.10`, `50`, `yes` stay what was typed)."""
    if isinstance(value, (list, dict)):
        raise problem("must be a single value, not a list or mapping")
    if isinstance(value, Scalar) and value.value is not None:
        return value.text
    return value


def read_document(file: Path, error: type[LocatedError], keys_as_written: bool = False) -> Document | None:
    """The file's YAML with the line of every key; None for an empty file. With
    `keys_as_written`, a key YAML reads as a number or boolean (`1`, `Yes`) is
    taken as the text written, else it is an error (quote it)."""
    text_ = _read_text(file, error)
    root = _compose(file, text_, error)
    return None if root is None else Document(str(file), root, error, keys_as_written)


def _read_text(file: Path, error: type[LocatedError]) -> str:
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise error(str(file), f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(str(file), "the file is not valid UTF-8", line=line) from exc


def _compose(file: Path, text_: str, error: type[LocatedError]) -> Node | None:
    try:
        return yaml.compose(text_, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        reason = "; ".join(part for part in (exc.context, exc.problem) if part)
        raise error(str(file), f"not valid YAML: {reason or exc}", line=None if mark is None else mark.line + 1) from exc
    except yaml.reader.ReaderError as exc:
        # Raised for characters YAML does not allow (e.g. control characters);
        # it only knows the character offset, so count the lines ourselves.
        line = text_.count("\n", 0, exc.position) + 1
        raise error(str(file), f"not valid YAML: {exc}", line=line) from exc
    except yaml.YAMLError as exc:
        raise error(str(file), f"not valid YAML: {exc}") from exc


# Pydantic's own errors, in the words of the rest of the messages.
_REASONS = {
    "missing": "missing required key",
    "model_type": "must be a mapping of keys to values",
    "dict_type": "must be a mapping of keys to values",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "too_short": "must list at least one value",
    "string_too_short": "must not be empty",
    "extra_forbidden": "unknown key",
}


class Document:
    """The composed YAML as plain data for a model, with the line of every key
    and list item, to name the line of a validation error."""

    def __init__(self, file: str, root: Node, error: type[LocatedError], keys_as_written: bool = False) -> None:
        self.file = file
        self.error = error
        self.keys_as_written = keys_as_written
        self.root_line = root.start_mark.line + 1
        self.lines: dict[Loc, int] = {(): self.root_line}
        self.scalars = SafeConstructor()
        self.data = self._read(root, (), frozenset())

    def fail(self, reason: str, line: int, loc: Loc) -> LocatedError:
        return self.error(self.file, reason, line=line, key=dotted(loc))

    def line_of(self, loc: Loc) -> int:
        while loc not in self.lines:
            loc = loc[:-1]
        return self.lines[loc]

    def _read(self, node: Node, loc: Loc, enclosing: frozenset[int]) -> Any:
        if isinstance(node, ScalarNode):
            try:
                value = self.scalars.construct_object(node)
            except yaml.YAMLError as exc:  # e.g. an unknown tag such as `!weird`
                reason = getattr(exc, "problem", None) or exc
                raise self.fail(f"not a value YAML can read: {reason}", node.start_mark.line + 1, loc) from exc
            return Scalar(node.value, value, plain=node.style is None)
        if id(node) in enclosing:
            raise self.fail("a YAML alias refers to a value that contains it", node.start_mark.line + 1, loc)
        enclosing = enclosing | {id(node)}
        if isinstance(node, SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[(*loc, index)] = item.start_mark.line + 1
                items.append(self._read(item, (*loc, index), enclosing))
            return items
        if not isinstance(node, MappingNode):
            raise self.fail(f"unexpected YAML node {node!r}", node.start_mark.line + 1, loc)
        entries: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            plain_key = isinstance(key_node, ScalarNode) and (self.keys_as_written or key_node.tag == _STR_TAG)
            if not plain_key:
                shown = f" {key_node.value!r}" if isinstance(key_node, ScalarNode) else ""
                raise self.fail(f"key{shown} must be a string (quote it)", line, loc)
            name = key_node.value.strip()
            if not name:
                raise self.fail("a key is empty", line, loc)
            # YAML would silently keep the last of two equal keys, and a
            # shadowed setting is exactly the kind of mistake to catch.
            if name in entries:
                first = self.lines[(*loc, name)]
                raise self.fail(f"duplicate key (first given on line {first})", line, (*loc, name))
            self.lines[(*loc, name)] = line
            entries[name] = self._read(value_node, (*loc, name), enclosing)
        return entries

    def located(self, error: ValidationError) -> LocatedError:
        problems = []
        for detail in error.errors(include_url=False):
            loc: Loc = (*detail["loc"], *detail.get("ctx", {}).get("at", ()))
            problems.append((loc, detail))
        # Pydantic may also report a list as too short when its only item is
        # bad: the innermost problem is the one to fix.
        innermost = [
            (loc, detail)
            for loc, detail in problems
            if not any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in problems)
        ]
        loc, detail = min(innermost, key=lambda found: self._line(*found))
        return self.fail(_reason(detail), self._line(loc, detail), loc)

    def _line(self, loc: Loc, detail: Any) -> int:
        # A missing key has no line: blame the mapping that lacks it.
        if detail["type"] == "missing":
            loc = loc[:-1]
        return self.line_of(loc)


def _reason(detail: Any) -> str:
    if detail["type"] == "baton_yaml":
        return str(detail["msg"])
    if is_no_value(detail.get("input")):
        # A key written without a value is a slip, not a request for the default.
        return "has no value"
    return _REASONS.get(detail["type"], str(detail["msg"]))


def dotted(loc: Loc) -> str:
    written = ""
    for part in loc:
        written += f"[{part}]" if isinstance(part, int) else f".{part}" if written else part
    return written or TOP_LEVEL

"""CSV that cannot hurt: imports read by line and column, with a cell the reader refuses (too
long) reported there rather than failing the request; exports with every text cell a
spreadsheet would run as a formula neutralised (OWASP, CSV injection)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

# Cells a spreadsheet reads as a formula (or, tab and carriage return, trims into one).
_FORMULA_START = frozenset("=+-@\t\r")
# ...except a plain number (-12.5, +3, -1e5, -4.2%): a spreadsheet reads it as that number.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?\Z")

Row = dict[str | None, Any]


def safe_cell(text: str) -> str:
    """A text cell as it may be written to a CSV file: one that starts with = + - @, a tab or
    a carriage return gets a leading `'`, so a spreadsheet shows it and never runs it."""
    if text and text[0] in _FORMULA_START and not _NUMBER.match(text):
        return "'" + text
    return text


class UnreadableCsv(ValueError):
    """A record the CSV reader refused: the line it starts on, the column, and why."""

    def __init__(self, line: int, column: str, reason: str) -> None:
        super().__init__(f"line {line}, {column}: {reason}")
        self.line = line
        self.column = column
        self.reason = reason


class _Lines:
    """The text's lines as a csv reader takes them, keeping those of the record being read."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text))
        self.read = 0
        self.record: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.read += 1
        self.record.append(line)
        return line


def read_dicts(text: str) -> tuple[list[str], Iterator[tuple[int, Row]]]:
    """The header (names stripped) and an iterator of (line, row) of a CSV text, a byte-order
    mark dropped and blank lines skipped. Rows are as `csv.DictReader` gives them: values
    past the header under None, missing ones None. Raises UnreadableCsv (also while
    iterating) for a record the reader refuses."""
    lines = _Lines(text.lstrip("\ufeff"))  # Excel writes a BOM
    reader = csv.reader(lines)
    try:
        first = next(reader, [])
    except csv.Error as exc:
        raise _unreadable(exc, lines, 1, []) from None
    header = [h.strip() for h in first]
    return header, _records(reader, lines, header)


def _records(reader: Any, lines: _Lines, header: list[str]) -> Iterator[tuple[int, Row]]:
    while True:
        lines.record.clear()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _unreadable(exc, lines, lines.read - len(lines.record) + 1, header) from None
        if not values:
            continue
        row: Row = dict(zip(header, values, strict=False))
        if len(values) > len(header):
            row[None] = values[len(header) :]
        for name in header[len(values) :]:
            row[name] = None
        yield lines.read - len(lines.record) + 1, row


def _unreadable(exc: csv.Error, lines: _Lines, line: int, header: list[str]) -> UnreadableCsv:
    raw = "".join(lines.record)
    if "field limit" in str(exc):
        index = _longest_field(raw)
        column = header[index] if index < len(header) and header[index] else f"column {index + 1}"
        reason = f"a cell longer than {csv.field_size_limit():,} characters"
        return UnreadableCsv(line, "header" if not header else column, reason)
    return UnreadableCsv(line, "row", f"not readable as CSV ({exc})")


def _longest_field(raw: str) -> int:
    """The position of the longest comma-separated field of a raw record (quotes kept)."""
    index = best = 0
    length = best_length = 0
    quoted = False
    for char in raw:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            if length > best_length:
                best, best_length = index, length
            index, length = index + 1, 0
            continue
        length += 1
    return index if length > best_length else best

"""What a report is, declared once: its parameters, its columns and the query-layer function
that answers it. The API routes and the CLI commands are generated from these declarations
(`app/api/stats.py`, `app/cli/stats.py`); the registry is `app/attribution/reports.py`.

A report module (e.g. `traffic.py`) holds its query and, at its bottom, `REPORT = Report(...)`;
adding a report is that module plus one line in the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from app.attribution.filters import Filter, FilterError
from app.attribution.labels import VALUE_FIELDS, label_answer

# The types a parameter may have; `list` is a list of strings (repeated or comma-separated).
PARAM_TYPES: tuple[type, ...] = (int, float, str, bool, date, list)
# How a column's values read: the CLI, the dashboard and the daily files format by unit.
UNITS = ("count", "percent", "percent_range", "money", "ratio", "seconds", "text")


@dataclass(frozen=True)
class Param:
    """One query parameter of a report (`?name=` on the API, `--name` on the CLI)."""

    name: str
    type: type = str
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] = ()
    ge: float | None = None
    le: float | None = None
    gt: float | None = None
    required: bool = False
    # The query function's keyword when it is not `name` (e.g. window -> window_seconds).
    arg: str = ""

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise TypeError(f"{self.name}: type must be one of {PARAM_TYPES}")

    @property
    def flag(self) -> str:
        """The CLI flag: `--min-trials` for `min_trials`."""
        return "--" + self.name.replace("_", "-")

    def value(self, given: Any) -> Any:
        """The value the query function gets: lists split and stripped, every bound and
        choice checked (FilterError naming this parameter), as the API's validation does, so
        a face that calls the store directly refuses the same input."""
        if self.type is list:
            return split_values(given)
        if given is None:
            if self.required:
                raise FilterError(f"{self.name} is required", self.name)
            return None
        if self.choices and given not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise FilterError(f"{self.name} must be one of {allowed}", self.name)
        if self.ge is not None and given < self.ge:
            raise FilterError(f"{self.name} must be at least {_num(self.ge)}", self.name)
        if self.le is not None and given > self.le:
            raise FilterError(f"{self.name} must be at most {_num(self.le)}", self.name)
        if self.gt is not None and given <= self.gt:
            raise FilterError(f"{self.name} must be greater than {_num(self.gt)}", self.name)
        return given


def split_values(given: str | Sequence[str] | None) -> tuple[str, ...]:
    """Repeated (?os=ios&os=android) or comma-separated (ios,android) values, stripped."""
    items = [given] if isinstance(given, str) else list(given or ())
    return tuple(v.strip() for item in items for v in item.split(",") if v.strip())


def _num(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else str(bound)


@dataclass(frozen=True)
class Column:
    """One column of a report's table: `key` in the table row, `header` as the CLI prints
    it (the key unless told), a human `label`, and the `unit` that says how to format it."""

    key: str
    label: str
    unit: str = "count"
    header: str = ""
    digits: int | None = None  # decimals of a count, ratio or seconds; None: as it comes
    empty: str = ""  # the text of a missing or blank value, e.g. "(all)" for no split

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"{self.key}: unit must be one of {UNITS}")
        if not self.header:
            object.__setattr__(self, "header", self.key)

    def text(self, value: Any) -> Any:
        """The value as the table shows it: percents as `12.5%`, money with two decimals, a
        percent range as `1.0%–4.2%`; counts and text as they come."""
        if value is None or value == "":
            return self.empty
        if self.unit == "percent":
            return f"{100 * value:.1f}%"
        if self.unit == "percent_range":
            low, high = value
            return f"{self.text_percent(low)}–{self.text_percent(high)}"
        if self.unit == "money":
            return f"{value:.2f}"
        if self.unit == "ratio":
            return f"{value:.{2 if self.digits is None else self.digits}f}"
        if self.digits is not None:  # count, seconds
            return f"{value:.{self.digits}f}"
        return value

    def machine(self, value: Any) -> dict[str, Any]:
        """The value as CSV carries it, by CSV column: rates as plain fractions (0.033), a
        range as two columns (`<header>_low`, `<header>_high`), money to the cent; nothing
        formatted for the eye. A missing value is an empty cell."""
        if self.unit == "percent_range":
            low, high = value if isinstance(value, list | tuple) else (None, None)
            return {f"{self.header}_low": low, f"{self.header}_high": high}
        if value == "":
            value = None
        if self.unit == "money" and value is not None:
            value = Decimal(str(value)).quantize(_CENT)
        return {self.header: value}

    @staticmethod
    def text_percent(value: float | None) -> str:
        return "" if value is None else f"{100 * value:.1f}%"


Rows = Callable[[dict[str, Any]], list[dict[str, Any]]]


def answer_rows(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """The table rows of most reports: the answer's `rows`."""
    return list(answer["rows"])


@dataclass(frozen=True)
class Report:
    """A report: `name` is the CLI command (`adtrack stats <name>`) and, unless `path` says
    otherwise, the route (`/api/v1/stats/<name>`)."""

    name: str
    summary: str
    # The query-layer function: run(store, filter, **params) (run(store, **params) when
    # `filtered` is False), returning JSON-ready data.
    run: Callable[..., dict[str, Any]]
    params: tuple[Param, ...] = ()
    columns: tuple[Column, ...] = ()
    path: str = ""
    # False: the report takes no common filter, only its own params (e.g. start and end).
    filtered: bool = True
    # The table rows from the answer, when they are not simply `answer["rows"]`.
    rows: Rows = answer_rows
    # The column keys shown for an answer, in order, when not every column always is.
    shown: Callable[[dict[str, Any]], Sequence[str]] | None = None
    noun: str = "rows"  # what the rows are ("(no rows)" when there are none)
    # Figures printed above the table as `key  value` lines (keys are dotted answer paths).
    headline: tuple[Column, ...] = ()
    # A line printed below the table, formatted with the answer's top-level keys.
    footer: str = ""
    # What the report counts, in a sentence (its unit, which orders, which attribution): in
    # every answer as `counts` and printed under the table, so two reports' figures that
    # differ say why.
    counts: str = ""

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", self.name)

    def answer(self, store: Any, flt: Filter | None, given: dict[str, Any]) -> dict[str, Any]:
        """Run the report on `given` parameter values (missing ones take their default);
        FilterError, naming the parameter, for a value it refuses."""
        kwargs: dict[str, Any] = {}
        for param in self.params:
            value = param.value(given.get(param.name, param.default))
            if param.type is list and not value:
                continue  # no values: the query function's default (e.g. every model)
            kwargs[param.arg or param.name] = value
        if self.filtered:
            if flt is None:
                raise FilterError(f"{self.name} needs the common filter", "start")
            answer = self.run(store, flt, **kwargs)
        else:
            answer = self.run(store, **kwargs)
        label_answer(store, answer)  # a name beside each code or id split by
        return {**answer, "counts": self.counts} if self.counts else answer

    def table(self, answer: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Column]]:
        """The rows as the CLI prints them (each row's own keys, then every column formatted
        under its header) and the columns shown for this answer."""
        shown = self.columns
        if self.shown is not None:
            by_key = {c.key: c for c in self.columns}
            shown = tuple(by_key[k] for k in self.shown(answer))
        # Money says its currency in its header: `revenue (CNY)`.
        currency = currency_of(answer)
        columns = [
            replace(c, header=f"{c.header} ({currency})") if c.unit == "money" else c
            for c in self.columns
        ]
        headers = {c.key: c.header for c in columns}
        shown = tuple(replace(c, header=headers[c.key]) for c in shown)
        rows = [
            {**row, **{c.header: c.text(row[c.key]) for c in columns if c.key in row}}
            for row in _named(answer, self.rows(answer))
        ]
        return rows, _with_name(list(shown), rows)

    def machine_rows(self, answer: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows as CSV carries them (see Column.machine): the columns shown, the name
        beside the value, a `currency` column when any column is money, then the rows' other
        plain fields."""
        # The table's columns by key, with their plain headers (no currency in them).
        declared = {c.key: c for c in (*self.columns, NAME)}
        shown = [declared[c.key] for c in self.table(answer)[1]]
        currency = currency_of(answer) if any(c.unit == "money" for c in shown) else None
        keys = {c.key for c in self.columns}
        rows = []
        for row in _named(answer, self.rows(answer)):
            out: dict[str, Any] = {}
            for column in shown:
                out.update(column.machine(row.get(column.key)) if column.key != "name"
                           else {"name": row.get("name", "")})  # fmt: skip
            if currency is not None:
                out["currency"] = currency
            for key, value in row.items():
                if key not in keys and key not in out and isinstance(value, _PLAIN):
                    out[key] = value
            rows.append(out)
        return rows

    def headline_row(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The headline figures, formatted, by header."""
        return {c.header: c.text(_at(answer, c.key)) for c in self.headline}


NAME = Column("name", "Name", "text")
# Amounts are in the currency the answer names (the ranking's spend currency), else in the
# default every campaign, order and cost row takes (catalog, events and costs: CNY).
DEFAULT_CURRENCY = "CNY"
_CENT = Decimal("0.01")
_PLAIN = (str, int, float, Decimal, bool)


def currency_of(answer: dict[str, Any]) -> str:
    """The currency of an answer's amounts."""
    named = answer.get("currency") if isinstance(answer, dict) else None
    return named if isinstance(named, str) and named else DEFAULT_CURRENCY


def _named(answer: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table rows with the `name` the labeller gave each value in the answer's rows."""
    found = {
        _value_of(r): r["name"]
        for r in answer.get("rows") or ()
        if isinstance(r, dict) and "name" in r
    }
    if not found:
        return rows
    return [{**row, "name": found.get(_value_of(row), "")} if _value_of(row) is not None else row
            for row in rows]  # fmt: skip


def _with_name(shown: list[Column], rows: list[dict[str, Any]]) -> list[Column]:
    """The name column right after the value column, when the rows are named."""
    keys = [c.key for c in shown]
    if not any("name" in r for r in rows) or "name" in keys:
        return shown
    at = next((i + 1 for i, k in enumerate(keys) if k in VALUE_FIELDS), 0)
    return [*shown[:at], NAME, *shown[at:]]


def _value_of(row: dict[str, Any]) -> Any:
    return next((row[f] for f in VALUE_FIELDS if f in row), None)


def _at(answer: dict[str, Any], path: str) -> Any:
    value: Any = answer
    for part in path.split("."):
        value = value[part]
    return value

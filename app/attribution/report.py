"""What a report is, declared once: its parameters, its columns and the query-layer function
that answers it. The API routes and the CLI commands are generated from these declarations
(`app/api/stats.py`, `app/cli/stats.py`); the registry is `app/attribution/reports.py`.

A report module (e.g. `traffic.py`) holds its query and, at its bottom, `REPORT = Report(...)`;
adding a report is that module plus one line in the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from app.attribution.filters import Filter, FilterError

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
        return {**answer, "counts": self.counts} if self.counts else answer

    def table(self, answer: dict[str, Any]) -> tuple[list[dict[str, Any]], list[Column]]:
        """The rows as the CLI prints them (each row's own keys, then every column formatted
        under its header) and the columns shown for this answer."""
        shown = self.columns
        if self.shown is not None:
            by_key = {c.key: c for c in self.columns}
            shown = tuple(by_key[k] for k in self.shown(answer))
        rows = [
            {**row, **{c.header: c.text(row[c.key]) for c in self.columns if c.key in row}}
            for row in self.rows(answer)
        ]
        return rows, list(shown)

    def headline_row(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The headline figures, formatted, by header."""
        return {c.header: c.text(_at(answer, c.key)) for c in self.headline}


def _at(answer: dict[str, Any], path: str) -> Any:
    value: Any = answer
    for part in path.split("."):
        value = value[part]
    return value

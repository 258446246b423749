"""Checking spend rows before any is saved: CSV parsing (header names, UTF-8 with or without
a BOM), shape (`CostIn`), references to the catalog and duplicates within one import.
All rows or none: any error and nothing is saved; each error names its line and field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from app.catalog.snapshot import CatalogSnapshot
from app.costs.models import COLUMNS, REQUIRED, CostIn
from app.csv_safety import UnreadableCsv, read_dicts

MAX_ROWS = 50_000  # a month of a few thousand placements a day
EARLIEST = date(2000, 1, 1)


@dataclass
class Checked:
    """The rows that passed, or the (line, field, reason) of every refusal."""

    rows: list[CostIn] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def parse_csv(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str, str]]]:
    """(line, {column: value}) per data line (blank lines skipped), or header errors."""
    try:
        return _parse_csv(text)
    except UnreadableCsv as exc:  # a cell too long for the reader
        return [], [(exc.line, exc.column, exc.reason)]


def _parse_csv(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[tuple[int, str, str]]]:
    header, records = read_dicts(text)
    if not header or header == [""]:
        return [], [(1, "header", "the file is empty or has no header line")]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        return [], [(1, unknown[0] or "header", f"unknown column; use {', '.join(COLUMNS)}")]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return [], [(1, missing[0], "a required column is missing")]
    if len(set(header)) != len(header):
        return [], [(1, "header", "a column is named twice")]
    rows = []
    for line, row in records:
        extra = row.pop(None, None)
        if extra:
            return [], [(line, "row", "more values than columns")]
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if any(values.values()):
            rows.append((line, values))
        if len(rows) > MAX_ROWS:
            return [], [(1, "rows", f"at most {MAX_ROWS} rows per import")]
    return rows, []


def check(
    items: Iterable[tuple[int, Mapping[str, Any]]],
    snapshot: CatalogSnapshot,
    today: date | None = None,
) -> Checked:
    """Validate each (line, values) item; pure: the catalog comes in as a snapshot."""
    out = Checked()
    latest = (today or datetime.now(UTC).date()) + timedelta(days=1)  # the east is ahead
    seen: dict[tuple[str, ...], int] = {}
    for line, values in items:
        given = {k: v for k, v in values.items() if v != "" and v is not None}
        try:
            row = CostIn.model_validate(given)
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"]) or "row"
                out.errors.append((line, where, err["msg"]))
            continue
        problems = _day_problems(row, latest) + reference_problems(row, snapshot)
        if problems:
            out.errors.extend((line, f, reason) for f, reason in problems)
            continue
        first = seen.setdefault(row.key(), line)
        if first != line:
            out.errors.append((line, "day", f"the same day and breakdown as line {first}"))
            continue
        out.rows.append(row)
    return out


def _day_problems(row: CostIn, latest: date) -> list[tuple[str, str]]:
    if row.day < EARLIEST:
        return [("day", f"before {EARLIEST}")]
    if row.day > latest:
        return [("day", "a day in the future: import spend once it is spent")]
    return []


def reference_problems(row: CostIn, snapshot: CatalogSnapshot) -> list[tuple[str, str]]:
    """(field, reason) for each reference the catalog does not know or that contradicts it
    (a site of another partner or channel, a placement on another site)."""
    problems = []
    if row.campaign_id and row.campaign_id not in snapshot.campaigns:
        problems.append(("campaign_id", "no campaign has this id"))
    if row.channel and row.channel not in snapshot.channels:
        problems.append(("channel", "no channel has this id"))
    if row.partner_id and row.partner_id not in snapshot.partners:
        problems.append(("partner_id", "no partner has this id"))
    site = snapshot.sites.get(row.site_key) if row.site_key else None
    if row.site_key and site is None:
        problems.append(("site_key", "no site has this key"))
    if site is not None and row.partner_id and site.partner != row.partner_id:
        problems.append(("site_key", f"the site belongs to partner {site.partner!r}"))
    if site is not None and row.channel and site.channel != row.channel:
        problems.append(("site_key", f"the site is in channel {site.channel!r}"))
    # Links may name a slot with a free label (home-banner) that events then carry; only an
    # id of ours (pl_…) must exist, and be on the row's site.
    if row.placement_id.startswith("pl_"):
        placement = snapshot.placements.get(row.placement_id)
        if placement is None:
            problems.append(("placement_id", "no placement has this id"))
        elif row.site_key and placement.site_key != row.site_key:
            problems.append(("placement_id", "the placement is on another site"))
    return problems

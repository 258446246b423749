"""Spool records to column-oriented Arrow tables for `events` and `rejects` inserts."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from app.ingest.record import Record

_STRING = pa.string()
_TS = pa.timestamp("ms", tz="UTC")
_ZERO = Decimal("0.00")

# events column -> arrow type; every other column of the table takes its default.
EVENT_COLUMNS: dict[str, pa.DataType] = {
    "event_id": _STRING,
    "event_type": _STRING,
    "event_name": _STRING,
    "ts": _TS,
    "client_ts": _TS,
    **{
        name: _STRING
        for name in (
            "site_key",
            "partner_id",
            "channel",
            "advertiser_id",
            "campaign_id",
            "placement_id",
            "creative_id",
            "link_code",
            "click_id",
            "visitor_id",
            "session_id",
            "pageview_id",
            "url",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "ip",
            "country_code",
            "province",
            "city",
            "user_agent",
            "browser",
            "browser_version",
            "os",
            "os_version",
            "device_type",
            "screen",
            "language",
            "order_id",
            "order_status",
            "currency",
        )
    },
    "is_bot": pa.uint8(),
    "duration_ms": pa.uint32(),
    "amount": pa.decimal128(18, 2),
    "props": pa.map_(pa.string(), pa.string()),
}
_NULLABLE = {"client_ts"}

REJECT_COLUMNS: dict[str, pa.DataType] = {
    "ts": _TS,
    "reason": _STRING,
    "field": _STRING,
    "endpoint": _STRING,
    "site_key": _STRING,
    "detail": _STRING,
    "raw": _STRING,
    "ip": _STRING,
    "user_agent": _STRING,
}


def events_table(records: list[Record]) -> pa.Table:
    arrays = {}
    for name, kind in EVENT_COLUMNS.items():
        if name == "amount":
            values = [Decimal(r["amount"]) if r.get("amount") else _ZERO for r in records]
        elif name == "props":
            values = [list(r["props"].items()) if r.get("props") else [] for r in records]
        elif name in _NULLABLE:
            values = [r.get(name) for r in records]
        elif kind == _STRING:
            values = [r.get(name) or "" for r in records]
        else:
            values = [r.get(name) or 0 for r in records]
        arrays[name] = pa.array(values, type=kind)
    return pa.table(arrays)


def rejects_table(rejects: list[Record]) -> pa.Table:
    arrays = {}
    for name, kind in REJECT_COLUMNS.items():
        if name == "reason":
            values = [str(r.get("reject", "")) for r in rejects]
        elif kind == _STRING:
            values = [str(r.get(name) or "") for r in rejects]
        else:
            values = [r.get(name) or 0 for r in rejects]
        arrays[name] = pa.array(values, type=kind)
    return pa.table(arrays)

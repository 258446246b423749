"""Validation of hit fields (pixel query and beacon events) into a spool record.

Pure functions: a flat mapping of short parameter names in, an event record or a typed
rejection out. Nothing derived (geo, device) is computed here; that is the loader's job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from app.ingest.reasons import RejectReason
from app.ingest.record import Record

# A visitor id as the snippet and the tracker's cookie write it; also a share link's sharer.
# Patterns end in `\Z`, not `$`: `$` also matches before a trailing newline ("id\n").
VISITOR_ID = re.compile(r"^[A-Za-z0-9_.:-]+\Z")
VISITOR_ID_MAX = 128

# Short parameter name -> (events column, max length, pattern or None)
_TEXT_FIELDS: dict[str, tuple[str, int, re.Pattern[str] | None]] = {
    "n": ("event_name", 128, re.compile(r"^[\w.:/-]+\Z")),
    "c": ("campaign_id", 128, None),
    "pl": ("placement_id", 128, None),
    "cr": ("creative_id", 128, None),
    "cid": ("click_id", 128, re.compile(r"^[A-Za-z0-9_.-]+\Z")),
    "vid": ("visitor_id", VISITOR_ID_MAX, VISITOR_ID),
    # The sharer's visitor id from a share link's `adt_ref` (see app/attribution/referral.py).
    "ref_id": ("referrer_id", VISITOR_ID_MAX, VISITOR_ID),
    "sid": ("session_id", 128, re.compile(r"^[A-Za-z0-9_.:-]+\Z")),
    "pv": ("pageview_id", 128, re.compile(r"^[A-Za-z0-9_.:-]+\Z")),
    "url": ("url", 4096, None),
    "ref": ("referrer", 4096, None),
    "sr": ("screen", 16, re.compile(r"^\d{1,5}x\d{1,5}\Z")),
    "lang": ("language", 35, re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*\Z")),
    "oid": ("order_id", 128, None),
    "utm_source": ("utm_source", 256, None),
    "utm_medium": ("utm_medium", 256, None),
    "utm_campaign": ("utm_campaign", 256, None),
    "utm_term": ("utm_term", 512, None),
    "utm_content": ("utm_content", 512, None),
}
_CURRENCY = re.compile(r"^[A-Z]{3}\Z")
MAX_AMOUNT = Decimal("9999999999999999.99")
_CENT = Decimal("0.01")
ORDER_STATUSES = frozenset({"approved", "pending", "refunded", "cancelled"})
_CLIENT_TS_SLACK_MS = 7 * 24 * 3600 * 1000
MAX_PROPS = 32


@dataclass(frozen=True, slots=True)
class Invalid:
    reason: RejectReason
    field: str
    detail: str


def _text(params: Mapping[str, Any], key: str, record: Record) -> Invalid | None:
    value = params.get(key)
    if value is None or value == "":
        return None
    column, limit, pattern = _TEXT_FIELDS[key]
    if not isinstance(value, str):
        return Invalid(RejectReason.INVALID_FIELD, key, "must be a string")
    if len(value) > limit:
        return Invalid(RejectReason.FIELD_TOO_LONG, key, f"longer than {limit} characters")
    if pattern is not None and not pattern.match(value):
        return Invalid(RejectReason.INVALID_FIELD, key, "has characters that are not allowed")
    if "\x00" in value:
        return Invalid(RejectReason.INVALID_FIELD, key, "contains NUL")
    record[column] = value
    return None


def parse_amount(value: Any) -> Decimal | Invalid:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return Invalid(RejectReason.INVALID_FIELD, "amt", "must be a number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return Invalid(RejectReason.INVALID_FIELD, "amt", "must be a decimal number")
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return Invalid(RejectReason.INVALID_FIELD, "amt", "must be between 0 and 1e16")
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


def validate_event(
    params: Mapping[str, Any],
    *,
    allowed_types: frozenset[str],
    default_type: str | None,
    now_ms: int,
) -> Record | Invalid:
    """Check one hit's fields; returns the partial spool record (no ids, ip or UA yet)."""
    event_type = params.get("e") or default_type
    if not event_type:
        return Invalid(RejectReason.MISSING_FIELD, "e", "event type is required")
    if not isinstance(event_type, str) or event_type not in allowed_types:
        return Invalid(
            RejectReason.UNKNOWN_EVENT_TYPE,
            "e",
            f"must be one of {', '.join(sorted(allowed_types))}",
        )
    site_key = params.get("s")
    if not site_key or not isinstance(site_key, str):
        return Invalid(RejectReason.MISSING_FIELD, "s", "site key is required")
    record: Record = {"event_type": event_type, "site_key": site_key}
    for key in params:
        if key in _TEXT_FIELDS:
            problem = _text(params, key, record)
            if problem:
                return problem
    if event_type == "event" and "event_name" not in record:
        return Invalid(RejectReason.MISSING_FIELD, "n", "custom events need a name")
    amt = params.get("amt")
    if amt not in (None, ""):
        amount = parse_amount(amt)
        if isinstance(amount, Invalid):
            return amount
        record["amount"] = str(amount)
    cur = params.get("cur")
    if cur not in (None, ""):
        if not isinstance(cur, str) or not _CURRENCY.match(cur.upper()):
            return Invalid(RejectReason.INVALID_FIELD, "cur", "must be a 3-letter ISO 4217 code")
        record["currency"] = cur.upper()
    if event_type == "order":
        if "order_id" not in record:
            return Invalid(RejectReason.MISSING_FIELD, "oid", "orders need an order id")
        record.setdefault("currency", "CNY")
        record["order_status"] = "approved"
    duration = params.get("d")
    if duration not in (None, ""):
        try:
            value = int(duration)
        except (TypeError, ValueError):
            return Invalid(RejectReason.INVALID_FIELD, "d", "must be milliseconds")
        if not 0 <= value <= 86_400_000:
            return Invalid(RejectReason.INVALID_FIELD, "d", "must be 0 to 86400000 ms")
        record["duration_ms"] = value
    client_ts = params.get("ts")
    if client_ts not in (None, ""):
        try:
            value = int(client_ts)
        except (TypeError, ValueError):
            return Invalid(RejectReason.INVALID_FIELD, "ts", "must be epoch milliseconds")
        # A wildly wrong client clock is not a reason to lose the hit: keep server time only.
        if abs(value - now_ms) <= _CLIENT_TS_SLACK_MS:
            record["client_ts"] = value
    props = params.get("p")
    if props not in (None, "", {}):
        checked = _props(props)
        if isinstance(checked, Invalid):
            return checked
        record["props"] = checked
    return record


def _props(props: Any) -> dict[str, str] | Invalid:
    if not isinstance(props, dict):
        return Invalid(RejectReason.INVALID_FIELD, "p", "must be an object of strings")
    if len(props) > MAX_PROPS:
        return Invalid(RejectReason.INVALID_FIELD, "p", f"at most {MAX_PROPS} properties")
    out: dict[str, str] = {}
    for key, value in props.items():
        if not isinstance(key, str) or not 0 < len(key) <= 64:
            return Invalid(RejectReason.INVALID_FIELD, "p", "property names are 1-64 characters")
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        if not isinstance(value, str) or len(value) > 1024:
            return Invalid(RejectReason.INVALID_FIELD, "p", "property values are strings <= 1024")
        out[key] = value
    return out

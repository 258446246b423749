"""put_campaign: UTM parameters and our click id taken from the landing URL when the hit
did not carry them itself (a pixel on a landing page, a snippet that missed them)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from app.ingest.reasons import RejectReason
from app.ingest.record import Record
from app.tracker.links import CLICK_PARAM

_FROM_URL = {
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    CLICK_PARAM: "click_id",
}


def put_campaign(record: Record) -> RejectReason | None:
    url = record.get("url")
    if not url or "?" not in url or record.get("event_type") == "click":
        return None
    if "utm_" not in url and CLICK_PARAM not in url:
        return None
    try:
        query = urlsplit(url).query
    except ValueError:
        return None
    for key, value in parse_qsl(query):
        column = _FROM_URL.get(key)
        if column and value and not record.get(column):
            record[column] = value[:256]
    return None

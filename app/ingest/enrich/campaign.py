"""put_campaign: UTM parameters and our click id taken from the landing URL when the hit
did not carry them itself (a pixel on a landing page, a snippet that missed them)."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from app.catalog.links import CLICK_PARAM
from app.ingest.enrich.pipeline import NO_DROPS, Drops
from app.ingest.record import Record

_FROM_URL = {
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "utm_term": "utm_term",
    "utm_content": "utm_content",
    CLICK_PARAM: "click_id",
}
# Characters that make urlsplit do more than cut the query out: it drops tabs and newlines
# anywhere, and checks bracketed (IPv6) and non-ASCII hosts.
_SPLIT_SENSITIVE = ("[", "]", "\t", "\r", "\n")


def put_campaign(records: list[Record]) -> Drops:
    for record in records:
        url = record.get("url")
        if not url or "?" not in url or record.get("event_type") == "click":
            continue
        if "utm_" not in url and CLICK_PARAM not in url:
            continue
        for key, value in query_pairs(url):
            column = _FROM_URL.get(key)
            if column and value and not record.get(column):
                record[column] = value[:256]
    return NO_DROPS


def query_pairs(url: str) -> list[tuple[str, str]]:
    """`parse_qsl(urlsplit(url).query)`, or [] where urlsplit rejects the URL.

    The common URL (ASCII, none of `_SPLIT_SENSITIVE`) takes a direct path: the query is what
    follows the first `?` before the first `#`, which is all urlsplit would find there. Pairs
    without `=` or with an empty value are left out, as parse_qsl does.
    """
    if not url.isascii() or any(char in url for char in _SPLIT_SENSITIVE):
        try:
            return parse_qsl(urlsplit(url).query)
        except ValueError:
            return []
    query = url.partition("#")[0].partition("?")[2]
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        if not equals or not value:
            continue
        if "+" in name or "%" in name:
            name = unquote(name.replace("+", " "))
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "))
        pairs.append((name, value))
    return pairs

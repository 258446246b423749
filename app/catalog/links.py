"""A link's landing URL: what may be one, and how a click's id is appended to it (the
redirect's destination; nothing taken from input as a destination: no open redirect)."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit

CLICK_PARAM = "adt_cid"
_FORWARDED = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
# Never in a landing URL: whitespace, C0 and C1 controls, DEL, lone surrogates.
_REFUSED = re.compile(r"[\x00-\x20\x7f-\x9f\ud800-\udfff]")
# Never in a Location header (a server answers 500 rather than send one): space, C0, DEL and
# lone surrogates (no UTF-8 form). Other non-ASCII text goes out as UTF-8, as browsers read it.
_UNSAFE_IN_HEADER = re.compile(r"[\x00-\x20\x7f\ud800-\udfff]")


def valid_landing_url(url: str) -> str | None:
    """Why `url` cannot be a landing URL, or None if it can."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname:
        return "must have a host"
    if _REFUSED.search(url):
        return "must not contain whitespace or control characters"
    if any(k == CLICK_PARAM for k, _ in parse_qsl(parts.query, keep_blank_values=True)):
        return f"must not carry {CLICK_PARAM}: adtrack adds it"
    return None


def landing_with_click(landing_url: str, click_id: str, incoming_query: str = "") -> str:
    """The registered landing URL with its own query kept byte for byte, UTM parameters from
    the tracked link's query added where the landing has none, then `adt_cid`; the fragment
    stays last. String surgery rather than re-encoding: cheap, and it never rewrites the
    advertiser's own parameters."""
    base, hash_, fragment = landing_url.partition("#")
    _, qmark, landing_query = base.partition("?")
    extra: list[tuple[str, str]] = []
    if incoming_query and "utm_" in incoming_query:
        present = {k for k, _ in parse_qsl(landing_query, keep_blank_values=True)}
        for key, value in parse_qsl(incoming_query):
            if key in _FORWARDED and key not in present:
                extra.append((key, value))
                present.add(key)
    extra.append((CLICK_PARAM, click_id))
    joiner = "&" if landing_query else ("" if qmark else "?")
    return header_safe(f"{base}{joiner}{urlencode(extra)}{hash_}{fragment}")


def header_safe(url: str) -> str:
    """`url` with what cannot go in a Location header percent-encoded: landing URLs saved
    before control characters were refused still redirect (never a 500 after the click was
    recorded)."""
    if not _UNSAFE_IN_HEADER.search(url):
        return url
    return _UNSAFE_IN_HEADER.sub(
        lambda m: "".join(f"%{b:02X}" for b in m.group().encode("utf-8", "surrogatepass")), url
    )

"""A lean query-string parser for the hit path: urllib's parse_qsl is half of a pixel's cost.

Same results as `dict(parse_qsl(..., keep_blank_values=True, errors="strict"))` (the last
value of a repeated name wins) but values without `%` or `+` are taken as they are.
"""

from __future__ import annotations

from urllib.parse import unquote


def parse_query(raw: bytes) -> dict[str, str]:
    """Raises UnicodeDecodeError when the bytes or a percent-escape are not valid UTF-8."""
    text = raw.decode("utf-8")
    params: dict[str, str] = {}
    if not text:
        return params
    for pair in text.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "+" in name or "%" in name:
            name = unquote(name.replace("+", " "), errors="strict")
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "), errors="strict")
        params[name] = value
    return params

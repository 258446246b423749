"""Server-to-server conversion postbacks: parameter names, macros and the HMAC signature.

The signature is hex HMAC-SHA256, keyed with the advertiser's postback secret, of every
parameter except `sig`, sorted by name and joined as `k=v&k=v` with URL-decoded values,
exactly as the caller sent the names (aliases included), so the caller can sign what it sends.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

# Names ad networks use in their postback templates, mapped to ours.
ALIASES: dict[str, str] = {
    "click_id": "cid",
    "clickid": "cid",
    "subid": "cid",
    "sub_id": "cid",
    "order_id": "oid",
    "orderid": "oid",
    "txid": "oid",
    "transaction_id": "oid",
    "payout": "amt",
    "revenue": "amt",
    "amount": "amt",
    "sum": "amt",
    "currency": "cur",
    "state": "status",
}
# `{click_id}` or `[payout]` left as-is means the network had no value: treat as absent.
_UNFILLED_MACRO = re.compile(r"^(\{[^{}]*\}|\[[^\[\]]*\]|%[A-Z_]+%)$")
STATUS_ALIASES = {
    "approved": "approved",
    "approve": "approved",
    "confirmed": "approved",
    "1": "approved",
    "pending": "pending",
    "hold": "pending",
    "0": "pending",
    "refunded": "refunded",
    "refund": "refunded",
    "chargeback": "refunded",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "rejected": "cancelled",
    "declined": "cancelled",
    "-1": "cancelled",
}


def signing_string(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sig")


def sign(params: Mapping[str, str], secret: str) -> str:
    message = signing_string(params).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_ok(params: Mapping[str, str], secret: str) -> bool:
    given = params.get("sig", "")
    return bool(given) and hmac.compare_digest(sign(params, secret), given.lower())


def normalize(params: Mapping[str, str]) -> dict[str, str]:
    """Our names for the fields, with unfilled macros dropped."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if key == "sig" or _UNFILLED_MACRO.match(value.strip()):
            continue
        name = ALIASES.get(key.lower(), key.lower())
        if name not in out or key.lower() == name:
            out[name] = value.strip()
    return out


def link_code_of(click_id: str) -> str:
    """Click ids are `<link code>-<random>`, so the link (hence the advertiser) is known
    without a store lookup on the request path."""
    code, sep, rest = click_id.partition("-")
    return code if sep and rest else ""

"""The client's address: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Sequence

from app.settings import IPNetwork


class ClientIp:
    def __init__(self, trusted: Sequence[IPNetwork]) -> None:
        self._trusted = tuple(trusted)
        self._peer_trusted: dict[str, bool] = {}

    def _is_trusted(self, addr: str) -> bool:
        known = self._peer_trusted.get(addr)
        if known is not None:
            return known
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            trusted = False
        else:
            trusted = any(ip in net for net in self._trusted)
        if len(self._peer_trusted) < 10_000:
            self._peer_trusted[addr] = trusted
        return trusted

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        """Walk X-Forwarded-For from the right, skipping trusted proxies; the first other
        address is the client. Untrusted peers' headers are ignored (they can be forged)."""
        if not self._trusted or not forwarded_for or not self._is_trusted(peer):
            return peer
        for hop in reversed(forwarded_for.split(",")):
            hop = hop.strip()
            if not hop:
                continue
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                return peer
            if not self._is_trusted(hop):
                return hop
        return peer


# The edge forwards non-hit requests to the core and says who the client is: the address it
# resolved by the rule above, with the per-start secret that proves the header is the edge's.
# A client's own copies of these headers are dropped by the edge; the core believes them only
# with the secret, so whatever reaches the core directly falls back to the same rule.
EDGE_HEADER = "x-adtrack-edge"
CLIENT_HEADER = "x-adtrack-client"


def vouched_client(edge_secret: str, given_secret: str | None, client: str | None) -> str | None:
    """The client address the edge vouched for, or None when the request did not come through
    our edge (no secret configured, or a wrong or missing one)."""
    if not edge_secret or not given_secret or not client:
        return None
    if not hmac.compare_digest(edge_secret.encode(), given_secret.encode()):
        return None
    return client

"""The client's address: the TCP peer, or X-Forwarded-For when the peer is a trusted proxy."""

from __future__ import annotations

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

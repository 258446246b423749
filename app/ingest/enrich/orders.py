"""drop_duplicate_order: an order (or a status change of it) is stored once.

A thank-you page reloaded, a postback retried by the network, or a postback answered by two
tracker workers: the loader is the one writer, so it decides. Scope is the advertiser (from
the click or campaign) or else the site, so two advertisers' order ids never collide.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from app.ingest.enrich.pipeline import Drops
from app.ingest.reasons import RejectReason
from app.ingest.record import Record
from app.store.client import Store

OrderKey = tuple[str, str, str]


def order_key(record: Record) -> OrderKey:
    scope = record.get("advertiser_id") or record.get("site_key", "")
    return (scope, record.get("order_id", ""), record.get("order_status", "approved"))


class OrderIndex:
    def __init__(self, store: Store | None, capacity: int = 1_000_000) -> None:
        self._store = store
        self._capacity = capacity
        self._seen: OrderedDict[OrderKey, None] = OrderedDict()
        self._batch: set[OrderKey] = set()

    def prefetch(self, records: Iterable[Record]) -> None:
        """Start a batch: load which of its order ids are already stored."""
        self._batch = set()
        ids = {
            order_id
            for r in records
            if r.get("event_type") == "order"
            and (order_id := r.get("order_id"))
            and order_id.__class__ is str  # else not loadable: rejected later
        }
        if not ids or self._store is None:
            return
        rows = self._store.query(
            "SELECT DISTINCT if(advertiser_id != '', advertiser_id, site_key), order_id, "
            "order_status FROM events WHERE event_type = 'order' "
            "AND order_id IN {ids:Array(String)}",
            {"ids": sorted(ids)},
        )
        for row in rows:
            self._seen[(row[0], row[1], row[2])] = None

    def drop_duplicate_order(self, records: list[Record]) -> Drops:
        drops = []
        seen, batch = self._seen, self._batch
        orders = [
            (index, order_key(record))
            for index, record in enumerate(records)
            if record.get("event_type") == "order"
        ]
        for _, key in orders:
            hash(key)  # a key of the wrong shape raises here, before the batch keeps any
        for index, key in orders:
            if key in seen or key in batch:
                drops.append((index, RejectReason.DUPLICATE_ORDER))
            else:
                batch.add(key)
        return drops

    def commit(self) -> None:
        """The batch is in ClickHouse: its orders now count as seen."""
        for key in self._batch:
            self._seen[key] = None
        self._batch = set()
        while len(self._seen) > self._capacity:
            self._seen.popitem(last=False)

"""put_order_source and drop_duplicate_order: an order's evidence, and each report of an
order (or a status change of it) stored once per kind of evidence.

A thank-you page reloaded, a postback retried by the network, or a postback answered by two
tracker workers: the loader is the one writer, so it decides. Scope is the advertiser (from
the click or campaign) or else the site, so two advertisers' order ids never collide.

A page (pixel, beacon, snippet) reports an order as anyone can: evidence `browser`. A signed
postback is the advertiser's confirmation: evidence `postback`. A signed postback must never
lose to a browser's report of the same order id (which anyone who clicked can send first,
with any amount), so it is a duplicate only of a stored postback of the same order id and
status; a browser report is a duplicate of any stored order with that key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from app.ingest.enrich.pipeline import NO_DROPS, Drops
from app.ingest.reasons import RejectReason
from app.ingest.record import Record
from app.store.client import Store

OrderKey = tuple[str, str, str]
POSTBACK = "postback"
BROWSER = "browser"


def order_key(record: Record) -> OrderKey:
    scope = record.get("advertiser_id") or record.get("site_key", "")
    return (scope, record.get("order_id", ""), record.get("order_status", "approved"))


def put_order_source(records: list[Record]) -> Drops:
    """Step: the evidence of each order, from which endpoint spooled it (only the postback
    endpoint marks its records; a page's fields can never say `_src`)."""
    for record in records:
        if record.get("event_type") == "order":
            record["order_source"] = POSTBACK if record.get("_src") == POSTBACK else BROWSER
    return NO_DROPS


class OrderIndex:
    """Order keys stored (or in the batch being loaded), each with whether a signed
    postback is among them."""

    def __init__(self, store: Store | None, capacity: int = 1_000_000) -> None:
        self._store = store
        self._capacity = capacity
        self._seen: OrderedDict[OrderKey, bool] = OrderedDict()
        self._batch: dict[OrderKey, bool] = {}

    def prefetch(self, records: Iterable[Record]) -> None:
        """Start a batch: load which of its order ids are already stored, and how."""
        self._batch = {}
        ids = {
            order_id
            for r in records
            if r.get("event_type") == "order"
            and (order_id := r.get("order_id"))
            and order_id.__class__ is str  # else not loadable: rejected later
        }
        if not ids or self._store is None:
            return
        # Rows stored before order_source existed read '': unsigned, as far as anyone knows.
        rows = self._store.query(
            "SELECT if(advertiser_id != '', advertiser_id, site_key) AS scope, order_id, "
            "order_status, max(order_source = 'postback') FROM events "
            "WHERE event_type = 'order' AND order_id IN {ids:Array(String)} "
            "GROUP BY scope, order_id, order_status",
            {"ids": sorted(ids)},
        )
        seen = self._seen
        for row in rows:
            key = (row[0], row[1], row[2])
            seen[key] = seen.get(key, False) or bool(row[3])

    def drop_duplicate_order(self, records: list[Record]) -> Drops:
        drops = []
        seen, batch = self._seen, self._batch
        orders = [
            (index, order_key(record), record.get("order_source") == POSTBACK)
            for index, record in enumerate(records)
            if record.get("event_type") == "order"
        ]
        for _, key, _ in orders:
            hash(key)  # a key of the wrong shape raises here, before the batch keeps any
        for index, key, signed in orders:
            if signed:
                duplicate = seen.get(key, False) or batch.get(key, False)
            else:
                duplicate = key in seen or key in batch
            if duplicate:
                drops.append((index, RejectReason.DUPLICATE_ORDER))
            else:
                batch[key] = batch.get(key, False) or signed
        return drops

    def commit(self) -> None:
        """The batch is in ClickHouse: its orders now count as seen."""
        seen = self._seen
        for key, signed in self._batch.items():
            seen[key] = seen.get(key, False) or signed
        self._batch = {}
        while len(seen) > self._capacity:
            seen.popitem(last=False)

"""put_click: events that carry a click id inherit the traffic source from that click.

A visit on the advertiser's landing page (adt_cid on its URL) or an order posted back by the
advertiser's server belongs to the partner, channel, campaign and placement of the click that
brought the visitor. A postback also takes the click's IP and user agent, so geo and device
describe the visitor, not the advertiser's server. A postback whose click id the edge could
not prove (issued before click ids carried a MAC: `_check_click`) is kept only if its click
is found.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from app.ingest.enrich.pipeline import NO_DROPS, Drops
from app.ingest.reasons import RejectReason
from app.ingest.record import Record
from app.store.client import Store

SOURCE_FIELDS = (
    "partner_id",
    "channel",
    "advertiser_id",
    "campaign_id",
    "placement_id",
    "creative_id",
    "link_code",
)
_CLICK_COLUMNS = ("click_id", *SOURCE_FIELDS, "visitor_id", "ip", "user_agent")


class ClickIndex:
    """Recently loaded clicks in memory; older ones fetched from `events` per batch."""

    def __init__(self, store: Store | None, capacity: int = 500_000) -> None:
        self._store = store
        self._capacity = capacity
        self._clicks: OrderedDict[str, dict[str, str]] = OrderedDict()

    def remember_click(self, records: list[Record]) -> Drops:
        """Step: keep each click (after put_site gave it partner and channel) for the visits
        and orders that follow it, in this batch or later ones."""
        clicks, capacity = self._clicks, self._capacity
        for record in records:
            if record.get("event_type") == "click" and record.get("click_id"):
                clicks[record["click_id"]] = {c: record.get(c, "") for c in _CLICK_COLUMNS}
                if len(clicks) > capacity:
                    clicks.popitem(last=False)
        return NO_DROPS

    def prefetch(self, records: Iterable[Record]) -> None:
        """Load the clicks this batch refers to and memory does not hold (one query).

        A click earlier in the same batch is left out: remember_click (a step before
        put_click) keeps it before any later record of the batch looks it up, replacing
        whatever the query would have loaded.
        """
        in_batch: set[str] = set()
        wanted: set[str] = set()
        for r in records:
            click_id = r.get("click_id")
            if not click_id or click_id.__class__ is not str:  # not loadable: rejected later
                continue
            if r.get("event_type") == "click":
                in_batch.add(click_id)
            elif click_id not in self._clicks and click_id not in in_batch:
                wanted.add(click_id)
        if not wanted or self._store is None:
            return
        rows = self._store.query(
            f"SELECT {', '.join(_CLICK_COLUMNS)} FROM events "  # noqa: S608 (constant columns)
            "WHERE event_type = 'click' AND click_id IN {ids:Array(String)} "
            "ORDER BY ts LIMIT 1 BY click_id",
            {"ids": sorted(wanted)},
        )
        for row in rows:
            self._clicks[row[0]] = dict(zip(_CLICK_COLUMNS, row, strict=True))

    def get(self, click_id: str) -> dict[str, str] | None:
        return self._clicks.get(click_id)

    def put_click(self, records: list[Record]) -> Drops:
        clicks = self._clicks
        drops = []
        for index, record in enumerate(records):
            click_id = record.get("click_id")
            if not click_id or record.get("event_type") == "click":
                continue
            click = clicks.get(click_id)
            if click is None:
                if record.get("_check_click"):
                    drops.append((index, RejectReason.UNKNOWN_CLICK))
                continue
            for column in SOURCE_FIELDS:
                if click[column]:
                    record[column] = click[column]
            if not record.get("visitor_id") and click["visitor_id"]:
                record["visitor_id"] = click["visitor_id"]
            if record.get("_src") == "postback" and "postback_ip" not in record.get("props", ()):
                props = record.setdefault("props", {})
                props["postback_ip"] = record.get("ip", "")
                record["ip"] = click["ip"]
                record["user_agent"] = click["user_agent"]
        return drops

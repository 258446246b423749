"""put_site: partner and channel from the catalog entry of the site the hit names, and the
advertiser from the campaign. put_click, later, overrides these with the click's for events
that came through a tracked link."""

from __future__ import annotations

from app.ingest.reasons import RejectReason
from app.ingest.record import Record
from app.store.catalog_cache import CatalogCache


def make_put_site(catalog: CatalogCache):  # noqa: ANN201 (returns a Step)
    def put_site(record: Record) -> RejectReason | None:
        snapshot = catalog.snapshot
        if not record.get("partner_id"):
            site = snapshot.sites.get(record.get("site_key", ""))
            if site is not None:
                record["partner_id"] = site.partner
                record["channel"] = site.channel
        if not record.get("advertiser_id") and record.get("campaign_id"):
            campaign = snapshot.campaigns.get(record["campaign_id"])
            if campaign is not None:
                record["advertiser_id"] = campaign.advertiser_id
        return None

    return put_site

"""put_site: partner and channel from the catalog entry of the site the hit names, and the
advertiser from the campaign. put_click, later, overrides these with the click's for events
that came through a tracked link."""

from __future__ import annotations

from app.catalog.cache import CatalogCache
from app.ingest.enrich.pipeline import NO_DROPS, Drops, Step
from app.ingest.record import Record


def make_put_site(catalog: CatalogCache) -> Step:
    def put_site(records: list[Record]) -> Drops:
        # One snapshot for the slice: the refresher swaps it whole, never edits it.
        snapshot = catalog.snapshot
        sites, campaigns = snapshot.sites, snapshot.campaigns
        for record in records:
            if not record.get("partner_id"):
                site = sites.get(record.get("site_key", ""))
                if site is not None:
                    record["partner_id"] = site.partner
                    record["channel"] = site.channel
            if not record.get("advertiser_id") and record.get("campaign_id"):
                campaign = campaigns.get(record["campaign_id"])
                if campaign is not None:
                    record["advertiser_id"] = campaign.advertiser_id
        return NO_DROPS

    return put_site

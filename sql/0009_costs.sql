-- Media spend, imported from buyers' sheets (CSV) or pushed by a platform (API): one amount
-- per local calendar day and whatever breakdown the source has; '' = not broken down by that.
-- Each row is its own spend (rows are added up, never read as totals of finer rows).
-- Re-importing the same key replaces the amount: ReplacingMergeTree(version), read with FINAL.
CREATE TABLE IF NOT EXISTS costs
(
    day          Date,
    campaign_id  String,
    channel      String,
    partner_id   String,
    site_key     String,
    placement_id String,
    spend        Decimal(18, 2),
    currency     LowCardinality(String) DEFAULT 'CNY',
    source       LowCardinality(String),
    imported_by  String,
    imported_at  DateTime64(3, 'UTC'),
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (day, campaign_id, channel, partner_id, site_key, placement_id);

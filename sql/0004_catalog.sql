-- The catalog the tracking core needs: advertisers, campaigns, partner sites and tracked links.
-- Versioned rows: every change inserts a new row with a higher `version`; read with FINAL.
CREATE TABLE IF NOT EXISTS advertisers
(
    id              String,
    name            String,
    postback_secret String,
    status          LowCardinality(String) DEFAULT 'active',
    created_at      DateTime64(3, 'UTC'),
    updated_at      DateTime64(3, 'UTC'),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS campaigns
(
    id            String,
    advertiser_id String,
    name          String,
    status        LowCardinality(String) DEFAULT 'active',
    created_at    DateTime64(3, 'UTC'),
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS sites
(
    site_key   String,
    name       String,
    partner    String,
    domain     String,
    channel    LowCardinality(String),
    status     LowCardinality(String) DEFAULT 'active',
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY site_key;

CREATE TABLE IF NOT EXISTS links
(
    code         String,
    campaign_id  String,
    site_key     String,
    placement_id String,
    creative_id  String,
    landing_url  String,
    status       LowCardinality(String) DEFAULT 'active',
    created_at   DateTime64(3, 'UTC'),
    updated_at   DateTime64(3, 'UTC'),
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY code;

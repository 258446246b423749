-- The catalog grows to the whole business: partners, channels, placements and creatives;
-- campaigns get dates, budget, goal, time zone, frequency cap and targeting; sites may be an
-- advertiser's own; links get routing rules, split variants and a fallback.
-- JSON text columns hold structured settings the hit path compiles; SQL never reads into them.
CREATE TABLE IF NOT EXISTS partners
(
    id            String,
    name          String,
    contact_name  String,
    contact_email String,
    status        LowCardinality(String) DEFAULT 'active',
    created_at    DateTime64(3, 'UTC'),
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS channels
(
    id         String,
    name       String,
    type       LowCardinality(String),
    tags       Array(String),
    status     LowCardinality(String) DEFAULT 'active',
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- One channel per taxonomy type (app/data/channel_types.csv), so a site can name its type
-- at once; media buyers add their own channels (types plus tags) beside them.
INSERT INTO channels (id, name, type, tags, status, created_at, updated_at, version) VALUES
    ('national_portal', 'National portal', 'national_portal', [], 'active', now64(3), now64(3), 1),
    ('search', 'Search', 'search', [], 'active', now64(3), now64(3), 1),
    ('community', 'Community', 'community', [], 'active', now64(3), now64(3), 1),
    ('ecommerce', 'E-commerce', 'ecommerce', [], 'active', now64(3), now64(3), 1),
    ('download', 'Download', 'download', [], 'active', now64(3), now64(3), 1),
    ('game', 'Games', 'game', [], 'active', now64(3), now64(3), 1),
    ('literature', 'Literature', 'literature', [], 'active', now64(3), now64(3), 1),
    ('music', 'Music', 'music', [], 'active', now64(3), now64(3), 1),
    ('video', 'Video', 'video', [], 'active', now64(3), now64(3), 1),
    ('dating', 'Dating', 'dating', [], 'active', now64(3), now64(3), 1),
    ('mobile', 'Mobile', 'mobile', [], 'active', now64(3), now64(3), 1),
    ('flash', 'Flash', 'flash', [], 'active', now64(3), now64(3), 1),
    ('finance', 'Finance', 'finance', [], 'active', now64(3), now64(3), 1),
    ('travel', 'Travel', 'travel', [], 'active', now64(3), now64(3), 1),
    ('blog', 'Blogs', 'blog', [], 'active', now64(3), now64(3), 1),
    ('forum', 'Forums', 'forum', [], 'active', now64(3), now64(3), 1),
    ('niche', 'Niche (interest sites)', 'niche', [], 'active', now64(3), now64(3), 1),
    ('local_portal', 'Local portal', 'local_portal', [], 'active', now64(3), now64(3), 1),
    ('campus', 'Campus', 'campus', [], 'active', now64(3), now64(3), 1),
    ('internet_cafe', 'Internet café', 'internet_cafe', [], 'active', now64(3), now64(3), 1),
    ('referral', 'Referral (shared links)', 'referral', [], 'active', now64(3), now64(3), 1),
    ('owned', 'Advertiser-owned', 'owned', [], 'active', now64(3), now64(3), 1);

CREATE TABLE IF NOT EXISTS placements
(
    id           String,
    site_key     String,
    name         String,
    position     String,
    width        UInt16,
    height       UInt16,
    campaign_ids Array(String),
    targeting    String,
    status       LowCardinality(String) DEFAULT 'active',
    created_at   DateTime64(3, 'UTC'),
    updated_at   DateTime64(3, 'UTC'),
    version      UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS creatives
(
    id          String,
    campaign_id String,
    name        String,
    kind        LowCardinality(String),
    landing_url String,
    width       UInt16,
    height      UInt16,
    image_url   String,
    text        String,
    html        String,
    weight      UInt32,
    status      LowCardinality(String) DEFAULT 'active',
    created_at  DateTime64(3, 'UTC'),
    updated_at  DateTime64(3, 'UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

ALTER TABLE campaigns
    ADD COLUMN IF NOT EXISTS start_date Nullable(Date),
    ADD COLUMN IF NOT EXISTS end_date Nullable(Date),
    ADD COLUMN IF NOT EXISTS budget Nullable(Decimal(18, 2)),
    ADD COLUMN IF NOT EXISTS currency LowCardinality(String) DEFAULT 'CNY',
    ADD COLUMN IF NOT EXISTS goal_event LowCardinality(String) DEFAULT 'order',
    ADD COLUMN IF NOT EXISTS timezone LowCardinality(String) DEFAULT 'Asia/Shanghai',
    ADD COLUMN IF NOT EXISTS frequency_cap UInt32 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS targeting String DEFAULT '{}';

ALTER TABLE sites
    ADD COLUMN IF NOT EXISTS advertiser_id String DEFAULT '';

ALTER TABLE links
    ADD COLUMN IF NOT EXISTS variants String DEFAULT '[]',
    ADD COLUMN IF NOT EXISTS rules String DEFAULT '[]',
    ADD COLUMN IF NOT EXISTS targeting String DEFAULT '{}',
    ADD COLUMN IF NOT EXISTS fallback_url String DEFAULT '';

-- Which routing rule and which split variant served a click, the visitor's region as
-- GB/T 2260 codes (stable where names vary) and carrier (from the ISP source).
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS province_code LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS city_code LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS route_rule LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS variant LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS isp LowCardinality(String) DEFAULT '';

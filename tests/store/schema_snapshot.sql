CREATE TABLE advertisers
(
    `id` String,
    `name` String,
    `postback_secret` String,
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE api_keys
(
    `id` String,
    `user_id` String,
    `name` String,
    `prefix` String,
    `last4` String,
    `key_hash` String,
    `revoked` Bool DEFAULT false,
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE audit_log
(
    `ts` DateTime64(3, 'UTC'),
    `actor` String,
    `actor_role` LowCardinality(String),
    `entity` LowCardinality(String),
    `entity_key` String,
    `action` LowCardinality(String),
    `before` String,
    `after` String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (entity, entity_key, ts)
SETTINGS index_granularity = 8192;

CREATE TABLE campaigns
(
    `id` String,
    `advertiser_id` String,
    `name` String,
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64,
    `start_date` Nullable(Date),
    `end_date` Nullable(Date),
    `budget` Nullable(Decimal(18, 2)),
    `currency` LowCardinality(String) DEFAULT 'CNY',
    `goal_event` LowCardinality(String) DEFAULT 'order',
    `timezone` LowCardinality(String) DEFAULT 'Asia/Shanghai',
    `frequency_cap` UInt32 DEFAULT 0,
    `targeting` String DEFAULT '{}'
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE channels
(
    `id` String,
    `name` String,
    `type` LowCardinality(String),
    `tags` Array(String),
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE costs
(
    `day` Date,
    `campaign_id` String,
    `channel` String,
    `partner_id` String,
    `site_key` String,
    `placement_id` String,
    `spend` Decimal(18, 2),
    `currency` LowCardinality(String) DEFAULT 'CNY',
    `source` LowCardinality(String),
    `imported_by` String,
    `imported_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (day, campaign_id, channel, partner_id, site_key, placement_id)
SETTINGS index_granularity = 8192;

CREATE TABLE creatives
(
    `id` String,
    `campaign_id` String,
    `name` String,
    `kind` LowCardinality(String),
    `landing_url` String,
    `width` UInt16,
    `height` UInt16,
    `image_url` String,
    `text` String,
    `html` String,
    `weight` UInt32,
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE daily_audience_counts
(
    `day` Date,
    `event_type` LowCardinality(String),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `province_code` LowCardinality(String),
    `city_code` LowCardinality(String),
    `device_type` LowCardinality(String),
    `events` UInt64,
    `orders` UInt64,
    `amount` Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, campaign_id, province_code, city_code, device_type, is_bot)
SETTINGS non_replicated_deduplication_window = 100000, index_granularity = 8192;

CREATE MATERIALIZED VIEW default.daily_audience_counts_mv TO default.daily_audience_counts
(
    `day` Date,
    `event_type` LowCardinality(String),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `province_code` LowCardinality(String),
    `city_code` LowCardinality(String),
    `device_type` LowCardinality(String),
    `events` UInt64,
    `orders` UInt64,
    `amount` Decimal(38, 2)
)
AS SELECT
    toDate(ts, 'Asia/Shanghai') AS day,
    event_type,
    is_bot,
    channel,
    partner_id,
    campaign_id,
    province_code,
    city_code,
    device_type,
    count() AS events,
    countIf((event_type = 'order') AND (order_status IN ('approved', ''))) AS orders,
    sumIf(amount, (event_type = 'order') AND (order_status IN ('approved', ''))) AS amount
FROM default.events
GROUP BY
    day,
    event_type,
    is_bot,
    channel,
    partner_id,
    campaign_id,
    province_code,
    city_code,
    device_type;

CREATE TABLE daily_counts
(
    `day` Date,
    `event_type` LowCardinality(String),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `events` UInt64,
    `orders` UInt64,
    `amount` Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, is_bot)
SETTINGS non_replicated_deduplication_window = 100000, index_granularity = 8192;

CREATE MATERIALIZED VIEW default.daily_counts_mv TO default.daily_counts
(
    `day` Date,
    `event_type` LowCardinality(String),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `events` UInt64,
    `orders` UInt64,
    `amount` Decimal(38, 2)
)
AS SELECT
    toDate(ts, 'Asia/Shanghai') AS day,
    event_type,
    is_bot,
    channel,
    partner_id,
    count() AS events,
    countIf((event_type = 'order') AND (order_status IN ('approved', ''))) AS orders,
    sumIf(amount, (event_type = 'order') AND (order_status IN ('approved', ''))) AS amount
FROM default.events
GROUP BY
    day,
    event_type,
    is_bot,
    channel,
    partner_id;

CREATE TABLE daily_source_counts
(
    `day` Date,
    `event_type` LowCardinality(String),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `placement_id` LowCardinality(String),
    `creative_id` LowCardinality(String),
    `link_code` LowCardinality(String),
    `events` UInt64,
    `orders` UInt64,
    `amount` Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, campaign_id, placement_id, creative_id, link_code, is_bot)
SETTINGS non_replicated_deduplication_window = 100000, index_granularity = 8192;

CREATE MATERIALIZED VIEW default.daily_source_counts_mv TO default.daily_source_counts
(
    `day` Date,
    `event_type` LowCardinality(String),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `placement_id` LowCardinality(String),
    `creative_id` LowCardinality(String),
    `link_code` LowCardinality(String),
    `events` UInt64,
    `orders` UInt64,
    `amount` Decimal(38, 2)
)
AS SELECT
    toDate(ts, 'Asia/Shanghai') AS day,
    event_type,
    is_bot,
    channel,
    partner_id,
    campaign_id,
    placement_id,
    creative_id,
    link_code,
    count() AS events,
    countIf((event_type = 'order') AND (order_status IN ('approved', ''))) AS orders,
    sumIf(amount, (event_type = 'order') AND (order_status IN ('approved', ''))) AS amount
FROM default.events
GROUP BY
    day,
    event_type,
    is_bot,
    channel,
    partner_id,
    campaign_id,
    placement_id,
    creative_id,
    link_code;

CREATE TABLE events
(
    `event_id` UUID,
    `event_type` LowCardinality(String),
    `event_name` LowCardinality(String),
    `ts` DateTime64(3, 'UTC'),
    `client_ts` Nullable(DateTime64(3, 'UTC')),
    `site_key` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `channel` LowCardinality(String),
    `advertiser_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `placement_id` LowCardinality(String),
    `creative_id` LowCardinality(String),
    `link_code` LowCardinality(String),
    `click_id` String,
    `visitor_id` String,
    `session_id` String,
    `pageview_id` String,
    `url` String,
    `referrer` String,
    `utm_source` LowCardinality(String),
    `utm_medium` LowCardinality(String),
    `utm_campaign` LowCardinality(String),
    `utm_term` String,
    `utm_content` String,
    `ip` String,
    `country_code` LowCardinality(String),
    `province` LowCardinality(String),
    `city` LowCardinality(String),
    `user_agent` String CODEC(ZSTD(3)),
    `browser` LowCardinality(String),
    `browser_version` LowCardinality(String),
    `os` LowCardinality(String),
    `os_version` LowCardinality(String),
    `device_type` LowCardinality(String),
    `is_bot` UInt8,
    `screen` LowCardinality(String),
    `language` LowCardinality(String),
    `duration_ms` UInt32,
    `order_id` String,
    `order_status` LowCardinality(String),
    `order_source` LowCardinality(String),
    `amount` Decimal(18, 2),
    `currency` LowCardinality(String),
    `props` Map(String, String),
    `province_code` LowCardinality(String) DEFAULT '',
    `city_code` LowCardinality(String) DEFAULT '',
    `route_rule` LowCardinality(String) DEFAULT '',
    `variant` LowCardinality(String) DEFAULT '',
    `isp` LowCardinality(String) DEFAULT '',
    `referrer_id` String DEFAULT '',
    INDEX idx_campaign campaign_id TYPE set(1000) GRANULARITY 4,
    INDEX idx_click click_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_order order_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_visitor visitor_id TYPE bloom_filter(0.01) GRANULARITY 4,
    INDEX idx_referrer referrer_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (site_key, toDate(ts), event_type, ts)
SETTINGS non_replicated_deduplication_window = 100000, index_granularity = 8192, min_bytes_for_wide_part = 134217728;

CREATE TABLE funnel_daily
(
    `funnel` LowCardinality(String),
    `dim` LowCardinality(String),
    `day` Date,
    `value` String,
    `entries` Array(UInt64),
    `gap_keys` Array(UInt64),
    `gap_counts` Array(UInt64),
    `computed_at` DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (funnel, dim, day, value)
SETTINGS index_granularity = 8192;

CREATE TABLE funnel_days
(
    `funnel` LowCardinality(String),
    `day` Date,
    `fingerprint` String,
    `computed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (funnel, day)
SETTINGS index_granularity = 8192;

CREATE TABLE links
(
    `code` String,
    `campaign_id` String,
    `site_key` String,
    `placement_id` String,
    `creative_id` String,
    `landing_url` String,
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64,
    `variants` String DEFAULT '[]',
    `rules` String DEFAULT '[]',
    `targeting` String DEFAULT '{}',
    `fallback_url` String DEFAULT ''
)
ENGINE = ReplacingMergeTree(version)
ORDER BY code
SETTINGS index_granularity = 8192;

CREATE TABLE partners
(
    `id` String,
    `name` String,
    `contact_name` String,
    `contact_email` String,
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE placements
(
    `id` String,
    `site_key` String,
    `name` String,
    `position` String,
    `width` UInt16,
    `height` UInt16,
    `campaign_ids` Array(String),
    `targeting` String,
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE ranking_snapshots
(
    `taken_for` Date,
    `window_days` UInt16,
    `dim` LowCardinality(String),
    `value` String,
    `rank` UInt32,
    `verdict` LowCardinality(String),
    `impressions` UInt64,
    `clicks` UInt64,
    `orders` UInt64,
    `conversion_rate` Nullable(Float64),
    `conversion_low` Float64,
    `conversion_high` Float64,
    `revenue` Decimal(18, 2),
    `spend` Nullable(Decimal(18, 2)),
    `computed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(taken_for)
ORDER BY (dim, window_days, taken_for, value)
SETTINGS index_granularity = 8192;

CREATE TABLE rejects
(
    `ts` DateTime64(3, 'UTC'),
    `reason` LowCardinality(String),
    `field` LowCardinality(String),
    `endpoint` LowCardinality(String),
    `site_key` String,
    `detail` String,
    `raw` String CODEC(ZSTD(3)),
    `ip` String,
    `user_agent` String CODEC(ZSTD(3))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (reason, ts)
TTL toDateTime(ts) + toIntervalDay(180)
SETTINGS non_replicated_deduplication_window = 100000, index_granularity = 8192;

CREATE TABLE schema_migrations
(
    `version` UInt32,
    `name` String,
    `applied_at` DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY version
SETTINGS index_granularity = 8192;

CREATE TABLE sessions
(
    `id_hash` String,
    `user_id` String,
    `csrf_secret` String,
    `created_at` DateTime64(3, 'UTC'),
    `expires_at` DateTime64(3, 'UTC'),
    `revoked` Bool DEFAULT false,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id_hash
TTL toDateTime(expires_at) + toIntervalDay(1)
SETTINGS index_granularity = 8192;

CREATE TABLE sites
(
    `site_key` String,
    `name` String,
    `partner` String,
    `domain` String,
    `channel` LowCardinality(String),
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64,
    `advertiser_id` String DEFAULT ''
)
ENGINE = ReplacingMergeTree(version)
ORDER BY site_key
SETTINGS index_granularity = 8192;

CREATE TABLE users
(
    `id` String,
    `username` String,
    `display_name` String,
    `role` LowCardinality(String),
    `partner_id` String DEFAULT '',
    `password_hash` String,
    `status` LowCardinality(String) DEFAULT 'active',
    `created_at` DateTime64(3, 'UTC'),
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

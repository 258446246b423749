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
    `orders` Int64,
    `amount` Decimal(18, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(18, 2),
    `refunds` Int64,
    `refund_amount` Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount, direct_orders, pending, pending_amount, refunds, refund_amount))
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
    `events` UInt64
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
    count() AS events
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

CREATE MATERIALIZED VIEW default.daily_audience_counts_orders_mv TO default.daily_audience_counts
(
    `day` Date,
    `event_type` String,
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `province_code` LowCardinality(String),
    `city_code` LowCardinality(String),
    `device_type` LowCardinality(String),
    `events` UInt64,
    `orders` Int64,
    `amount` Decimal(38, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(38, 2),
    `refunds` Int64,
    `refund_amount` Decimal(38, 2)
)
AS SELECT
    toDate(ts, 'Asia/Shanghai') AS day,
    'order' AS event_type,
    is_bot,
    channel,
    partner_id,
    campaign_id,
    province_code,
    city_code,
    device_type,
    toUInt64(0) AS events,
    sum(orders) AS orders,
    sum(amount) AS amount,
    sum(direct_orders) AS direct_orders,
    sum(pending) AS pending,
    sum(pending_amount) AS pending_amount,
    sum(refunds) AS refunds,
    sum(refund_amount) AS refund_amount
FROM default.order_changes
GROUP BY
    day,
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
    `orders` Int64,
    `amount` Decimal(18, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(18, 2),
    `refunds` Int64,
    `refund_amount` Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount, direct_orders, pending, pending_amount, refunds, refund_amount))
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
    `events` UInt64
)
AS SELECT
    toDate(ts, 'Asia/Shanghai') AS day,
    event_type,
    is_bot,
    channel,
    partner_id,
    count() AS events
FROM default.events
GROUP BY
    day,
    event_type,
    is_bot,
    channel,
    partner_id;

CREATE MATERIALIZED VIEW default.daily_counts_orders_mv TO default.daily_counts
(
    `day` Date,
    `event_type` String,
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `events` UInt64,
    `orders` Int64,
    `amount` Decimal(38, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(38, 2),
    `refunds` Int64,
    `refund_amount` Decimal(38, 2)
)
AS SELECT
    toDate(ts, 'Asia/Shanghai') AS day,
    'order' AS event_type,
    is_bot,
    channel,
    partner_id,
    toUInt64(0) AS events,
    sum(orders) AS orders,
    sum(amount) AS amount,
    sum(direct_orders) AS direct_orders,
    sum(pending) AS pending,
    sum(pending_amount) AS pending_amount,
    sum(refunds) AS refunds,
    sum(refund_amount) AS refund_amount
FROM default.order_changes
GROUP BY
    day,
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
    `orders` Int64,
    `amount` Decimal(18, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(18, 2),
    `refunds` Int64,
    `refund_amount` Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount, direct_orders, pending, pending_amount, refunds, refund_amount))
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
    `events` UInt64
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
    count() AS events
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

CREATE MATERIALIZED VIEW default.daily_source_counts_orders_mv TO default.daily_source_counts
(
    `day` Date,
    `event_type` String,
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `placement_id` LowCardinality(String),
    `creative_id` LowCardinality(String),
    `link_code` LowCardinality(String),
    `events` UInt64,
    `orders` Int64,
    `amount` Decimal(38, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(38, 2),
    `refunds` Int64,
    `refund_amount` Decimal(38, 2)
)
AS SELECT
    toDate(ts, 'Asia/Shanghai') AS day,
    'order' AS event_type,
    is_bot,
    channel,
    partner_id,
    campaign_id,
    placement_id,
    creative_id,
    link_code,
    toUInt64(0) AS events,
    sum(orders) AS orders,
    sum(amount) AS amount,
    sum(direct_orders) AS direct_orders,
    sum(pending) AS pending,
    sum(pending_amount) AS pending_amount,
    sum(refunds) AS refunds,
    sum(refund_amount) AS refund_amount
FROM default.order_changes
GROUP BY
    day,
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

CREATE TABLE order_changes
(
    `ts` DateTime64(3, 'UTC'),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `placement_id` LowCardinality(String),
    `creative_id` LowCardinality(String),
    `link_code` LowCardinality(String),
    `province_code` LowCardinality(String),
    `city_code` LowCardinality(String),
    `device_type` LowCardinality(String),
    `orders` Int64,
    `amount` Decimal(18, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(18, 2),
    `refunds` Int64,
    `refund_amount` Decimal(18, 2)
)
ENGINE = `Null`;

CREATE MATERIALIZED VIEW default.order_changes_mv TO default.order_changes
(
    `ts` DateTime64(3, 'UTC'),
    `is_bot` UInt8,
    `channel` String,
    `partner_id` String,
    `campaign_id` String,
    `placement_id` String,
    `creative_id` String,
    `link_code` String,
    `province_code` String,
    `city_code` String,
    `device_type` String,
    `orders` Int64,
    `amount` Decimal(18, 2),
    `direct_orders` Int64,
    `pending` Int64,
    `pending_amount` Decimal(18, 2),
    `refunds` Int64,
    `refund_amount` Decimal(18, 2)
)
AS SELECT
    s.1 AS ts,
    s.2 AS is_bot,
    s.3 AS channel,
    s.4 AS partner_id,
    s.5 AS campaign_id,
    s.6 AS placement_id,
    s.7 AS creative_id,
    s.8 AS link_code,
    s.9 AS province_code,
    s.10 AS city_code,
    s.11 AS device_type,
    (s.12) * toInt64((s.14) IN ('approved', '')) AS orders,
    if(((s.14) IN ('approved', '')), (s.12) * (s.15), toDecimal64(0, 2)) AS amount,
    (s.12) * toInt64(((s.14) IN ('approved', '')) AND ((s.13) = '')) AS direct_orders,
    (s.12) * toInt64((s.14) = 'pending') AS pending,
    if((s.14) = 'pending', (s.12) * (s.15), toDecimal64(0, 2)) AS pending_amount,
    (s.12) * toInt64((s.14) IN ('refunded', 'cancelled')) AS refunds,
    if(((s.14) IN ('refunded', 'cancelled')), (s.12) * (s.15), toDecimal64(0, 2)) AS refund_amount
FROM
(
    SELECT arrayJoin(arrayMap(st -> ((arraySort(r -> (r.2, r.1), st.2)[1]).2, (arraySort(r -> (r.2, r.1), st.2)[1]).7, (arraySort(r -> (r.2, r.1), st.2)[1]).9, (arraySort(r -> (r.2, r.1), st.2)[1]).10, (arraySort(r -> (r.2, r.1), st.2)[1]).11, (arraySort(r -> (r.2, r.1), st.2)[1]).12, (arraySort(r -> (r.2, r.1), st.2)[1]).13, (arraySort(r -> (r.2, r.1), st.2)[1]).14, (arraySort(r -> (r.2, r.1), st.2)[1]).15, (arraySort(r -> (r.2, r.1), st.2)[1]).16, (arraySort(r -> (r.2, r.1), st.2)[1]).17, st.1, (arraySort(r -> (r.2, r.1), st.2)[1]).8, (arrayReverseSort(r -> ((r.5) = 'postback', r.2, r.1), st.2)[1]).4, (arrayReverseSort(r -> ((r.5) = 'postback', (r.6) != 0, r.2, r.1), st.2)[1]).6), arrayFilter(st -> (length(st.2) > 0), [(toInt64(1), arrayConcat(old, new)), (toInt64(-1), old)]))) AS s
    FROM
    (
        SELECT
            b.new AS new,
            arrayFilter(r -> (NOT has(b.ids, r.1)), p.old) AS old
        FROM
        (
            SELECT
                if(advertiser_id != '', advertiser_id, site_key) AS scope,
                order_id,
                groupArray((event_id, ts, '', toString(order_status), toString(order_source), amount, is_bot, click_id, toString(channel), toString(partner_id), toString(campaign_id), toString(placement_id), toString(creative_id), toString(link_code), toString(province_code), toString(city_code), toString(device_type))) AS new,
                groupArray(event_id) AS ids
            FROM default.events
            WHERE (event_type = 'order') AND (order_id != '')
            GROUP BY
                scope,
                order_id
        ) AS b
        ANY LEFT JOIN
        (
            SELECT
                scope,
                order_id,
                groupArray((event_id, ts, '', toString(order_status), toString(order_source), amount, is_bot, click_id, toString(channel), toString(partner_id), toString(campaign_id), toString(placement_id), toString(creative_id), toString(link_code), toString(province_code), toString(city_code), toString(device_type))) AS old
            FROM default.stored_order_reports
            WHERE order_id IN (
                SELECT order_id
                FROM default.events
                WHERE (event_type = 'order') AND (order_id != '')
            )
            GROUP BY
                scope,
                order_id
        ) AS p ON (b.scope = p.scope) AND (b.order_id = p.order_id)
    )
);

CREATE MATERIALIZED VIEW default.order_changes_single_mv TO default.order_changes
(
    `ts` DateTime64(3, 'UTC'),
    `is_bot` UInt8,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `placement_id` LowCardinality(String),
    `creative_id` LowCardinality(String),
    `link_code` LowCardinality(String),
    `province_code` LowCardinality(String),
    `city_code` LowCardinality(String),
    `device_type` LowCardinality(String),
    `orders` LowCardinality(Int64),
    `amount` Decimal(18, 2),
    `direct_orders` Int64,
    `pending` LowCardinality(Int64),
    `pending_amount` Decimal(18, 2),
    `refunds` LowCardinality(Int64),
    `refund_amount` Decimal(18, 2)
)
AS SELECT
    ts,
    is_bot,
    channel,
    partner_id,
    campaign_id,
    placement_id,
    creative_id,
    link_code,
    province_code,
    city_code,
    device_type,
    toInt64(order_status IN ('approved', '')) AS orders,
    if((order_status IN ('approved', '')), o_amount, toDecimal64(0, 2)) AS amount,
    toInt64((order_status IN ('approved', '')) AND (click_id = '')) AS direct_orders,
    toInt64(order_status = 'pending') AS pending,
    if(order_status = 'pending', o_amount, toDecimal64(0, 2)) AS pending_amount,
    toInt64(order_status IN ('refunded', 'cancelled')) AS refunds,
    if((order_status IN ('refunded', 'cancelled')), o_amount, toDecimal64(0, 2)) AS refund_amount
FROM
(
    SELECT
        *,
        amount AS o_amount
    FROM default.events
    WHERE (event_type = 'order') AND (order_id = '')
);

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

CREATE VIEW default.stored_order_reports
(
    `scope` String,
    `order_id` String,
    `event_id` UUID,
    `ts` DateTime64(3, 'UTC'),
    `order_status` LowCardinality(String),
    `order_source` LowCardinality(String),
    `amount` Decimal(18, 2),
    `is_bot` UInt8,
    `click_id` String,
    `channel` LowCardinality(String),
    `partner_id` LowCardinality(String),
    `campaign_id` LowCardinality(String),
    `placement_id` LowCardinality(String),
    `creative_id` LowCardinality(String),
    `link_code` LowCardinality(String),
    `province_code` LowCardinality(String),
    `city_code` LowCardinality(String),
    `device_type` LowCardinality(String)
)
AS SELECT
    if(advertiser_id != '', advertiser_id, site_key) AS scope,
    order_id,
    event_id,
    ts,
    order_status,
    order_source,
    amount,
    is_bot,
    click_id,
    channel,
    partner_id,
    campaign_id,
    placement_id,
    creative_id,
    link_code,
    province_code,
    city_code,
    device_type
FROM default.events
WHERE (event_type = 'order') AND (order_id != '');

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

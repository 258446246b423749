-- Rollups the query layer reads instead of raw events when they cover a question (see
-- app/attribution/counts.py and app/rollups/funnels.py); the raw path stays the reference.
-- Days are calendar days in Asia/Shanghai, the default report zone: a report in another
-- zone reads raw events.

-- Event counts per day, summed by materialized views on insert, in three tables of growing
-- detail: a count reads the smallest one that has every column it splits or filters by
-- (app/attribution/counts.py). Orders and amount count approved (or status-less) orders
-- only, as every report does. The deduplication window makes a replayed insert (same token)
-- skip these tables too. Each table is filled from the events stored before this migration
-- (migrations run before the loader starts).

-- Per channel and partner (also the rollup job's per-day change detector).
CREATE TABLE IF NOT EXISTS daily_counts
(
    day           Date,
    event_type    LowCardinality(String),
    is_bot        UInt8,
    channel       LowCardinality(String),
    partner_id    LowCardinality(String),
    events        UInt64,
    orders        UInt64,
    amount        Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, is_bot)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_counts_mv TO daily_counts AS
SELECT
    toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id,
    count() AS events,
    countIf(event_type = 'order' AND order_status IN ('approved', '')) AS orders,
    sumIf(amount, event_type = 'order' AND order_status IN ('approved', '')) AS amount
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id;

INSERT INTO daily_counts
SELECT
    toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id,
    count() AS events,
    countIf(event_type = 'order' AND order_status IN ('approved', '')) AS orders,
    sumIf(amount, event_type = 'order' AND order_status IN ('approved', '')) AS amount
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id;

-- Per campaign, placement, creative and link.
CREATE TABLE IF NOT EXISTS daily_source_counts
(
    day           Date,
    event_type    LowCardinality(String),
    is_bot        UInt8,
    channel       LowCardinality(String),
    partner_id    LowCardinality(String),
    campaign_id   LowCardinality(String),
    placement_id  LowCardinality(String),
    creative_id   LowCardinality(String),
    link_code     LowCardinality(String),
    events        UInt64,
    orders        UInt64,
    amount        Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, campaign_id, placement_id, creative_id, link_code, is_bot)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_source_counts_mv TO daily_source_counts AS
SELECT
    toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code,
    count() AS events,
    countIf(event_type = 'order' AND order_status IN ('approved', '')) AS orders,
    sumIf(amount, event_type = 'order' AND order_status IN ('approved', '')) AS amount
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code;

INSERT INTO daily_source_counts
SELECT
    toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code,
    count() AS events,
    countIf(event_type = 'order' AND order_status IN ('approved', '')) AS orders,
    sumIf(amount, event_type = 'order' AND order_status IN ('approved', '')) AS amount
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code;

-- Per campaign, province, city and device type.
CREATE TABLE IF NOT EXISTS daily_audience_counts
(
    day           Date,
    event_type    LowCardinality(String),
    is_bot        UInt8,
    channel       LowCardinality(String),
    partner_id    LowCardinality(String),
    campaign_id   LowCardinality(String),
    province_code LowCardinality(String),
    city_code     LowCardinality(String),
    device_type   LowCardinality(String),
    events        UInt64,
    orders        UInt64,
    amount        Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, campaign_id, province_code, city_code, device_type, is_bot)
SETTINGS non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_audience_counts_mv TO daily_audience_counts AS
SELECT
    toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type,
    count() AS events,
    countIf(event_type = 'order' AND order_status IN ('approved', '')) AS orders,
    sumIf(amount, event_type = 'order' AND order_status IN ('approved', '')) AS amount
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type;

INSERT INTO daily_audience_counts
SELECT
    toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type,
    count() AS events,
    countIf(event_type = 'order' AND order_status IN ('approved', '')) AS orders,
    sumIf(amount, event_type = 'order' AND order_status IN ('approved', '')) AS amount
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type;

-- Funnel entries per entry day, funnel and one dimension's value (dim '' = no split),
-- recomputed whole days at a time by the rollup job: every row of one computation of a day
-- carries that computation's time, `funnel_days` names the day's current computation, and
-- older computations are deleted once the new one is named.
CREATE TABLE IF NOT EXISTS funnel_daily
(
    funnel      LowCardinality(String),
    dim         LowCardinality(String),
    day         Date,
    value       String,
    entries     Array(UInt64),
    gap_keys    Array(UInt64),
    gap_counts  Array(UInt64),
    computed_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (funnel, dim, day, value);

-- Per funnel and entry day: when it was last computed, and the event counts of the days its
-- chains can reach at that time (a change there makes the day due again).
CREATE TABLE IF NOT EXISTS funnel_days
(
    funnel      LowCardinality(String),
    day         Date,
    fingerprint String,
    computed_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (funnel, day);

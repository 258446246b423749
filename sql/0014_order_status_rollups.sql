-- The daily counts tables count orders by their latest status (app/attribution/orders.py):
-- an order counts once, on the day and the attribution of its first event; approved orders
-- are orders and revenue, pending orders and refunded/cancelled ones (refunds) are kept
-- apart. A status change nets out at insert, without rescanning: for every order an insert
-- touches, `order_changes` receives the order's state after the insert (+1) and, when it
-- had earlier events, its state before (-1), and the tables sum them. The tables are
-- derived data: they are rebuilt here from the events (migrations run before the loader).

DROP VIEW IF EXISTS daily_counts_mv;
DROP VIEW IF EXISTS daily_source_counts_mv;
DROP VIEW IF EXISTS daily_audience_counts_mv;
DROP TABLE IF EXISTS daily_counts;
DROP TABLE IF EXISTS daily_source_counts;
DROP TABLE IF EXISTS daily_audience_counts;

-- Per channel and partner (also the rollup job's per-day change detector).
CREATE TABLE IF NOT EXISTS daily_counts
(
    day            Date,
    event_type     LowCardinality(String),
    is_bot         UInt8,
    channel        LowCardinality(String),
    partner_id     LowCardinality(String),
    events         UInt64,
    orders         Int64,
    amount         Decimal(18, 2),
    direct_orders  Int64,
    pending        Int64,
    pending_amount Decimal(18, 2),
    refunds        Int64,
    refund_amount  Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount, direct_orders, pending, pending_amount, refunds, refund_amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, is_bot)
SETTINGS non_replicated_deduplication_window = 100000;

-- Per campaign, placement, creative and link.
CREATE TABLE IF NOT EXISTS daily_source_counts
(
    day            Date,
    event_type     LowCardinality(String),
    is_bot         UInt8,
    channel        LowCardinality(String),
    partner_id     LowCardinality(String),
    campaign_id    LowCardinality(String),
    placement_id   LowCardinality(String),
    creative_id    LowCardinality(String),
    link_code      LowCardinality(String),
    events         UInt64,
    orders         Int64,
    amount         Decimal(18, 2),
    direct_orders  Int64,
    pending        Int64,
    pending_amount Decimal(18, 2),
    refunds        Int64,
    refund_amount  Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount, direct_orders, pending, pending_amount, refunds, refund_amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, campaign_id, placement_id, creative_id, link_code, is_bot)
SETTINGS non_replicated_deduplication_window = 100000;

-- Per campaign, province, city and device type.
CREATE TABLE IF NOT EXISTS daily_audience_counts
(
    day            Date,
    event_type     LowCardinality(String),
    is_bot         UInt8,
    channel        LowCardinality(String),
    partner_id     LowCardinality(String),
    campaign_id    LowCardinality(String),
    province_code  LowCardinality(String),
    city_code      LowCardinality(String),
    device_type    LowCardinality(String),
    events         UInt64,
    orders         Int64,
    amount         Decimal(18, 2),
    direct_orders  Int64,
    pending        Int64,
    pending_amount Decimal(18, 2),
    refunds        Int64,
    refund_amount  Decimal(18, 2)
)
ENGINE = SummingMergeTree((events, orders, amount, direct_orders, pending, pending_amount, refunds, refund_amount))
PARTITION BY toYYYYMM(day)
ORDER BY (day, event_type, channel, partner_id, campaign_id, province_code, city_code, device_type, is_bot)
SETTINGS non_replicated_deduplication_window = 100000;

-- Events per day and value: every event once, on its own day (orders' figures come below).
CREATE MATERIALIZED VIEW IF NOT EXISTS daily_counts_mv TO daily_counts AS
SELECT toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id,
    count() AS events
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_source_counts_mv TO daily_source_counts AS
SELECT toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code,
    count() AS events
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_audience_counts_mv TO daily_audience_counts AS
SELECT toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type,
    count() AS events
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type;

-- Signed changes of orders' states (nothing is stored: the views below sum them into the
-- daily tables). One row is one order's state, +1 or -1, on its first event's day and values.
CREATE TABLE IF NOT EXISTS order_changes
(
    ts             DateTime64(3, 'UTC'),
    is_bot         UInt8,
    channel        LowCardinality(String),
    partner_id     LowCardinality(String),
    campaign_id    LowCardinality(String),
    placement_id   LowCardinality(String),
    creative_id    LowCardinality(String),
    link_code      LowCardinality(String),
    province_code  LowCardinality(String),
    city_code      LowCardinality(String),
    device_type    LowCardinality(String),
    orders         Int64,
    amount         Decimal(18, 2),
    direct_orders  Int64,
    pending        Int64,
    pending_amount Decimal(18, 2),
    refunds        Int64,
    refund_amount  Decimal(18, 2)
)
ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_counts_orders_mv TO daily_counts AS
SELECT toDate(ts, 'Asia/Shanghai') AS day, 'order' AS event_type, is_bot, channel, partner_id,
    toUInt64(0) AS events, sum(orders) AS orders, sum(amount) AS amount,
    sum(direct_orders) AS direct_orders, sum(pending) AS pending,
    sum(pending_amount) AS pending_amount, sum(refunds) AS refunds,
    sum(refund_amount) AS refund_amount
FROM order_changes
GROUP BY day, is_bot, channel, partner_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_source_counts_orders_mv TO daily_source_counts AS
SELECT toDate(ts, 'Asia/Shanghai') AS day, 'order' AS event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code,
    toUInt64(0) AS events, sum(orders) AS orders, sum(amount) AS amount,
    sum(direct_orders) AS direct_orders, sum(pending) AS pending,
    sum(pending_amount) AS pending_amount, sum(refunds) AS refunds,
    sum(refund_amount) AS refund_amount
FROM order_changes
GROUP BY day, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code;

CREATE MATERIALIZED VIEW IF NOT EXISTS daily_audience_counts_orders_mv TO daily_audience_counts AS
SELECT toDate(ts, 'Asia/Shanghai') AS day, 'order' AS event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type,
    toUInt64(0) AS events, sum(orders) AS orders, sum(amount) AS amount,
    sum(direct_orders) AS direct_orders, sum(pending) AS pending,
    sum(pending_amount) AS pending_amount, sum(refunds) AS refunds,
    sum(refund_amount) AS refund_amount
FROM order_changes
GROUP BY day, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type;

-- The stored reports of orders that have an order id (a view, so that the view below reads
-- the table rather than the block being inserted).
CREATE VIEW IF NOT EXISTS stored_order_reports AS
SELECT if(advertiser_id != '', advertiser_id, site_key) AS scope, order_id, event_id, ts,
    order_status, order_source, amount, is_bot, click_id, channel, partner_id, campaign_id,
    placement_id, creative_id, link_code, province_code, city_code, device_type
FROM events
WHERE event_type = 'order' AND order_id != '';

-- Per order an insert touches: its state over its stored reports and the new ones (+1), and
-- over the stored ones alone (-1, when there are any). The stored reports are read without
-- the inserted ones, whether or not the engine has written them yet. A state (see app/attribution/orders.py):
-- the first report gives time and values; the newest report (signed first) the status; the
-- newest report with an amount (signed ones first) the amount.
CREATE MATERIALIZED VIEW IF NOT EXISTS order_changes_mv TO order_changes AS
SELECT
    s.1 AS ts, s.2 AS is_bot, s.3 AS channel, s.4 AS partner_id, s.5 AS campaign_id,
    s.6 AS placement_id, s.7 AS creative_id, s.8 AS link_code, s.9 AS province_code,
    s.10 AS city_code, s.11 AS device_type,
    s.12 * toInt64(s.14 IN ('approved', '')) AS orders,
    if(s.14 IN ('approved', ''), s.12 * s.15, toDecimal64(0, 2)) AS amount,
    s.12 * toInt64(s.14 IN ('approved', '') AND s.13 = '') AS direct_orders,
    s.12 * toInt64(s.14 = 'pending') AS pending,
    if(s.14 = 'pending', s.12 * s.15, toDecimal64(0, 2)) AS pending_amount,
    s.12 * toInt64(s.14 IN ('refunded', 'cancelled')) AS refunds,
    if(s.14 IN ('refunded', 'cancelled'), s.12 * s.15, toDecimal64(0, 2)) AS refund_amount
FROM (
    SELECT arrayJoin(arrayMap(
        st -> (
            arraySort(r -> (r.2, r.1), st.2)[1].2,
            arraySort(r -> (r.2, r.1), st.2)[1].7,
            arraySort(r -> (r.2, r.1), st.2)[1].9,
            arraySort(r -> (r.2, r.1), st.2)[1].10,
            arraySort(r -> (r.2, r.1), st.2)[1].11,
            arraySort(r -> (r.2, r.1), st.2)[1].12,
            arraySort(r -> (r.2, r.1), st.2)[1].13,
            arraySort(r -> (r.2, r.1), st.2)[1].14,
            arraySort(r -> (r.2, r.1), st.2)[1].15,
            arraySort(r -> (r.2, r.1), st.2)[1].16,
            arraySort(r -> (r.2, r.1), st.2)[1].17,
            st.1,
            arraySort(r -> (r.2, r.1), st.2)[1].8,
            arrayReverseSort(r -> (r.5 = 'postback', r.2, r.1), st.2)[1].4,
            arrayReverseSort(r -> (r.5 = 'postback', r.6 != 0, r.2, r.1), st.2)[1].6
        ),
        arrayFilter(st -> length(st.2) > 0, [
            (toInt64(1), arrayConcat(old, new)),
            (toInt64(-1), old)
        ])
    )) AS s
    FROM (
        SELECT b.new AS new,
               arrayFilter(r -> NOT has(b.ids, r.1), p.old) AS old
        FROM (
            SELECT if(advertiser_id != '', advertiser_id, site_key) AS scope, order_id,
                groupArray((event_id, ts, '', toString(order_status),
                    toString(order_source), amount, is_bot, click_id, toString(channel),
                    toString(partner_id), toString(campaign_id), toString(placement_id),
                    toString(creative_id), toString(link_code), toString(province_code),
                    toString(city_code), toString(device_type))) AS new,
                groupArray(event_id) AS ids
            FROM events
            WHERE event_type = 'order' AND order_id != ''
            GROUP BY scope, order_id
        ) AS b
        LEFT ANY JOIN (
            SELECT scope, order_id,
                groupArray((event_id, ts, '', toString(order_status),
                    toString(order_source), amount, is_bot, click_id, toString(channel),
                    toString(partner_id), toString(campaign_id), toString(placement_id),
                    toString(creative_id), toString(link_code), toString(province_code),
                    toString(city_code), toString(device_type))) AS old
            FROM stored_order_reports
            WHERE order_id IN (SELECT order_id FROM events WHERE event_type = 'order' AND order_id != '')
            GROUP BY scope, order_id
        ) AS p ON b.scope = p.scope AND b.order_id = p.order_id
    )
);

-- An order without an order id is one report, an order of its own.
CREATE MATERIALIZED VIEW IF NOT EXISTS order_changes_single_mv TO order_changes AS
SELECT ts, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code,
    province_code, city_code, device_type,
    toInt64(order_status IN ('approved', '')) AS orders,
    if(order_status IN ('approved', ''), o_amount, toDecimal64(0, 2)) AS amount,
    toInt64(order_status IN ('approved', '') AND click_id = '') AS direct_orders,
    toInt64(order_status = 'pending') AS pending,
    if(order_status = 'pending', o_amount, toDecimal64(0, 2)) AS pending_amount,
    toInt64(order_status IN ('refunded', 'cancelled')) AS refunds,
    if(order_status IN ('refunded', 'cancelled'), o_amount, toDecimal64(0, 2)) AS refund_amount
-- (o_amount, not amount: the `amount` alias above would shadow the column.)
FROM (SELECT *, amount AS o_amount FROM events WHERE event_type = 'order' AND order_id = '');

-- Fill the tables from the events stored before this migration: every event's count, and
-- every order's state (+1, through the views above).
INSERT INTO daily_counts (day, event_type, is_bot, channel, partner_id, events)
SELECT toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, count()
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id;

INSERT INTO daily_source_counts (day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code, events)
SELECT toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code, count()
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code;

INSERT INTO daily_audience_counts (day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type, events)
SELECT toDate(ts, 'Asia/Shanghai') AS day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type, count()
FROM events
GROUP BY day, event_type, is_bot, channel, partner_id, campaign_id, province_code, city_code, device_type;

INSERT INTO order_changes
SELECT ts, is_bot, channel, partner_id, campaign_id, placement_id, creative_id, link_code,
    province_code, city_code, device_type,
    toInt64(order_status IN ('approved', '')) AS orders,
    if(order_status IN ('approved', ''), o_amount, toDecimal64(0, 2)) AS amount,
    toInt64(order_status IN ('approved', '') AND click_id = '') AS direct_orders,
    toInt64(order_status = 'pending') AS pending,
    if(order_status = 'pending', o_amount, toDecimal64(0, 2)) AS pending_amount,
    toInt64(order_status IN ('refunded', 'cancelled')) AS refunds,
    if(order_status IN ('refunded', 'cancelled'), o_amount, toDecimal64(0, 2)) AS refund_amount
FROM (
    SELECT * EXCEPT (o_scope, o_status, o_first) REPLACE (o_status AS order_status)
    FROM (
        SELECT *, if(advertiser_id != '', advertiser_id, site_key) AS o_scope,
            argMax(order_status, (order_source = 'postback', ts, event_id)) OVER o AS o_status,
            argMax(amount, (order_source = 'postback', amount != 0, ts, event_id)) OVER o AS o_amount,
            row_number() OVER (PARTITION BY o_scope, order_id ORDER BY ts, event_id) AS o_first
        FROM events
        WHERE event_type = 'order' AND order_id != ''
        WINDOW o AS (PARTITION BY o_scope, order_id)
    )
    WHERE o_first = 1
    UNION ALL
    SELECT *, amount AS o_amount FROM events WHERE event_type = 'order' AND order_id = ''
);

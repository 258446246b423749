-- Hits that were not accepted into `events`, with the typed reason and the offending field.
CREATE TABLE IF NOT EXISTS rejects
(
    ts         DateTime64(3, 'UTC'),
    reason     LowCardinality(String),
    field      LowCardinality(String),
    endpoint   LowCardinality(String),
    site_key   String,
    detail     String,
    raw        String CODEC(ZSTD(3)),
    ip         String,
    user_agent String CODEC(ZSTD(3))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (reason, ts)
TTL toDateTime(ts) + INTERVAL 180 DAY
SETTINGS non_replicated_deduplication_window = 100000;

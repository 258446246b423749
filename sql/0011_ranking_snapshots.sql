-- The scoreboard as it stood, taken once a day by the rollup job for the trailing week up to
-- the day before (app/rollups/rankings.py), so rank changes can be read over time: how a
-- partner moved from "not enough data" to "winner" as the test budget was spent.
CREATE TABLE IF NOT EXISTS ranking_snapshots
(
    taken_for       Date,
    window_days     UInt16,
    dim             LowCardinality(String),
    value           String,
    rank            UInt32,
    verdict         LowCardinality(String),
    impressions     UInt64,
    clicks          UInt64,
    orders          UInt64,
    conversion_rate Nullable(Float64),
    conversion_low  Float64,
    conversion_high Float64,
    revenue         Decimal(18, 2),
    spend           Nullable(Decimal(18, 2)),
    computed_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(taken_for)
ORDER BY (dim, window_days, taken_for, value);

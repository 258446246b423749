-- Who changed what in the catalog and the accounts, and when: one row per change, with the
-- entity as JSON before and after (secrets and password hashes redacted by the writer).
CREATE TABLE IF NOT EXISTS audit_log
(
    ts          DateTime64(3, 'UTC'),
    actor       String,
    actor_role  LowCardinality(String),
    entity      LowCardinality(String),
    entity_key  String,
    action      LowCardinality(String),
    before      String,
    after       String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (entity, entity_key, ts);

-- Accounts: users with a role (and a partner for role "partner"), their API keys, and login
-- sessions. Versioned rows: every change inserts a row with a higher `version`; read with FINAL.
-- Secrets are stored only as hashes: argon2id for passwords, sha256 for API keys and session
-- tokens (both 32 random bytes, so a fast hash is enough).
CREATE TABLE IF NOT EXISTS users
(
    id            String,
    username      String,
    display_name  String,
    role          LowCardinality(String),
    partner_id    String DEFAULT '',
    password_hash String,
    status        LowCardinality(String) DEFAULT 'active',
    created_at    DateTime64(3, 'UTC'),
    updated_at    DateTime64(3, 'UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

CREATE TABLE IF NOT EXISTS api_keys
(
    id         String,
    user_id    String,
    name       String,
    prefix     String,
    last4      String,
    key_hash   String,
    revoked    Bool DEFAULT false,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    version    UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- A session row is kept a day past its expiry, then dropped by the TTL.
CREATE TABLE IF NOT EXISTS sessions
(
    id_hash     String,
    user_id     String,
    csrf_secret String,
    created_at  DateTime64(3, 'UTC'),
    expires_at  DateTime64(3, 'UTC'),
    revoked     Bool DEFAULT false,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id_hash
TTL toDateTime(expires_at) + INTERVAL 1 DAY;

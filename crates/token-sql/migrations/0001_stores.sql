-- tokenkit schema 1: API keys, OAuth clients, refresh-token families.
-- One text for SQLite and PostgreSQL. Every table is prefixed `tokenkit_` so that
-- it can share a database with the host application's tables. Hashes are
-- lowercase hex of SHA-256 (or HMAC-SHA-256 with the pepper); no secret is stored.
-- `COLLATE "C"` (byte order, for keyset pages in the same order on both engines)
-- is PostgreSQL's; on SQLite, whose default collation is already byte order, the
-- migration runner leaves it out.

CREATE TABLE tokenkit_api_keys (
    id                TEXT COLLATE "C" PRIMARY KEY,
    hash              TEXT NOT NULL UNIQUE,
    hint              TEXT NOT NULL,
    name              TEXT NOT NULL,
    owner             TEXT,
    tenant            TEXT,
    scopes            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT,
    status            TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'rotated')),
    revoked_at        BIGINT,
    revoked_reason    TEXT,
    successor         TEXT,
    grace_end         BIGINT,
    networks          TEXT NOT NULL,
    rate_limit        TEXT,
    credits_remaining BIGINT CHECK (credits_remaining >= 0),
    refill_amount     BIGINT CHECK (refill_amount >= 1),
    refill_period     TEXT CHECK (refill_period IN ('daily', 'monthly')),
    refill_next_at    BIGINT,
    credits_from      TEXT,
    metadata          TEXT NOT NULL,
    last_used_at      BIGINT,
    version           BIGINT NOT NULL
);
-- Listings are keyset pages in (created_at, id) order, overall and per tenant.
CREATE INDEX tokenkit_api_keys_order ON tokenkit_api_keys (created_at, id);
CREATE INDEX tokenkit_api_keys_tenant ON tokenkit_api_keys (tenant, created_at, id);
CREATE INDEX tokenkit_api_keys_owner ON tokenkit_api_keys (owner, created_at, id);

CREATE TABLE tokenkit_clients (
    client_id      TEXT PRIMARY KEY,
    secret_hash    TEXT NOT NULL,
    name           TEXT NOT NULL,
    allowed_scopes TEXT NOT NULL,
    tenant         TEXT,
    created_at     BIGINT NOT NULL
);

-- A family is every refresh token descended from one grant; it ends at expires_at
-- (rotation never extends it), after which its rows may be pruned.
CREATE TABLE tokenkit_refresh_families (
    family     TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE tokenkit_refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family     TEXT NOT NULL REFERENCES tokenkit_refresh_families (family) ON DELETE CASCADE,
    subject    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    tenant     TEXT,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used       BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX tokenkit_refresh_tokens_family ON tokenkit_refresh_tokens (family);
CREATE INDEX tokenkit_refresh_families_expiry ON tokenkit_refresh_families (expires_at);

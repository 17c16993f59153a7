-- tokenkit schema 2: the signing keyring, shared by every process on the database.
-- Private keys are sealed (AES-256-GCM under the operator's seal key, the key id as
-- associated data); the database never holds one in clear. Public keys are in clear,
-- for the JWKS.

CREATE TABLE tokenkit_signing_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    public_jwk     TEXT,
    sealed_private TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('active', 'retired')),
    created_at     BIGINT NOT NULL,
    retire_at      BIGINT
);
-- At most one active key.
CREATE UNIQUE INDEX tokenkit_signing_keys_one_active
    ON tokenkit_signing_keys (state) WHERE state = 'active';

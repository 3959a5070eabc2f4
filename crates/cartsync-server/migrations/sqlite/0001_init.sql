-- cartsync SQLite schema, version 1. Owned by store/sqlite.rs, applied in
-- order on start; PRAGMA user_version records the last applied migration.

-- One row per cart. `snapshot` is the core Cart as JSON; `version` mirrors
-- snapshot.version for conditional updates. `base`/`base_version` are the
-- replay base: the empty cart, or the snapshot right after the last merge.
CREATE TABLE carts (
    id           INTEGER PRIMARY KEY,
    owner        TEXT,
    state        TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'merged', 'closed')),
    merged_into  INTEGER REFERENCES carts (id),
    order_id     TEXT,
    version      INTEGER NOT NULL,
    snapshot     TEXT    NOT NULL,
    quotes       TEXT    NOT NULL DEFAULT '[]',
    base_version INTEGER NOT NULL DEFAULT 0,
    base         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
-- At most one open account cart per user.
CREATE UNIQUE INDEX carts_open_owner ON carts (owner) WHERE owner IS NOT NULL AND state = 'open';
CREATE INDEX carts_anonymous_age ON carts (updated_at) WHERE owner IS NULL;

-- Bearer tokens of carts, stored as SHA-256 only. A cart may have several
-- (an account cart gets one per attach).
CREATE TABLE cart_tokens (
    hash       BLOB    PRIMARY KEY,
    cart_id    INTEGER NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX cart_tokens_cart ON cart_tokens (cart_id);

-- The event log: one row per applied mutation (kind 'mutation') or merge.
CREATE TABLE events (
    cart_id     INTEGER NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('mutation', 'merge')),
    mutation_id TEXT,
    body        TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (cart_id, version)
) WITHOUT ROWID;

-- Idempotency records: the first command and result of each mutation id.
CREATE TABLE idempotency (
    cart_id     INTEGER NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    mutation_id TEXT    NOT NULL,
    record      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (cart_id, mutation_id)
) WITHOUT ROWID;
CREATE INDEX idempotency_age ON idempotency (created_at);

-- Orders, one per (cart, checkout Idempotency-Key).
CREATE TABLE orders (
    id              TEXT    PRIMARY KEY,
    cart_id         INTEGER NOT NULL REFERENCES carts (id),
    idempotency_key TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    UNIQUE (cart_id, idempotency_key)
);

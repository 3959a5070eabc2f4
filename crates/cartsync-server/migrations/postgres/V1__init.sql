-- cartsync PostgreSQL schema, version 1. Owned by store/postgres, applied on
-- start by refinery (table refinery_schema_history) under an advisory lock,
-- so instances starting together migrate once.

-- One row per cart. `snapshot` is the core Cart as JSON text; `version`
-- mirrors snapshot.version for conditional updates; `revision` moves on
-- every write to the row (a repair rewrites a snapshot without moving its
-- version), so a commit decided on an in-process copy can require exactly
-- the state it decided on. `base`/`base_version` are the replay base: the
-- empty cart, or the snapshot right after the last merge.
CREATE TABLE carts (
    id           BIGSERIAL PRIMARY KEY,
    owner        TEXT,
    state        TEXT   NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'merged', 'closed')),
    merged_into  BIGINT REFERENCES carts (id),
    order_id     TEXT,
    version      BIGINT NOT NULL,
    revision     BIGINT NOT NULL DEFAULT 1,
    snapshot     TEXT   NOT NULL,
    quotes       TEXT   NOT NULL DEFAULT '[]',
    base_version BIGINT NOT NULL DEFAULT 0,
    base         TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
-- At most one open account cart per user.
CREATE UNIQUE INDEX carts_open_owner ON carts (owner) WHERE owner IS NOT NULL AND state = 'open';
CREATE INDEX carts_anonymous_age ON carts (updated_at) WHERE owner IS NULL;
-- The recovery worker pages through carts changed since its last pass.
CREATE INDEX carts_updated ON carts (updated_at, id);
CREATE INDEX carts_merged_into ON carts (merged_into) WHERE merged_into IS NOT NULL;

-- Bearer tokens of carts, stored as SHA-256 only.
CREATE TABLE cart_tokens (
    hash       BYTEA  PRIMARY KEY,
    cart_id    BIGINT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX cart_tokens_cart ON cart_tokens (cart_id);

-- The event log: one row per applied mutation (kind 'mutation') or merge.
CREATE TABLE events (
    cart_id     BIGINT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    kind        TEXT   NOT NULL CHECK (kind IN ('mutation', 'merge')),
    mutation_id UUID,
    body        TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (cart_id, version)
);

-- Idempotency records: the first command and result of each mutation id.
-- The primary key is what makes a retried id impossible to apply twice,
-- whatever the isolation level: a second insert of it fails the commit.
CREATE TABLE idempotency (
    cart_id     BIGINT NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    mutation_id UUID   NOT NULL,
    record      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (cart_id, mutation_id)
);
CREATE INDEX idempotency_age ON idempotency (created_at);

-- Orders, one per (cart, checkout Idempotency-Key).
CREATE TABLE orders (
    id              TEXT   PRIMARY KEY,
    cart_id         BIGINT NOT NULL REFERENCES carts (id),
    idempotency_key TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (cart_id, idempotency_key)
);

-- Stock levels of the demo inventory, shared by every instance. A
-- reservation is a conditional decrement: stock never goes below zero.
CREATE TABLE inventory (
    sku   TEXT    PRIMARY KEY,
    stock INTEGER NOT NULL CHECK (stock >= 0)
);

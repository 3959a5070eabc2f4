-- Checkout that commits (issue 13): an order's status and how long its
-- stock is held, the holds themselves, payment intents and the payment
-- provider's events. `orders.body` stays the order as created; its status
-- and payment are read from these columns and tables.
ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'pending_payment'
    CHECK (status IN ('pending_payment', 'paid', 'payment_failed', 'expired'));
ALTER TABLE orders ADD COLUMN hold_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
-- The recovery worker finds unpaid orders whose hold ran out.
CREATE INDEX orders_pending_hold ON orders (hold_until) WHERE status = 'pending_payment';

-- Units of a SKU an order holds. `held` while the order waits for payment
-- (the units are out of `inventory.stock`), `sold` once paid, `released`
-- once given back (payment failed, hold expired).
CREATE TABLE stock_holds (
    order_id TEXT    NOT NULL REFERENCES orders (id),
    sku      TEXT    NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    state    TEXT    NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'sold', 'released')),
    PRIMARY KEY (order_id, sku)
) WITHOUT ROWID;

-- One intent per order, created with an idempotency key derived from the
-- checkout's Idempotency-Key: the unique key makes a retried checkout find
-- the intent it already has. `body` is the intent as created; `status` is
-- where it is now.
CREATE TABLE payment_intents (
    id              TEXT    PRIMARY KEY,
    provider        TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    order_id        TEXT    NOT NULL UNIQUE REFERENCES orders (id),
    reference       TEXT,
    status          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (provider, idempotency_key)
);
CREATE UNIQUE INDEX payment_intents_reference ON payment_intents (provider, reference) WHERE reference IS NOT NULL;

-- Provider events, once each: a resent event is answered from its row.
CREATE TABLE payment_events (
    provider    TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    signed_at   INTEGER NOT NULL,
    body_hash   BLOB    NOT NULL,
    intent_id   TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
) WITHOUT ROWID;

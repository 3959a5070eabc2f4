-- The recovery worker pages through carts changed since its last pass, in
-- (updated_at, id) order, instead of verifying every cart every pass.
CREATE INDEX carts_updated ON carts (updated_at, id);

-- Stock levels of the demo inventory (catalog/stock.rs), shared by every
-- server process on this database and surviving restarts. Seeded from the
-- catalog file for SKUs not yet present; checkout decrements it.
CREATE TABLE inventory (
    sku   TEXT    PRIMARY KEY,
    stock INTEGER NOT NULL CHECK (stock >= 0)
) WITHOUT ROWID;

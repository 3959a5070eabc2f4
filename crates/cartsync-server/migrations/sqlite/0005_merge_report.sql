-- A merged anonymous cart keeps the report its merge got: sign-in resent
-- after a lost answer gets the same report with a fresh token
-- (CartStore::reattach).
ALTER TABLE carts ADD COLUMN merge_report TEXT;

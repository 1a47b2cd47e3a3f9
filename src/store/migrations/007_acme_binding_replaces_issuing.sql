-- The externalAccountBinding JWS an account was created with, shown on the account object
-- (RFC 8555 §7.1.2). NULL = no binding, or bound before this column existed.
ALTER TABLE acme_accounts ADD COLUMN eab_binding TEXT;
-- The serial an order is being issued under, written before the key signs, so an order left
-- `processing` by a crash can be linked to its certificate (acme/reconcile.ts).
ALTER TABLE acme_orders ADD COLUMN issuing_serial TEXT;
CREATE INDEX acme_orders_processing ON acme_orders (status) WHERE status = 'processing';
-- RFC 9773 §5: "replaces" is looked up to refuse a second replacement (alreadyReplaced).
CREATE INDEX acme_orders_by_replaces ON acme_orders (replaces) WHERE replaces IS NOT NULL;
-- Challenges left `processing` are found without a scan (acme/reconcile.ts).
CREATE INDEX acme_challenges_processing ON acme_challenges (status) WHERE status = 'processing';

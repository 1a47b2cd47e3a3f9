-- Renewal by the current certificate (EST simplereenroll, RFC 7030 §4.2.2): a renewed certificate
-- records the one it replaces (ARI "replaces" semantics, RFC 9773 §5) and when its lineage began,
-- i.e. the issuance that last rested on a fresh authorization (ACME challenge, enrollment key,
-- token). NULL = this certificate is itself such an issuance (its lineage begins at created_at).
ALTER TABLE certificates ADD COLUMN replaces TEXT;
ALTER TABLE certificates ADD COLUMN lineage_start INTEGER;  -- unix seconds
CREATE INDEX certificates_by_replaces ON certificates (replaces) WHERE replaces IS NOT NULL;

-- Fleet keys: one EAB key may bind up to max_accounts accounts (NULL = 1, the original rule).
-- bound_count is raised in the same transaction as the account insert, under a compare, so
-- concurrent bindings never exceed it. account_id keeps the first account bound.
ALTER TABLE acme_eab_keys ADD COLUMN max_accounts INTEGER CHECK (max_accounts IS NULL OR max_accounts >= 1);
ALTER TABLE acme_eab_keys ADD COLUMN bound_count INTEGER NOT NULL DEFAULT 0;
UPDATE acme_eab_keys SET bound_count = 1 WHERE account_id IS NOT NULL;
CREATE INDEX acme_accounts_by_eab_kid ON acme_accounts (eab_kid) WHERE eab_kid IS NOT NULL;

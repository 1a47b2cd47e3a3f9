-- PostgreSQL schema of a pki instance: the end state of the SQLite migrations 001-013
-- (src/store/migrations), same tables, columns and constraints, so one set of repositories
-- runs on both (docs/design.md, Storage backends). INTEGER -> BIGINT (unix ms overflow int4),
-- BLOB -> BYTEA, TEXT -> TEXT COLLATE "C" (SQLite compares text by its bytes whatever locale the
-- server's databases default to: ORDER BY and keyset pages give the same order on both). SQLite's
-- implicit rowid, which a few queries order by (insertion order), is an explicit identity column
-- named rowid on those tables.

CREATE FUNCTION pki_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END $$;

CREATE TABLE certificates (
  serial      TEXT COLLATE "C" PRIMARY KEY,            -- lowercase hex; unique across the CA
  issuer      TEXT COLLATE "C" NOT NULL,               -- key identifier (hex) of the issuing CA key
  subject     TEXT COLLATE "C" NOT NULL,
  sans        TEXT COLLATE "C" NOT NULL,               -- JSON array of "dns:…", "ip:…", "uri:…"
  profile     TEXT COLLATE "C" NOT NULL,
  not_before  BIGINT NOT NULL,            -- unix seconds
  not_after   BIGINT NOT NULL,            -- unix seconds
  status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'valid', 'revoked', 'failed')),
  revoked_at  BIGINT,
  reason      BIGINT,
  der         BYTEA,
  public_key_sha256 TEXT COLLATE "C" NOT NULL,
  created_at  BIGINT NOT NULL, replaces TEXT COLLATE "C", lineage_start BIGINT,
  CHECK ((status IN ('valid', 'revoked')) = (der IS NOT NULL) OR status = 'failed'),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);

CREATE INDEX certificates_by_status_expiry ON certificates (status, not_after);

CREATE INDEX certificates_by_public_key ON certificates (public_key_sha256);

CREATE TABLE audit_events (
  id        BIGINT PRIMARY KEY,
  at        BIGINT NOT NULL,              -- unix milliseconds
  action    TEXT COLLATE "C" NOT NULL,                 -- e.g. certificate.issued, certificate.revoked, ca.initialized
  actor     TEXT COLLATE "C" NOT NULL,                 -- who asked: cli, acme:<account>, system
  target    TEXT COLLATE "C",                          -- what it is about: a serial, an account id
  details   TEXT COLLATE "C" NOT NULL,                 -- JSON
  prev_hash TEXT COLLATE "C" NOT NULL,
  hash      TEXT COLLATE "C" NOT NULL
);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION pki_append_only();

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION pki_append_only();

CREATE TABLE ocsp_responses (
  serial       TEXT COLLATE "C" PRIMARY KEY REFERENCES certificates (serial),
  cert_status  TEXT COLLATE "C" NOT NULL CHECK (cert_status IN ('good', 'revoked')),
  this_update  BIGINT NOT NULL,           -- unix seconds
  next_update  BIGINT NOT NULL,           -- unix seconds
  responder    TEXT COLLATE "C" NOT NULL,              -- serial of the delegated responder certificate that signed it
  der          BYTEA NOT NULL,              -- OCSPResponse, DER
  seq          BIGINT NOT NULL
);

CREATE INDEX ocsp_responses_by_seq ON ocsp_responses (seq);

CREATE INDEX ocsp_responses_by_next_update ON ocsp_responses (next_update);

CREATE TABLE ocsp_responders (
  serial      TEXT COLLATE "C" PRIMARY KEY REFERENCES certificates (serial),
  issuer      TEXT COLLATE "C" NOT NULL,
  not_before  BIGINT NOT NULL,
  not_after   BIGINT NOT NULL,
  created_at  BIGINT NOT NULL
);

CREATE TABLE crls (
  issuer       TEXT COLLATE "C" NOT NULL,
  shard        BIGINT NOT NULL,
  number       BIGINT NOT NULL,
  this_update  BIGINT NOT NULL,
  next_update  BIGINT NOT NULL,
  entries      BIGINT NOT NULL,
  der          BYTEA NOT NULL,
  PRIMARY KEY (issuer, shard, number)
);

CREATE UNIQUE INDEX crls_number_per_issuer ON crls (issuer, number);

CREATE INDEX certificates_revoked_list ON certificates (issuer, serial, not_after, revoked_at, reason) WHERE status = 'revoked';

CREATE TABLE acme_eab_keys (
  kid         TEXT COLLATE "C" PRIMARY KEY,
  label       TEXT COLLATE "C" NOT NULL,
  hmac_key    BYTEA NOT NULL,               -- AES-256-GCM sealed with a key derived from the instance secret
  scopes      TEXT COLLATE "C" NOT NULL,               -- JSON array of "dns:*.x", "ip:10.0.0.0/8", "uri:spiffe://x/*"
  status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'revoked')),
  account_id  TEXT COLLATE "C",                        -- the account it was bound to (one account per key)
  created_at  BIGINT NOT NULL
, expires_at BIGINT, max_accounts BIGINT CHECK (max_accounts IS NULL OR max_accounts >= 1), bound_count BIGINT NOT NULL DEFAULT 0);

CREATE TABLE acme_accounts (
  id          TEXT COLLATE "C" PRIMARY KEY,
  thumbprint  TEXT COLLATE "C" NOT NULL UNIQUE,        -- RFC 7638 SHA-256 thumbprint of the account key
  jwk         TEXT COLLATE "C" NOT NULL,               -- JSON public JWK
  contact     TEXT COLLATE "C" NOT NULL,               -- JSON array of URLs
  status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
  eab_kid     TEXT COLLATE "C" REFERENCES acme_eab_keys (kid),
  created_at  BIGINT NOT NULL
, eab_binding TEXT COLLATE "C");

CREATE TABLE acme_orders (
  id          TEXT COLLATE "C" PRIMARY KEY,
  account_id  TEXT COLLATE "C" NOT NULL REFERENCES acme_accounts (id),
  status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
  identifiers TEXT COLLATE "C" NOT NULL,               -- JSON array of {type, value}
  profile     TEXT COLLATE "C" NOT NULL,
  expires_at  BIGINT NOT NULL,
  error       TEXT COLLATE "C",                        -- JSON problem
  cert_serial TEXT COLLATE "C",
  replaces    TEXT COLLATE "C",                        -- ARI certificate id this order renews (RFC 9773 §5)
  created_at  BIGINT NOT NULL
, issuing_serial TEXT COLLATE "C");

CREATE INDEX acme_orders_by_account ON acme_orders (account_id);

CREATE UNIQUE INDEX acme_orders_by_cert ON acme_orders (cert_serial) WHERE cert_serial IS NOT NULL;

CREATE TABLE acme_authzs (
  rowid       BIGINT GENERATED ALWAYS AS IDENTITY,
  id          TEXT COLLATE "C" PRIMARY KEY,
  order_id    TEXT COLLATE "C" NOT NULL REFERENCES acme_orders (id),
  account_id  TEXT COLLATE "C" NOT NULL REFERENCES acme_accounts (id),
  id_type     TEXT COLLATE "C" NOT NULL,
  id_value    TEXT COLLATE "C" NOT NULL,
  wildcard    BIGINT NOT NULL,
  status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
  expires_at  BIGINT NOT NULL
);

CREATE INDEX acme_authzs_by_order ON acme_authzs (order_id);

CREATE TABLE acme_challenges (
  rowid       BIGINT GENERATED ALWAYS AS IDENTITY,
  id          TEXT COLLATE "C" PRIMARY KEY,
  authz_id    TEXT COLLATE "C" NOT NULL REFERENCES acme_authzs (id),
  type        TEXT COLLATE "C" NOT NULL,
  token       TEXT COLLATE "C" NOT NULL,
  status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
  validated_at BIGINT,
  error       TEXT COLLATE "C"
);

CREATE INDEX acme_challenges_by_authz ON acme_challenges (authz_id);

CREATE TABLE acme_spent_nonces (
  nonce       TEXT COLLATE "C" PRIMARY KEY,
  expires_at  BIGINT NOT NULL
);

CREATE TABLE heartbeat (
  id  BIGINT PRIMARY KEY CHECK (id = 1),
  at  BIGINT NOT NULL                    -- unix milliseconds of the last successful probe
);

CREATE INDEX acme_orders_processing ON acme_orders (status) WHERE status = 'processing';

CREATE INDEX acme_orders_by_replaces ON acme_orders (replaces) WHERE replaces IS NOT NULL;

CREATE INDEX acme_challenges_processing ON acme_challenges (status) WHERE status = 'processing';

CREATE TABLE tlog_nodes (
  level BIGINT NOT NULL,
  idx   BIGINT NOT NULL,
  hash  BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);

CREATE TRIGGER tlog_nodes_no_update BEFORE UPDATE ON tlog_nodes
  FOR EACH ROW EXECUTE FUNCTION pki_append_only();

CREATE TRIGGER tlog_nodes_no_delete BEFORE DELETE ON tlog_nodes
  FOR EACH ROW EXECUTE FUNCTION pki_append_only();

CREATE TABLE tlog_checkpoints (
  size      BIGINT PRIMARY KEY,
  note      TEXT COLLATE "C" NOT NULL,
  signed_at BIGINT NOT NULL               -- unix milliseconds
);

CREATE INDEX certificates_by_replaces ON certificates (replaces) WHERE replaces IS NOT NULL;

CREATE INDEX acme_accounts_by_eab_kid ON acme_accounts (eab_kid) WHERE eab_kid IS NOT NULL;

CREATE TABLE est_enrollment_keys (
  id          TEXT COLLATE "C" PRIMARY KEY,
  label       TEXT COLLATE "C" NOT NULL,
  secret      BYTEA NOT NULL,
  scopes      TEXT COLLATE "C" NOT NULL,               -- JSON array of scopes (acme/scopes.ts)
  status      TEXT COLLATE "C" NOT NULL CHECK (status IN ('active', 'revoked')),
  max_uses    BIGINT CHECK (max_uses IS NULL OR max_uses >= 1),
  uses        BIGINT NOT NULL DEFAULT 0,
  expires_at  BIGINT,                     -- unix milliseconds; NULL = no expiry
  created_at  BIGINT NOT NULL             -- unix milliseconds
);

CREATE TABLE identity_issuers (
  issuer      TEXT COLLATE "C" PRIMARY KEY,            -- the tokens' "iss", exactly
  audience    TEXT COLLATE "C" NOT NULL,               -- the "aud" a token must name
  jwks        TEXT COLLATE "C",                        -- a JWKS document (JSON) given as a file, or NULL
  jwks_url    TEXT COLLATE "C",                        -- an https:// JWKS URL (fetched and cached), or NULL
  jwks_ca     TEXT COLLATE "C",                        -- PEM CA certificates to trust for jwks_url, or NULL (system roots)
  template    TEXT COLLATE "C" NOT NULL,               -- JSON: claim patterns and identifier templates (identity/template.ts)
  max_lifetime_ms BIGINT NOT NULL,        -- longest exp - iat accepted
  created_at  BIGINT NOT NULL,
  CHECK ((jwks IS NULL) <> (jwks_url IS NULL))
);

CREATE TABLE identity_token_uses (
  issuer      TEXT COLLATE "C" NOT NULL,
  jti         TEXT COLLATE "C" NOT NULL,
  presenter   TEXT COLLATE "C",                        -- the ACME account that presented it, NULL = single use
  expires_at  BIGINT NOT NULL,
  PRIMARY KEY (issuer, jti)
);

CREATE INDEX identity_token_uses_by_expiry ON identity_token_uses (expires_at);

CREATE TABLE oauth_grants (
  id TEXT COLLATE "C" PRIMARY KEY,
  client TEXT COLLATE "C" NOT NULL,
  audience TEXT COLLATE "C" NOT NULL,
  scopes TEXT COLLATE "C" NOT NULL,
  max_ttl_ms BIGINT,
  requires TEXT COLLATE "C" NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL
);

CREATE INDEX oauth_grants_audience ON oauth_grants (audience);

CREATE TABLE oauth_signing_keys (
  label TEXT COLLATE "C" PRIMARY KEY,
  kid TEXT COLLATE "C" NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  signs_from BIGINT NOT NULL,
  retired_at BIGINT
);

CREATE INDEX certificates_inventory ON certificates (status, serial, not_after, profile);

CREATE INDEX audit_events_by_target ON audit_events (target, id);


-- Every replica LISTENs on pki_changes (postgres/pg-db.ts): a committed change to what replicas
-- serve from memory (pre-signed OCSP responses, certificate status, CRLs) is noticed at once
-- instead of by polling. NOTIFY is sent at COMMIT, once per transaction and table.
CREATE FUNCTION pki_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('pki_changes', TG_TABLE_NAME);
  RETURN NULL;
END $$;

CREATE TRIGGER ocsp_responses_changed AFTER INSERT OR UPDATE OR DELETE ON ocsp_responses
  FOR EACH STATEMENT EXECUTE FUNCTION pki_notify_change();
CREATE TRIGGER certificates_changed AFTER UPDATE ON certificates
  FOR EACH STATEMENT EXECUTE FUNCTION pki_notify_change();
CREATE TRIGGER crls_changed AFTER INSERT ON crls
  FOR EACH STATEMENT EXECUTE FUNCTION pki_notify_change();

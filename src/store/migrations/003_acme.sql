-- ACME (RFC 8555): accounts, orders, authorizations, challenges, EAB keys, spent nonces.
-- Times are unix milliseconds.
CREATE TABLE acme_eab_keys (
  kid         TEXT PRIMARY KEY,
  label       TEXT NOT NULL,
  hmac_key    BLOB NOT NULL,               -- AES-256-GCM sealed with a key derived from the instance secret
  scopes      TEXT NOT NULL,               -- JSON array of "dns:*.x", "ip:10.0.0.0/8", "uri:spiffe://x/*"
  status      TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  account_id  TEXT,                        -- the account it was bound to (one account per key)
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE acme_accounts (
  id          TEXT PRIMARY KEY,
  thumbprint  TEXT NOT NULL UNIQUE,        -- RFC 7638 SHA-256 thumbprint of the account key
  jwk         TEXT NOT NULL,               -- JSON public JWK
  contact     TEXT NOT NULL,               -- JSON array of URLs
  status      TEXT NOT NULL CHECK (status IN ('valid', 'deactivated', 'revoked')),
  eab_kid     TEXT REFERENCES acme_eab_keys (kid),
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE acme_orders (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES acme_accounts (id),
  status      TEXT NOT NULL CHECK (status IN ('pending', 'ready', 'processing', 'valid', 'invalid')),
  identifiers TEXT NOT NULL,               -- JSON array of {type, value}
  profile     TEXT NOT NULL,
  expires_at  INTEGER NOT NULL,
  error       TEXT,                        -- JSON problem
  cert_serial TEXT,
  replaces    TEXT,                        -- ARI certificate id this order renews (RFC 9773 §5)
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX acme_orders_by_account ON acme_orders (account_id);
CREATE UNIQUE INDEX acme_orders_by_cert ON acme_orders (cert_serial) WHERE cert_serial IS NOT NULL;

CREATE TABLE acme_authzs (
  id          TEXT PRIMARY KEY,
  order_id    TEXT NOT NULL REFERENCES acme_orders (id),
  account_id  TEXT NOT NULL REFERENCES acme_accounts (id),
  id_type     TEXT NOT NULL,
  id_value    TEXT NOT NULL,
  wildcard    INTEGER NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked')),
  expires_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX acme_authzs_by_order ON acme_authzs (order_id);

CREATE TABLE acme_challenges (
  id          TEXT PRIMARY KEY,
  authz_id    TEXT NOT NULL REFERENCES acme_authzs (id),
  type        TEXT NOT NULL,
  token       TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),
  validated_at INTEGER,
  error       TEXT
) STRICT;
CREATE INDEX acme_challenges_by_authz ON acme_challenges (authz_id);

-- Nonces are self-authenticating (HMAC); only spent ones are recorded, until they expire.
CREATE TABLE acme_spent_nonces (
  nonce       TEXT PRIMARY KEY,
  expires_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

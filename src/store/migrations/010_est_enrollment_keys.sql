-- EST (RFC 7030) enrollment keys: HTTP Basic credentials (id:secret) a device presents to
-- simpleenroll. The secret is stored sealed (AES-256-GCM under a key derived from the instance
-- secret, the id as associated data), like EAB MACs, so a database copy alone cannot enroll.
CREATE TABLE est_enrollment_keys (
  id          TEXT PRIMARY KEY,
  label       TEXT NOT NULL,
  secret      BLOB NOT NULL,
  scopes      TEXT NOT NULL,               -- JSON array of scopes (acme/scopes.ts)
  status      TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
  max_uses    INTEGER CHECK (max_uses IS NULL OR max_uses >= 1),
  uses        INTEGER NOT NULL DEFAULT 0,
  expires_at  INTEGER,                     -- unix milliseconds; NULL = no expiry
  created_at  INTEGER NOT NULL             -- unix milliseconds
) STRICT;

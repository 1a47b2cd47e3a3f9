-- Certificates: one row per serial, reserved `pending` before signing, `valid` with DER after.
CREATE TABLE certificates (
  serial      TEXT PRIMARY KEY,            -- lowercase hex; unique across the CA
  issuer      TEXT NOT NULL,               -- key identifier (hex) of the issuing CA key
  subject     TEXT NOT NULL,
  sans        TEXT NOT NULL,               -- JSON array of "dns:…", "ip:…", "uri:…"
  profile     TEXT NOT NULL,
  not_before  INTEGER NOT NULL,            -- unix seconds
  not_after   INTEGER NOT NULL,            -- unix seconds
  status      TEXT NOT NULL CHECK (status IN ('pending', 'valid', 'revoked', 'failed')),
  revoked_at  INTEGER,
  reason      INTEGER,
  der         BLOB,
  public_key_sha256 TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  CHECK ((status IN ('valid', 'revoked')) = (der IS NOT NULL) OR status = 'failed'),
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
) STRICT;
CREATE INDEX certificates_by_status_expiry ON certificates (status, not_after);
CREATE INDEX certificates_by_public_key ON certificates (public_key_sha256);

-- Audit trail: append-only; each row's hash covers the previous row's hash (tamper-evident chain).
CREATE TABLE audit_events (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        INTEGER NOT NULL,              -- unix milliseconds
  action    TEXT NOT NULL,                 -- e.g. certificate.issued, certificate.revoked, ca.initialized
  actor     TEXT NOT NULL,                 -- who asked: cli, acme:<account>, system
  target    TEXT,                          -- what it is about: a serial, an account id
  details   TEXT NOT NULL,                 -- JSON
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;

-- Coordination between `pki serve` replicas on one database (#22). On SQLite (one process) the
-- tables exist so that both backends have one schema and one code path.

-- Background work held by one replica at a time (a CRL shard's build, a partition of OCSP
-- pre-signing): taken when free or expired, renewed by its holder, so a dead holder's lease lapses.
CREATE TABLE leases (
  name       TEXT PRIMARY KEY,
  holder     TEXT NOT NULL,
  expires_at INTEGER NOT NULL              -- unix milliseconds
) STRICT;

-- Rate-limit token buckets shared by replicas (one bucket per limit and key, e.g. newNonce per IP).
CREATE TABLE rate_buckets (
  name       TEXT NOT NULL,
  key        TEXT NOT NULL,
  tokens     REAL NOT NULL,
  updated_at INTEGER NOT NULL,             -- unix milliseconds
  PRIMARY KEY (name, key)
) STRICT, WITHOUT ROWID;
CREATE INDEX rate_buckets_by_age ON rate_buckets (updated_at);

-- Coordination between `pki serve` replicas (#22): the same tables as SQLite's 014_replicas.sql.

-- Background work held by one replica at a time (a CRL shard's build, a partition of OCSP
-- pre-signing): taken when free or expired, renewed by its holder, so a dead holder's lease lapses.
CREATE TABLE leases (
  name       TEXT COLLATE "C" PRIMARY KEY,
  holder     TEXT COLLATE "C" NOT NULL,
  expires_at BIGINT NOT NULL               -- unix milliseconds
);

-- Rate-limit token buckets shared by replicas (one bucket per limit and key, e.g. newNonce per IP).
CREATE TABLE rate_buckets (
  name       TEXT COLLATE "C" NOT NULL,
  key        TEXT COLLATE "C" NOT NULL,
  tokens     DOUBLE PRECISION NOT NULL,
  updated_at BIGINT NOT NULL,              -- unix milliseconds
  PRIMARY KEY (name, key)
);
CREATE INDEX rate_buckets_by_age ON rate_buckets (updated_at);

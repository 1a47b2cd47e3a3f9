-- Pre-signed OCSP responses: one current response per certificate (SHA-1 CertID, the
-- form RFC 5019 clients send). `seq` grows with every write so a serving process can
-- load just what changed since it last looked (another process may have written it).
CREATE TABLE ocsp_responses (
  serial       TEXT PRIMARY KEY REFERENCES certificates (serial),
  cert_status  TEXT NOT NULL CHECK (cert_status IN ('good', 'revoked')),
  this_update  INTEGER NOT NULL,           -- unix seconds
  next_update  INTEGER NOT NULL,           -- unix seconds
  responder    TEXT NOT NULL,              -- serial of the delegated responder certificate that signed it
  der          BLOB NOT NULL,              -- OCSPResponse, DER
  seq          INTEGER NOT NULL
) STRICT;
CREATE INDEX ocsp_responses_by_seq ON ocsp_responses (seq);
CREATE INDEX ocsp_responses_by_next_update ON ocsp_responses (next_update);

-- Delegated OCSP signing certificates (EKU OCSPSigning, ocsp-nocheck). The certificate
-- itself is also a row of `certificates`; its private key lives only in the serving process.
CREATE TABLE ocsp_responders (
  serial      TEXT PRIMARY KEY REFERENCES certificates (serial),
  issuer      TEXT NOT NULL,
  not_before  INTEGER NOT NULL,
  not_after   INTEGER NOT NULL,
  created_at  INTEGER NOT NULL
) STRICT;

-- Built CRLs, per issuer and shard. `number` is the CRL Number: strictly increasing per issuer
-- across all its shards, so it also increases for each shard.
CREATE TABLE crls (
  issuer       TEXT NOT NULL,
  shard        INTEGER NOT NULL,
  number       INTEGER NOT NULL,
  this_update  INTEGER NOT NULL,
  next_update  INTEGER NOT NULL,
  entries      INTEGER NOT NULL,
  der          BLOB NOT NULL,
  PRIMARY KEY (issuer, shard, number)
) STRICT;
CREATE UNIQUE INDEX crls_number_per_issuer ON crls (issuer, number);
-- The CRL's revoked list, read in serial order straight from a covering index (no table
-- lookups: a million-entry CRL reads ~2x faster than through the table).
CREATE INDEX certificates_revoked_list ON certificates (issuer, serial, not_after, revoked_at, reason) WHERE status = 'revoked';

-- Workload identity token issuers (#18): JWT issuers pki trusts, and the token ids it has seen.
-- Times are unix milliseconds.
CREATE TABLE identity_issuers (
  issuer      TEXT PRIMARY KEY,            -- the tokens' "iss", exactly
  audience    TEXT NOT NULL,               -- the "aud" a token must name
  jwks        TEXT,                        -- a JWKS document (JSON) given as a file, or NULL
  jwks_url    TEXT,                        -- an https:// JWKS URL (fetched and cached), or NULL
  jwks_ca     TEXT,                        -- PEM CA certificates to trust for jwks_url, or NULL (system roots)
  template    TEXT NOT NULL,               -- JSON: claim patterns and identifier templates (identity/template.ts)
  max_lifetime_ms INTEGER NOT NULL,        -- longest exp - iat accepted
  created_at  INTEGER NOT NULL,
  CHECK ((jwks IS NULL) <> (jwks_url IS NULL))
) STRICT;

-- jti replay cache: a token id is accepted once (or by one ACME account) until the token expires.
CREATE TABLE identity_token_uses (
  issuer      TEXT NOT NULL,
  jti         TEXT NOT NULL,
  presenter   TEXT,                        -- the ACME account that presented it, NULL = single use
  expires_at  INTEGER NOT NULL,
  PRIMARY KEY (issuer, jti)
) STRICT, WITHOUT ROWID;
CREATE INDEX identity_token_uses_by_expiry ON identity_token_uses (expires_at);

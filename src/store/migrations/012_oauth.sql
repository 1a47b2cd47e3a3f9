-- OAuth access tokens (#20). A grant lets clients matching `client` (an exact client id, a SPIFFE
-- prefix "spiffe://td/path/*" or a DNS suffix "*.zone") ask for `scopes` at `audience`; nothing is
-- allowed without one. `requires` is a JSON array of step-up requirements ("fresh:10m",
-- "profile:hsm", "ttl:60s"); max_ttl_ms caps the tokens' lifetime.
CREATE TABLE oauth_grants (
  id TEXT PRIMARY KEY,
  client TEXT NOT NULL,
  audience TEXT NOT NULL,
  scopes TEXT NOT NULL,
  max_ttl_ms INTEGER,
  requires TEXT NOT NULL DEFAULT '[]',
  created_at INTEGER NOT NULL
);
CREATE INDEX oauth_grants_audience ON oauth_grants (audience);

-- The token-signing keys (ES256) by key-store label. A key is published in the JWKS from its
-- creation, signs from signs_from (a rotation publishes the new key a minute before it signs, so
-- resource servers that cached the JWKS meet its kid only once they may fetch it again), and stays
-- published until retired_at plus the longest token lifetime.
CREATE TABLE oauth_signing_keys (
  label TEXT PRIMARY KEY,
  kid TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  signs_from INTEGER NOT NULL,
  retired_at INTEGER
);

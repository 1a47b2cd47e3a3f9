-- EAB keys are one-time credentials handed to a workload's operator: an expiry bounds how
-- long a leaked, still-unbound key is worth anything. NULL = no expiry (keys made before).
ALTER TABLE acme_eab_keys ADD COLUMN expires_at INTEGER;

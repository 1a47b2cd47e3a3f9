-- Inventory at fleet scale (#21): `pki certs list` pages by serial within a status (keyset, no
-- sort, no table row read for rows the not_after filter drops) and `pki certs stats` counts by
-- status, expiry and profile from this index alone, never reading a row (or its DER).
CREATE INDEX certificates_inventory ON certificates (status, serial, not_after, profile);
-- `pki serve` reads its config's audit events at start, and `pki audit --target` one target's:
-- by target, not by a scan of every issuance event. 008 made one on (target) alone; (target, id)
-- also serves the ordered read without a sort.
DROP INDEX IF EXISTS audit_events_by_target;
CREATE INDEX audit_events_by_target ON audit_events (target, id);

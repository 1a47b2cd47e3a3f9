-- Transparency log (#17): a Merkle tree (RFC 9162) over the audit trail, leaf i = audit event i+1.
-- Every complete aligned subtree's hash is stored (level 0 = leaf hashes), so proofs and tiles are
-- O(log n) reads and appending is amortised two rows, in the same transaction as the audit row.
CREATE TABLE tlog_nodes (
  level INTEGER NOT NULL,
  idx   INTEGER NOT NULL,
  hash  BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER tlog_nodes_no_update BEFORE UPDATE ON tlog_nodes
  BEGIN SELECT RAISE(ABORT, 'tlog_nodes is append-only'); END;
CREATE TRIGGER tlog_nodes_no_delete BEFORE DELETE ON tlog_nodes
  BEGIN SELECT RAISE(ABORT, 'tlog_nodes is append-only'); END;

-- Inclusion proofs by serial find the issuance event by its target.
CREATE INDEX audit_events_by_target ON audit_events (target);

-- Signed checkpoints (C2SP tlog-checkpoint notes), newest by size; older ones are pruned.
CREATE TABLE tlog_checkpoints (
  size      INTEGER PRIMARY KEY,
  note      TEXT NOT NULL,
  signed_at INTEGER NOT NULL               -- unix milliseconds
) STRICT;

-- Replicas cache ACME accounts (every signed request reads one): a committed change to
-- acme_accounts anywhere is announced on pki_changes (payload: the table name), and each replica
-- drops its cache on it (#22; store/acme-accounts.ts).
CREATE TRIGGER acme_accounts_changed AFTER UPDATE OR DELETE ON acme_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION pki_notify_change();

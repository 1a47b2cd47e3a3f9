import acme from 'acme-client';
import Database from 'better-sqlite3';
import { cpSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditConfig, createEab, silentLogger, startServer, type CaInstance } from '../../src/index.ts';
import type { KeyStore, KeyStoreEvent } from '../../src/keystore/keystore.ts';
import { watchKeyStore } from '../../src/health/keystore-events.ts';
import { CaMetrics } from '../../src/metrics/metrics.ts';
import { createTestCa } from '../helpers/ca.ts';
import { pki, pkiAsync } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * Every kind of change a CA operator must be able to account for lands in the audit chain:
 * key creation, config (first load and every change), EAB keys created, bound and revoked,
 * certificates. Editing any one of those rows by hand makes `pki audit verify` name it.
 */
let ca: CaInstance;
const kinds = ['ca.initialized', 'keystore.key.created', 'config.loaded', 'config.changed', 'acme.eab.created', 'acme.eab.bound', 'acme.eab.revoked', 'acme.account.key-changed', 'acme.account.deactivated', 'keystore.session.recovered', 'keystore.session.failed', 'certificate.issued'];

beforeAll(async () => {
  ca = await createTestCa();
});
afterAll(async () => {
  await ca?.close();
});

describe('audit events', () => {
  it('ok/config is recorded once, then only when it changes, naming the changed fields (secrets never)', () => {
    const at = new Date();
    expect(auditConfig(ca.store, ca.config, { at, actor: 'serve', file: 'pki.json' })).toEqual({ action: 'config.loaded', changed: [] });
    expect(auditConfig(ca.store, ca.config, { at, actor: 'serve', file: 'pki.json' })).toEqual({ action: null, changed: [] });
    ca.config.rateLimits.newNoncePerIp = false;
    ca.config.crl.shards = 4;
    expect(auditConfig(ca.store, ca.config, { at, actor: 'serve', file: 'pki.json' })).toEqual({ action: 'config.changed', changed: ['crl.shards', 'rateLimits.newNoncePerIp'] });
    const last = ca.store.audit.list({ target: 'pki.json' }).at(-1)!;
    expect(last.details).toMatchObject({ changed: ['crl.shards', 'rateLimits.newNoncePerIp'], config: { crl: { shards: 4 } } });
    ca.config.crl.shards = 1;
  });

  it('ok/an EAB key is audited when created, bound to an account over ACME, and revoked; the account\'s key change and deactivation too', async () => {
    const eab = await createEab(ca, { label: 'audited', scopes: ['dns:*.audit.test'] });
    const server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: { requireEab: true } });
    try {
      acme.axios.defaults.httpsAgent = new Agent({ ca: ca.root.toString('pem') });
      const client = new acme.Client({ directoryUrl: server.acme!.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey(), externalAccountBinding: eab });
      await client.createAccount({ termsOfServiceAgreed: true });
      const accountUrl = client.getAccountUrl();
      const bound = ca.store.audit.list({ target: eab.kid }).map((e) => e.action);
      expect(bound).toEqual(['acme.eab.created', 'acme.eab.bound']);
      expect(accountUrl.endsWith(ca.store.audit.list({ target: eab.kid })[1]!.details.account as string)).toBe(true);
      // The account's own key rollover and deactivation are on the record too.
      const accountId = ca.store.audit.list({ target: eab.kid })[1]!.details.account as string;
      await client.updateAccountKey(await acme.crypto.createPrivateEcdsaKey());
      await client.updateAccount({ status: 'deactivated' });
      expect(ca.store.audit.list({ target: accountId }).map((e) => e.action)).toEqual(['acme.account.key-changed', 'acme.account.deactivated']);
    } finally {
      await server.close();
    }
    const r = await pkiAsync(['eab', 'revoke', '--dir', ca.dir, eab.kid]);
    expect(r.status, r.stderr).toBe(0);
    expect(ca.store.audit.list({ target: eab.kid }).map((e) => e.action)).toEqual(['acme.eab.created', 'acme.eab.bound', 'acme.eab.revoked']);
  });

  it('ok/init records both CA keys and the transparency log key (#17) with their public key fingerprints', () => {
    const keys = ca.store.audit.list().filter((e) => e.action === 'keystore.key.created');
    expect(keys.map((k) => k.details.role)).toEqual(['root', 'intermediate', 'log']);
    for (const k of keys) expect(k.details.spkiSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ok/key store session losses while serving are recorded, recovered or not (SoftHSM: test/ops/keystore-events.test.ts)', () => {
    const keyStore = {
      type: 'pkcs11',
      onEvent(l: (e: KeyStoreEvent) => void) {
        l({ kind: 'session-lost', operation: 'signing with "intermediate"', recovered: true, detail: 'CKR_DEVICE_REMOVED' });
        l({ kind: 'session-lost', operation: 'signing with "intermediate"', recovered: false, detail: 'no PKCS#11 token is present' });
      },
    } as unknown as KeyStore;
    watchKeyStore({ keyStore, store: ca.store, metrics: new CaMetrics(), logger: silentLogger, clock: ca.clock });
    expect(ca.store.audit.list({ target: 'pkcs11' }).map((e) => e.action)).toEqual(['keystore.session.recovered', 'keystore.session.failed']);
  });

  it('fail/editing a row of any kind by hand makes audit verify fail and name that row', async () => {
    expect(pki(['audit', 'verify', '--dir', ca.dir]).status).toBe(0);
    const rows = ca.store.audit.list();
    ca.store.db.pragma('wal_checkpoint(TRUNCATE)');
    const tampered = kinds.map((kind) => {
      const row = rows.find((e) => e.action === kind);
      expect(row, kind).toBeDefined();
      const copy = join(tempDir(), 'ca');
      cpSync(ca.dir, copy, { recursive: true });
      const db = new Database(join(copy, 'pki.db'));
      db.exec('DROP TRIGGER audit_events_no_update');
      db.prepare(`UPDATE audit_events SET details = json_set(details, '$.forged', 1) WHERE id = ?`).run(row!.id);
      db.close();
      return { kind, id: row!.id, copy };
    });
    const results = await Promise.all(tampered.map((t) => pkiAsync(['audit', 'verify', '--dir', t.copy])));
    tampered.forEach((t, i) => {
      expect(results[i]!.status, t.kind).toBe(1);
      expect(results[i]!.stderr, t.kind).toContain(`audit trail broken at row ${t.id}`);
    });
  });
});

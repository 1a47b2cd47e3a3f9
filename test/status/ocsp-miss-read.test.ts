import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initInstance, openInstance, type CaInstance } from '../../src/index.ts';
import { TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * An OCSP miss at a million certificates is one SQL statement on the serving thread (#21): it must
 * read the response by primary key and learn "revoked since?" from the covering inventory index,
 * never the certificate row (whose DER makes the certificates table the largest B-tree).
 */
describe('the OCSP miss read', () => {
  let ca: CaInstance;
  beforeAll(async () => {
    const dir = join(tempDir(), 'ca');
    await initInstance({ dir, passphrase: TEST_PASSPHRASE });
    ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE } });
  });
  afterAll(async () => {
    await ca?.close();
  });

  it('ok/reads ocsp_responses by primary key and certificates only through certificates_inventory (covering)', () => {
    const spy = ca.store.db.prepare.bind(ca.store.db);
    let sql = '';
    ca.store.db.prepare = ((s: string) => ((sql = s), spy(s))) as typeof ca.store.db.prepare;
    try {
      ca.store.ocspResponses.current('7f'.repeat(16), new Date());
    } finally {
      ca.store.db.prepare = spy;
    }
    expect(sql).toMatch(/ocsp_responses/);
    const plan = (ca.store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all('7f', 0) as { detail: string }[]).map((r) => r.detail).join('\n');
    expect(plan).toMatch(/SEARCH r USING INDEX sqlite_autoindex_ocsp_responses_1 \(serial=\?\)/);
    expect(plan).toMatch(/SEARCH c USING COVERING INDEX certificates_inventory \(status=\? AND serial=\?\)/);
    expect(plan).not.toMatch(/sqlite_autoindex_certificates|SCAN/);
  });
});

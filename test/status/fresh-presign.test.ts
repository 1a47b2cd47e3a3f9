import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAcmeService } from '../../src/acme/create.ts';
import { defaultAcmeConfig } from '../../src/config/acme.ts';
import { silentLogger, type CaInstance } from '../../src/index.ts';
import { startStatusService } from '../../src/instance/start-status.ts';
import type { StatusService } from '../../src/status/status-service.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';

/**
 * `pki serve` keeps its hot-path writes on the issuance connection (CaInstance.issuanceStore):
 * a fresh certificate's OCSP response, and the ACME tables. The main connection stays FULL.
 */
describe('hot-path writes on the issuance connection', () => {
  let ca: CaInstance;
  let status: StatusService;
  beforeAll(async () => {
    ca = await createTestCa();
    status = await startStatusService(ca, silentLogger);
  });
  afterAll(async () => {
    status?.stop();
    await ca?.close();
  });

  it("ok/a fresh certificate's response is committed through the issuance connection, stored and served good; the main connection stays FULL", async () => {
    const viaIssuance = vi.spyOn(ca.issuanceStore, 'relaxed');
    const viaMain = vi.spyOn(ca.store, 'relaxed');
    const readsMain = vi.spyOn(ca.store.certificates, 'get');
    const { serial } = await ca.authority.issue((await makeCsr({ cn: 'f.example', sans: [{ type: 'dns', value: 'f.example' }] })).pem);
    expect(viaIssuance).toHaveBeenCalledTimes(1);
    expect(viaMain).not.toHaveBeenCalled();
    expect(readsMain).not.toHaveBeenCalled();
    const stored = ca.store.db.prepare('SELECT cert_status FROM ocsp_responses WHERE serial = ?').get(serial) as { cert_status: string } | undefined;
    expect(stored?.cert_status).toBe('good');
    expect(status.cache.get(serial, ca.clock.now().getTime())).toBeTruthy();
    expect(ca.store.db.pragma('synchronous', { simple: true })).toBe(2);
    vi.restoreAllMocks();
  });

  it('ok/the ACME service uses a connection it is given and leaves it open when it closes', async () => {
    const service = await createAcmeService({
      dir: ca.dir,
      db: ca.store.db,
      connection: ca.issuanceStore.db,
      authority: ca.authority,
      certificates: ca.store.certificates,
      clock: ca.clock,
      logger: silentLogger,
      intermediatePem: '',
      config: defaultAcmeConfig(),
      defaultProfile: 'default',
      origin: 'https://acme.test',
    });
    const nonce = service.ctx.nonces.issue();
    expect(service.ctx.nonces.consume(nonce)).toBeNull();
    const spent = ca.issuanceStore.db.prepare('SELECT count(*) AS n FROM acme_spent_nonces').get() as { n: number };
    expect(spent.n).toBe(1);
    await service.close();
    expect(ca.issuanceStore.db.open).toBe(true);
  });
});

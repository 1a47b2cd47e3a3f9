import { afterEach, describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../src/config/config.ts';
import { defaultAcmeConfig } from '../../src/config/acme.ts';
import { DEFAULT_STATUS_OPTIONS, statusOptionsFromConfig } from '../../src/status/options.ts';

const HOUR = 3_600_000;
/** The smallest pki.json there is: every section with defaults left out. */
const MINIMAL = {
  version: 1,
  name: 'Test CA',
  baseUrl: 'http://127.0.0.1:9080',
  keyStore: {},
  root: { certificate: 'ca/root.pem', keyAlg: 'ecdsa-p256' },
  intermediate: { certificate: 'ca/intermediate.pem', keyLabel: 'intermediate', keyAlg: 'ecdsa-p256' },
};

/** Config defaults live in the zod schemas of src/config/ and nowhere else. */
describe('config defaults', () => {
  afterEach(() => {
    vi.doUnmock('../../src/config/status.ts');
    vi.resetModules();
  });

  it('ok/the defaults are the ones documented in configuration.md', () => {
    const c = configSchema.parse(MINIMAL);
    expect(c.issuance).toEqual({ defaultProfile: 'default', lifetime: '24h', maxLifetime: '90d', pendingGrace: '60s' });
    expect(c.crl).toEqual({ shards: 1, validity: '24h', expiredGrace: '1d' });
    expect(c.http).toEqual({ host: '127.0.0.1', port: 9080, requestTimeout: '30s', headersTimeout: '10s', shutdownGrace: '10s' });
    expect(c.acme).toEqual(defaultAcmeConfig());
    expect(statusOptionsFromConfig(c)).toEqual(DEFAULT_STATUS_OPTIONS);
    expect(DEFAULT_STATUS_OPTIONS).toEqual({
      ocspValidityMs: 12 * HOUR,
      ocspRefreshBeforeMs: 6 * HOUR,
      responderLifetimeMs: 96 * HOUR,
      responderRenewBeforeMs: 48 * HOUR,
      maxCertsPerRequest: 8,
      crlValidityMs: 24 * HOUR,
      crlRefreshBeforeMs: 12 * HOUR,
      expiredGraceMs: 24 * HOUR,
      crlRebuildDelayMs: 200,
      pollIntervalMs: 500,
      maintenanceIntervalMs: 60_000,
      ocspCacheEntries: 50_000,
    });
  });

  it('ok/a value in pki.json replaces its default and what is derived from it, nothing else', () => {
    const o = statusOptionsFromConfig(configSchema.parse({ ...MINIMAL, ocsp: { validity: '2h' }, crl: { validity: '6h' } }));
    expect(o).toEqual({ ...DEFAULT_STATUS_OPTIONS, ocspValidityMs: 2 * HOUR, ocspRefreshBeforeMs: HOUR, crlValidityMs: 6 * HOUR, crlRefreshBeforeMs: 3 * HOUR });
    expect(statusOptionsFromConfig({ ocsp: { validity: '3d', responderLifetime: '10d' } }).responderRenewBeforeMs).toBe(73 * HOUR);
  });

  it('ok/a default changed in the schema is what the status options and the parsed config see', async () => {
    vi.doMock('../../src/config/status.ts', async (original) => {
      const m = await original<typeof import('../../src/config/status.ts')>();
      const { duration } = await import('../../src/config/duration.ts');
      return {
        ocspConfigSchema: m.ocspConfigSchema.extend({ validity: duration().default('7h') }),
        crlConfigSchema: m.crlConfigSchema.extend({ expiredGrace: duration().default('3d') }),
      };
    });
    vi.resetModules();
    const options = await import('../../src/status/options.ts');
    const config = await import('../../src/config/config.ts');
    expect(options.DEFAULT_STATUS_OPTIONS).toMatchObject({ ocspValidityMs: 7 * HOUR, ocspRefreshBeforeMs: 3.5 * HOUR, expiredGraceMs: 72 * HOUR });
    expect(config.configSchema.parse(MINIMAL).crl.expiredGrace).toBe('3d');
  });

  it('fail/one duration rule everywhere: the same message in every section; 0s only where it means off', () => {
    const issues = (patch: Record<string, unknown>) => {
      const r = configSchema.safeParse({ ...MINIMAL, ...patch });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ issuance: { lifetime: 'soon' }, crl: { validity: '5 days' }, ocsp: { validity: '' }, acme: { orderLifetime: '0s', challengeWait: 'now' } })).toEqual([
      'issuance.lifetime: must be a duration such as 24h or 30m',
      'crl.validity: must be a duration such as 24h or 30m',
      'ocsp.validity: must be a duration such as 24h or 30m',
      'acme.orderLifetime: must be a duration such as 24h or 30m',
      'acme.challengeWait: must be a duration such as 2s, or 0s',
    ]);
    expect(issues({ acme: { challengeWait: '0s', validationTimeout: '1d12h' } })).toEqual([]);
  });
});

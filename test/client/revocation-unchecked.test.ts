import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaInstance } from '../../src/index.ts';
import { isCaError } from '../../src/domain/errors.ts';
import { renewalReason } from '../../src/client/renew.ts';
import { isRevoked } from '../../src/client/revocation.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * `pki renew`'s revocation check when it cannot be made: a CA whose OCSP and CRL URLs point
 * at a port nobody listens on. It must say so, naming the URLs, and never pass for "not revoked".
 */
describe('renew: a revocation check that cannot be made', () => {
  let ca: CaInstance;
  let deadPort: number;
  let pair: { keyPem: string; certPem: string; chainPem: string };
  beforeAll(async () => {
    deadPort = await freePort();
    ca = await createTestCa({ baseUrl: `http://127.0.0.1:${deadPort}` });
    const csr = await makeCsr({ cn: 'svc.internal', sans: [{ type: 'dns', value: 'svc.internal' }] });
    const cert = await ca.authority.issue(csr.pem);
    pair = { keyPem: csr.keyPem, certPem: cert.pem, chainPem: ca.intermediate.toString('pem') + '\n' };
  });
  afterAll(async () => {
    await ca?.close();
  });

  it('fail/isRevoked rejects as unavailable, naming the OCSP and CRL URLs and the cause', async () => {
    const e = await isRevoked(pair.certPem, pair.chainPem).then(() => null, (x: unknown) => x);
    expect(isCaError(e, 'unavailable')).toBe(true);
    const detail = (e as { detail: string }).detail;
    expect(detail).toContain(`OCSP http://127.0.0.1:${deadPort}/ocsp: cannot reach http://127.0.0.1:${deadPort}/ocsp: ECONNREFUSED`);
    expect(detail).toMatch(new RegExp(`CRL http://127\\.0\\.0\\.1:${deadPort}/crl/\\S+: cannot reach`));
  });

  it('fail/garbage instead of the pair: a clear error, not "not revoked"', async () => {
    await expect(isRevoked('not a certificate', pair.chainPem)).rejects.toThrow(/cert\.pem holds no certificate/);
    await expect(isRevoked(pair.certPem, '')).rejects.toThrow(/chain\.pem holds no issuer certificate/);
    const garbled = '-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n';
    await expect(isRevoked(garbled, pair.chainPem)).rejects.toThrow(/cert\.pem is not an X\.509 certificate/);
  });

  it('fail/a CA answering garbage on both URLs: each named, with what was wrong', async () => {
    // Something else now listens where the CA should be and answers 200 with text.
    const impostor = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end('hello'));
    await new Promise<void>((r) => impostor.listen(deadPort, '127.0.0.1', r));
    try {
      const e = await isRevoked(pair.certPem, pair.chainPem).then(() => null, (x: unknown) => x);
      expect(isCaError(e, 'unavailable')).toBe(true);
      const detail = (e as { detail: string }).detail;
      expect(detail).toContain(`http://127.0.0.1:${deadPort}/ocsp did not answer with an OCSP response`);
      expect(detail).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${deadPort}/crl/\\S+ did not answer with a CRL`));
    } finally {
      await new Promise((r) => impostor.close(r));
    }
  });

  it('ok/renewalReason keeps a healthy pair but carries the warning', async () => {
    const root = ca.root.toString('pem') + '\n';
    const r = await renewalReason(pair, root, { renewBefore: 1 / 3, now: new Date(), isRevoked });
    expect(r.reason).toBeNull();
    expect(r.warning).toMatch(/^could not check revocation \(OCSP http:\/\/127\.0\.0\.1:\d+\/ocsp: cannot reach/);
  });
});

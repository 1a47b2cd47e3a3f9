import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renewDelayMs } from '../../src/http/acme/tls-certificate.ts';
import { silentLogger, startServer, type CaInstance, type RunningServer } from '../../src/index.ts';
import { x509 } from '../../src/signer/x509.ts';
import { createTestCa } from '../helpers/ca.ts';

/** The ACME listener's own certificate: issued by our intermediate for the configured names, renewed two thirds in. */
let ca: CaInstance;
let server: RunningServer;
beforeAll(async () => {
  ca = await createTestCa();
  server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: { hostnames: ['localhost', '127.0.0.1', 'acme.internal'] } });
});
afterAll(async () => {
  await server?.close();
  await ca?.close();
});

describe('ACME TLS listener', () => {
  it('ok/serves a chain to our root naming the configured hostnames, and the directory over it', async () => {
    const url = new URL(server.acme!.directoryUrl);
    const chain = await new Promise<{ authorized: boolean; sans: string[] }>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: Number(url.port), ca: ca.root.toString('pem'), servername: 'acme.internal' }, () => {
        const leaf = new x509.X509Certificate(new Uint8Array(s.getPeerX509Certificate()!.raw));
        const sans = leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => `${n.type}:${n.value}`).sort();
        resolve({ authorized: s.authorized, sans });
        s.end();
      });
      s.on('error', reject);
    });
    expect(chain).toEqual({ authorized: true, sans: ['dns:acme.internal', 'dns:localhost', 'ip:127.0.0.1'] });
    expect(server.acme!.directoryUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/acme\/directory$/);
  });

  it('ok/renewal is scheduled two thirds into the lifetime, never sooner than a minute', () => {
    const notBefore = new Date('2026-01-01T00:00:00Z');
    const cert = { keyPem: '', chainPem: '', notBefore, notAfter: new Date(notBefore.getTime() + 24 * 3_600_000) };
    expect(renewDelayMs(cert, notBefore)).toBe(16 * 3_600_000);
    expect(renewDelayMs(cert, new Date(notBefore.getTime() + 20 * 3_600_000))).toBe(60_000);
  });
});

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pki, pkiBackground } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { x509 } from '../../src/x509/x509.ts';

describe('pki serve', () => {
  it('ok/serves health and the CA certificates, logs JSON, stops cleanly on SIGTERM', async () => {
    const dir = join(tempDir(), 'ca');
    expect(pki(['init', '--dir', dir], { PKI_PASSPHRASE: '' }).status).toBe(0);
    const srv = pkiBackground(['serve', '--dir', dir, '--http-port', '0'], /serve\.started/, { PKI_PASSPHRASE: '' });
    const line = JSON.parse(await srv.started) as { http: string };
    const base = line.http;
    try {
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });

      const der = await fetch(`${base}/ca/intermediate.crt`);
      expect(der.headers.get('content-type')).toBe('application/pkix-cert');
      const inter = new x509.X509Certificate(new Uint8Array(await der.arrayBuffer()));
      expect(inter.subject).toMatch(/Intermediate/);

      const chain = await (await fetch(`${base}/ca/chain.pem`)).text();
      expect(chain.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
      const root = await (await fetch(`${base}/ca/root.pem`)).text();
      expect(new x509.X509Certificate(root).subject).toMatch(/Root/);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      srv.child.kill('SIGTERM');
    }
    expect(await srv.exited).toBe(0);
    const lines = srv.output().stdout.trim().split('\n').map((l) => JSON.parse(l) as { event: string; path?: string; requestId?: string });
    expect(lines.some((l) => l.event === 'http.request' && l.path === '/healthz' && l.requestId)).toBe(true);
    expect(lines.at(-1)!.event).toBe('serve.stopped');
  });
});

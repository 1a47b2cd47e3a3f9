import { EstService } from '../../src/est/service.ts';
import { createAcmeApp } from '../../src/http/acme-https/fetch-app.ts';
import { estResource } from '../../src/http/est.ts';
import { silentLogger } from '../../src/index.ts';
import { estContext } from '../../src/instance/est.ts';
import type { useAcmeFixture } from '../acme/support/fixture.ts';

/**
 * EST in-process, through the same pipeline the TLS listener runs; `setPeer` stands for the client
 * certificate a handshake would carry (which proved its key: what this leaves out is only TLS).
 * Bodies are base64 in CRLF-broken lines of 64, as RFC 7030 §4.2.1 clients send them.
 */
export function estApp(t: ReturnType<typeof useAcmeFixture>) {
  const est = new EstService(estContext(t.ca, { eabSealKey: t.f.ctx.eabSealKey, logger: silentLogger }));
  let peer: Uint8Array | null = null;
  const fetchApp = createAcmeApp(t.f.ctx, { subs: [estResource(est)], peerCertificate: () => peer });
  const post = async (op: string, der: Uint8Array, headers: Record<string, string> = {}) => {
    const r = await fetchApp.request(`https://acme.test:9443/.well-known/est/${op}`, { method: 'POST', headers: { 'Content-Type': 'application/pkcs10', ...headers }, body: Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\r\n') });
    return { status: r.status, text: await r.text() };
  };
  return { post, setPeer: (der: Uint8Array) => (peer = der) };
}

import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { addIssuer } from '../../src/identity/issuers.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';
import { ISS, jwks, k8sClaims, K8S_TEMPLATE, sign, signingKey, type SigningKey } from '../identity/support.ts';
import { opensslCsr, opensslVerify, pkcs7Certs, postCsr, useEstServer } from './support.ts';

/**
 * EST simpleenroll with a workload identity token as the Bearer credential, end to end: a real
 * `pki serve` listener whose instance trusts a Kubernetes-shaped issuer (as `pki issuers add`
 * does), curl as the EST client, openssl verifying what comes back. The token is checked by the
 * same verifier ACME tkauth-01 uses (instance/workload-tokens.ts), wired in instance/tls-resources.ts.
 */
const work = tempDir();
let key: SigningKey;
// Registered before useEstServer's: hooks run in order, so the issuer key exists when the instance is configured.
beforeAll(async () => {
  key = await signingKey('RS256');
});
const t = useEstServer(work, {
  config: (ca) => {
    addIssuer({ store: ca.store }, { issuer: ISS, audience: 'pki', jwks: jwks(key), template: K8S_TEMPLATE, maxLifetimeMs: 24 * 3_600_000 }, ca.clock);
  },
});
// skips only locally: hasTool() throws when CI is set
const tools = hasTool('openssl') && hasTool('curl', ['--version']);

const now = () => Math.floor(Date.now() / 1000);
const token = (ns: string, sa: string, over: Record<string, unknown> = {}) => sign(key, k8sClaims(ns, sa, { iat: now(), nbf: now(), exp: now() + 600, ...over }));
const bearer = (tok: string) => ['-H', `Authorization: Bearer ${tok}`];

describe.skipIf(!tools)('EST simpleenroll with a Bearer workload identity token (curl + openssl)', () => { // skips only locally: the tool check throws when CI is set
  it('ok/a token grants exactly its template: the certificate carries the SPIFFE ID and the DNS name, verified by openssl', async () => {
    const { csrFile } = opensslCsr(work, 'api', { cn: 'api.payments.svc', sans: 'DNS:api.payments.svc,URI:spiffe://corp/ns/payments/sa/api' });
    const r = await postCsr(t, work, 'simpleenroll', csrFile, bearer(await token('payments', 'api')));
    expect(r.status, r.body).toBe(200);
    const certFile = join(work, 'api.pem');
    writeFileSync(certFile, pkcs7Certs(work, r.body));
    expect(opensslVerify(t, certFile)).toMatch(/: OK/);
    const cert = new X509Certificate(readFileSync(certFile));
    expect(cert.subjectAltName).toContain('URI:spiffe://corp/ns/payments/sa/api');
    expect(cert.subjectAltName).toContain('DNS:api.payments.svc');
  });

  it('bad/a name outside the grant is 403, a replayed token and a forged one are 401, each saying why', async () => {
    const { csrFile } = opensslCsr(work, 'other', { cn: 'ledger.finance.svc', sans: 'DNS:ledger.finance.svc' });
    const outside = await postCsr(t, work, 'simpleenroll', csrFile, bearer(await token('payments', 'api')));
    expect(outside.status).toBe(403);
    expect(outside.body).toMatch(/ledger\.finance\.svc/);

    const tok = await token('payments', 'web');
    const { csrFile: webCsr } = opensslCsr(work, 'web', { cn: 'web.payments.svc', sans: 'DNS:web.payments.svc' });
    expect((await postCsr(t, work, 'simpleenroll', webCsr, bearer(tok))).status).toBe(200);
    const replay = await postCsr(t, work, 'simpleenroll', webCsr, bearer(tok));
    expect(replay.status).toBe(401);
    expect(replay.body).toMatch(/jti|replay|already/i);

    const forged = await postCsr(t, work, 'simpleenroll', webCsr, bearer(await sign(await signingKey('RS256'), k8sClaims('payments', 'web', { iat: now(), nbf: now(), exp: now() + 600 }))));
    expect(forged.status).toBe(401);
    expect(forged.headers['www-authenticate']).toMatch(/Bearer .*invalid_token/);
  });
});

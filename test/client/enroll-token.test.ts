import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { x509 } from '../../src/x509/x509.ts';
import { pkiAsync as pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasPyJwt, pyjwtTokens } from '../identity/pyjwt.ts';
import { jwks, k8sClaims, sign, signingKey } from '../identity/support.ts';
import { useWorkloadTestEnv } from './support.ts';

/**
 * `pki enroll --token-file` and `pki renew` with a workload identity token (tkauth-01) against a
 * CA served in this process: no challenge responder, no EAB, only the token the template allows.
 */
const work = tempDir();
const env = useWorkloadTestEnv(work, { requireEab: false });
const ISS = 'https://kubernetes.default.svc.cluster.local';

describe('pki enroll --token-file', async () => {
  const key = await signingKey('RS256', 'sa');
  const jwksFile = join(work, 'jwks.json');
  writeFileSync(jwksFile, jwks(key));
  /** A projected token as the kubelet writes it: valid 10 min from now, a fresh jti. */
  const token = (ns: string, sa: string, over: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return sign(key, k8sClaims(ns, sa, { iat: now, nbf: now, exp: now + 600, ...over }));
  };
  const tokenFile = join(work, 'token');
  const enroll = (out: string, ...ids: string[]) =>
    pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', out, '--token-file', tokenFile, ...ids]);
  const serialOf = (out: string) => new x509.X509Certificate(readFileSync(join(out, 'cert.pem'), 'utf8')).serialNumber.toLowerCase();
  const sansOf = (out: string) =>
    new x509.X509Certificate(readFileSync(join(out, 'cert.pem'), 'utf8')).getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON().map((n) => `${n.type}:${n.value}`).sort();

  it('ok/enrolls with the SPIFFE ID and DNS name of its service account; renew reads the rotated token', async () => {
    const add = await pki(['issuers', 'add', '--dir', env.ca.dir, '--issuer', ISS, '--jwks-file', jwksFile, '--subject', '^system:serviceaccount:(?<ns>[a-z0-9-]+):(?<sa>[a-z0-9-]+)$', '--identifier', 'uri:spiffe://corp/ns/{ns}/sa/{sa}', '--identifier', 'dns:{sa}.{ns}.svc']);
    expect(add.status, add.stderr).toBe(0);
    writeFileSync(tokenFile, (await token('payments', 'api')) + '\n');
    const out = join(work, 'api');
    const r = await enroll(out, '--uri', 'spiffe://corp/ns/payments/sa/api', '--name', 'api.payments.svc');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(sansOf(out)).toEqual(['dns:api.payments.svc', 'url:spiffe://corp/ns/payments/sa/api']);
    const first = readFileSync(join(out, 'cert.pem'), 'utf8');

    // While the pair is valid and not revoked, renew goes by EST with the current certificate: no token needed.
    const byEst = await pki(['renew', '--out', out, '--force', '--json']);
    expect(byEst.stderr).toBe('');
    expect(JSON.parse(byEst.stdout)).toMatchObject({ action: 'renewed', reason: 'forced', via: 'est' });
    expect(sansOf(out)).toEqual(['dns:api.payments.svc', 'url:spiffe://corp/ns/payments/sa/api']);

    // Once EST cannot renew (the current certificate revoked), renew falls back to ACME and
    // presents the token as the kubelet rotated it in place.
    const revokeCurrent = () => env.ca.authority.revoke(serialOf(out), { reason: 'superseded' });
    await revokeCurrent();
    const second = readFileSync(join(out, 'cert.pem'), 'utf8');
    writeFileSync(tokenFile, await token('payments', 'api'));
    const renewed = await pki(['renew', '--out', out, '--force', '--json']);
    expect(renewed.status, renewed.stderr).toBe(0);
    expect(JSON.parse(renewed.stdout)).toMatchObject({ action: 'renewed', via: 'acme' });
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).not.toBe(second);
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).not.toBe(first);
    expect(sansOf(out)).toEqual(['dns:api.payments.svc', 'url:spiffe://corp/ns/payments/sa/api']);

    // An expired token left in the file when ACME is the only way: renew fails with the reason, the pair in place stays.
    await revokeCurrent();
    const now = Math.floor(Date.now() / 1000);
    writeFileSync(tokenFile, await token('payments', 'api', { iat: now - 1200, nbf: now - 1200, exp: now - 600 }));
    const before = readFileSync(join(out, 'cert.pem'), 'utf8');
    const failed = await pki(['renew', '--out', out, '--force']);
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(/pki: .*token refused: the token expired/);
    expect(readFileSync(join(out, 'cert.pem'), 'utf8')).toBe(before);
  });

  it('bad/a name outside the template, an unreadable or non-JWT token file, a contradictory --challenge', async () => {
    writeFileSync(tokenFile, await token('payments', 'api'));
    const outside = await enroll(join(work, 'db'), '--name', 'db.payments.svc');
    expect(outside.status).toBe(1);
    expect(outside.stderr).toMatch(/^pki: .*tkauth-01: the token grants uri:spiffe:\/\/corp\/ns\/payments\/sa\/api, dns:api.payments.svc, not dns:db.payments.svc/);

    const missing = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', join(work, 'x'), '--token-file', join(work, 'nope'), '--name', 'api.payments.svc']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^pki: cannot read the token file .*ENOENT/);

    writeFileSync(join(work, 'junk'), 'hello\n');
    const junk = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', join(work, 'y'), '--token-file', join(work, 'junk'), '--name', 'api.payments.svc']);
    expect(junk.status).toBe(1);
    expect(junk.stderr).toMatch(/does not hold a JWT/);

    const contradiction = await enroll(join(work, 'z'), '--name', 'api.payments.svc', '--challenge', 'dns-01');
    expect(contradiction.status).toBe(1);
    expect(contradiction.stderr).toMatch(/--token-file answers tkauth-01, not --challenge dns-01/);
  });

  // skips only locally: hasTool() throws when CI is set
  it.skipIf(!hasPyJwt())('ok/a Kubernetes-shaped token signed by PyJWT enrolls end to end', async () => { // skips only locally: the tool check throws when CI is set
    const iss = 'https://oidc.pyjwt.example';
    const made = pyjwtTokens(Math.floor(Date.now() / 1000), iss);
    writeFileSync(join(work, 'pyjwt-jwks.json'), JSON.stringify(made.jwks));
    const add = await pki(['issuers', 'add', '--dir', env.ca.dir, '--issuer', iss, '--jwks-file', join(work, 'pyjwt-jwks.json'), '--claim', 'kubernetes.io/namespace=(?<ns>[a-z0-9-]+)', '--identifier', 'dns:{claim.kubernetes.io/serviceaccount/name}.{ns}.pyjwt.svc']);
    expect(add.status, add.stderr).toBe(0);
    const file = join(work, 'pyjwt-token');
    writeFileSync(file, made.good);
    const out = join(work, 'pyjwt');
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', out, '--token-file', file, '--name', 'api.payments.pyjwt.svc']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(sansOf(out)).toEqual(['dns:api.payments.pyjwt.svc']);
    writeFileSync(file, made.forged['hs256-public-key']!);
    const forged = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--out', join(work, 'pyjwt-forged'), '--token-file', file, '--name', 'api.payments.pyjwt.svc']);
    expect(forged.status).toBe(1);
    expect(forged.stderr).toMatch(/algorithm "HS256" is not allowed/);
  });
});

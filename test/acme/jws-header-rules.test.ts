import { describe, expect, it } from 'vitest';
import { JWS_ALGORITHMS } from '../../src/acme/jws.ts';
import { newAccountKey, problemOf, type AccountKey } from './support/client.ts';
import { useAcmeFixture } from './support/fixture.ts';

/** RFC 7515 §4.1.11 (crit), RFC 8555 §6.2 (alg must fit the key) and §7.3.6 (deactivated accounts). */
const t = useAcmeFixture({ requireEab: false });

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A flattened JWS with exactly this protected header, signed by hand (jose refuses to sign an unknown "crit"). */
async function rawJws(key: AccountKey, header: Record<string, unknown>, payload: unknown, keyAlg: AccountKey['alg'] = 'ES256'): Promise<string> {
  const protectedB64 = b64(header);
  const payloadB64 = payload === '' ? '' : b64(payload);
  const data = new TextEncoder().encode(`${protectedB64}.${payloadB64}`);
  const params = { ES256: { name: 'ECDSA', hash: 'SHA-256' }, ES384: { name: 'ECDSA', hash: 'SHA-384' }, RS256: { name: 'RSASSA-PKCS1-v1_5' }, EdDSA: { name: 'Ed25519' } }[keyAlg];
  const sig = await crypto.subtle.sign(params, key.privateKey, data);
  return JSON.stringify({ protected: protectedB64, payload: payloadB64, signature: Buffer.from(sig).toString('base64url') });
}

describe('crit (RFC 7515 §4.1.11)', () => {
  const post = async (extra: Record<string, unknown>) => {
    const key = await newAccountKey();
    const header = { alg: 'ES256', jwk: key.jwk, nonce: await t.f.client.nonce(), url: t.f.links.newAccount, ...extra };
    return t.f.client.post(t.f.links.newAccount, null, { key, body: await rawJws(key, header, { termsOfServiceAgreed: true }) });
  };

  it('ok/the same hand-signed request without crit is accepted (the control)', async () => {
    expect((await post({})).status).toBe(201);
  });

  it.each([
    ['an extension pki does not understand', { crit: ['exp'], exp: 1 }],
    ['a header defined by JWS itself', { crit: ['alg'] }],
    ['a header that is not present', { crit: ['b64x'] }],
    ['an empty array', { crit: [] }],
    ['not an array', { crit: 'exp', exp: 1 }],
    ['a non-string member', { crit: [7] }],
    ['a name twice', { crit: ['exp', 'exp'], exp: 1 }],
  ])('fail/crit naming %s → malformed 400, no account', async (_what, extra) => {
    const p = await problemOf(await post(extra));
    expect(p).toMatchObject({ status: 400, type: 'malformed' });
    expect(p.detail).toContain('crit');
  });

  it('fail/crit inside a keyChange inner JWS is refused too', async () => {
    const a = await t.f.account();
    const fresh = await newAccountKey();
    const inner = JSON.parse(await rawJws(fresh, { alg: 'ES256', jwk: fresh.jwk, url: t.f.links.keyChange, crit: ['exp'], exp: 1 }, { account: a.kid, oldKey: a.key.jwk })) as unknown;
    const p = await problemOf(await t.f.client.post(t.f.links.keyChange, inner, { key: a.key, kid: a.kid }));
    expect(p).toMatchObject({ status: 400, type: 'malformed' });
    expect(p.detail).toContain('crit');
  });
});

describe('alg that does not fit the key (RFC 8555 §6.2)', () => {
  it.each([
    ['RS256', 'ES256'],
    ['ES384', 'ES256'],
    ['EdDSA', 'ES256'],
    ['ES256', 'RS256'],
    ['ES256', 'EdDSA'],
  ] as const)('fail/alg %s with a %s key (jwk) → badSignatureAlgorithm with the algorithms list', async (alg, keyAlg) => {
    const key = await newAccountKey(keyAlg);
    // Signed with the key's own algorithm under the wrong "alg": the server must refuse before verifying.
    const body = (await rawJws(key, { alg, jwk: key.jwk, nonce: await t.f.client.nonce(), url: t.f.links.newAccount }, { termsOfServiceAgreed: true }, keyAlg)) as string;
    const r = await t.f.client.post(t.f.links.newAccount, null, { key, body });
    const problem = (await r.clone().json()) as { algorithms?: string[] };
    expect(await problemOf(r)).toMatchObject({ status: 400, type: 'badSignatureAlgorithm' });
    expect(problem.algorithms).toEqual([...JWS_ALGORITHMS]);
  });

  it('fail/alg RS256 on a kid request of an EC account → badSignatureAlgorithm', async () => {
    const a = await t.f.account();
    const header = { alg: 'RS256', kid: a.kid, nonce: await t.f.client.nonce(), url: t.f.links.newOrder };
    const r = await t.f.client.post(t.f.links.newOrder, null, { key: a.key, body: await rawJws(a.key, header, { identifiers: [{ type: 'dns', value: 'alg.example.test' }] }) });
    const body = (await r.clone().json()) as { algorithms?: string[] };
    expect(await problemOf(r)).toMatchObject({ status: 400, type: 'badSignatureAlgorithm' });
    expect(body.algorithms).toEqual([...JWS_ALGORITHMS]);
  });
});

describe('deactivated account (RFC 8555 §7.3.6)', () => {
  it('fail/every request of a deactivated account → unauthorized 401, kid or jwk', async () => {
    const a = await t.f.account();
    expect((await t.f.client.post(a.kid, { status: 'deactivated' }, { key: a.key, kid: a.kid })).status).toBe(200);
    expect(await problemOf(await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: 'x.example.test' }] }, { key: a.key, kid: a.kid }))).toMatchObject({ status: 401, type: 'unauthorized' });
    expect(await problemOf(await t.f.client.post(a.kid, '', { key: a.key, kid: a.kid }))).toMatchObject({ status: 401, type: 'unauthorized' });
    expect(await problemOf(await t.f.client.post(t.f.links.newAccount, { onlyReturnExisting: true }, { key: a.key }))).toMatchObject({ status: 401, type: 'unauthorized' });
  });
});

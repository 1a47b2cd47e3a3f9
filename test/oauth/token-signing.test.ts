import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenSigningKey, derToJoseSignature, PUBLISH_AHEAD_MS, TokenSigningKeys } from '../../src/authority/token-signing.ts';
import { fixedClock } from '../../src/domain/clock.ts';
import type { CaInstance } from '../../src/index.ts';
import { createTestCa } from '../helpers/ca.ts';

const OVERLAP = 15 * 60_000;

describe('token-signing keys (authority/token-signing.ts): ES256 JWS, rotation with overlap', () => {
  let ca: CaInstance;
  beforeAll(async () => {
    ca = await createTestCa();
  });
  afterAll(async () => {
    await ca?.close();
  });

  it('ok/pki init made one key; its JWS verifies with jose against the published JWKS', async () => {
    const keys = await TokenSigningKeys.open({ keyStore: ca.keyStore, store: ca.store, clock: ca.clock, overlapMs: OVERLAP });
    expect(keys.jwks().keys).toHaveLength(1);
    const jwt = await keys.signAccessToken({ iss: 'https://as', aud: 'https://rs', exp: Math.floor(Date.now() / 1000) + 60 });
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: keys.currentKid });
    const { payload } = await jwtVerify(jwt, createLocalJWKSet(keys.jwks() as never), { issuer: 'https://as', audience: 'https://rs', typ: 'at+jwt' });
    expect(payload.aud).toBe('https://rs');
  });

  it('ok/rotation: the new key is published at once and signs a minute later; the old one stays published for the longest token lifetime, then leaves', async () => {
    const clock = fixedClock(new Date());
    const keys = await TokenSigningKeys.open({ keyStore: ca.keyStore, store: ca.store, clock, overlapMs: OVERLAP });
    const oldKid = keys.currentKid!;
    const { kid } = await createTokenSigningKey(ca.keyStore, ca.store, clock, 'test', { aheadMs: PUBLISH_AHEAD_MS });
    await keys.refresh();
    // Published before it signs: a resource server that fetches the JWKS now already knows it.
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([oldKid, kid]);
    expect(keys.currentKid).toBe(oldKid);
    const oldToken = await keys.signAccessToken({ exp: Math.floor(clock.now().getTime() / 1000) + 900 });
    expect(decodeProtectedHeader(oldToken).kid).toBe(oldKid);
    clock.advance(PUBLISH_AHEAD_MS);
    expect(keys.currentKid).toBe(kid);
    expect(decodeProtectedHeader(await keys.signAccessToken({})).kid).toBe(kid);
    await jwtVerify(oldToken, createLocalJWKSet(keys.jwks() as never), { currentDate: clock.now() });
    clock.advance(OVERLAP - 1000);
    await keys.refresh();
    expect(keys.jwks().keys.map((k) => k.kid)).toContain(oldKid);
    clock.advance(2000);
    expect(keys.jwks().keys.map((k) => k.kid)).toEqual([kid]);
    // A process opening now (pki serve restarted) sees the same.
    const reopened = await TokenSigningKeys.open({ keyStore: ca.keyStore, store: ca.store, clock, overlapMs: OVERLAP });
    expect([reopened.currentKid, reopened.jwks().keys.map((k) => k.kid)]).toEqual([kid, [kid]]);
  });

  it('ok/DER ECDSA-Sig-Value → JOSE r||s: short and padded integers land right-aligned in 32 octets', () => {
    // SEQUENCE { INTEGER 0x00 0x80..(33 octets with sign pad), INTEGER 0x01 }
    const r = Buffer.concat([Buffer.from([0x00, 0x80]), Buffer.alloc(31, 0x11)]);
    const der = Buffer.concat([Buffer.from([0x30, 2 + r.length + 3, 0x02, r.length]), r, Buffer.from([0x02, 0x01, 0x01])]);
    const raw = derToJoseSignature(der);
    expect(raw.length).toBe(64);
    expect(Buffer.from(raw.subarray(0, 32)).equals(r.subarray(1))).toBe(true);
    expect(Buffer.from(raw.subarray(32)).equals(Buffer.concat([Buffer.alloc(31), Buffer.from([1])]))).toBe(true);
    expect(() => derToJoseSignature(Buffer.from([0x04, 0x00]))).toThrow(/SEQUENCE/);
  });
});

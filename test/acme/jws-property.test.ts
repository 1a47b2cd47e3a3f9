import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkRequestHeader, decodePayload, importAccountKey, parseFlattenedJws, verifyAccountSignature } from '../../src/acme/jws.ts';
import { isAcmeProblem } from '../../src/acme/problems.ts';
import { serialFromCertId } from '../../src/acme/handlers/order.ts';
import { isCaError } from '../../src/domain/errors.ts';
import { newAccountKey } from './support/client.ts';

/** Untrusted-input parsers (DESIGN: property tests): any input is accepted or refused with a problem, never anything else. */
const refusesCleanly = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (!isAcmeProblem(e) && !isCaError(e)) throw e;
    if (isAcmeProblem(e)) expect(e.status).toBeLessThan(500);
  }
};

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : (JSON.stringify(v) ?? 'null')).toString('base64url');

describe('JWS parsing on arbitrary input', () => {
  it('parseFlattenedJws + checkRequestHeader + decodePayload never throw anything but a 4xx problem', () => {
    const header = fc.record({ alg: fc.oneof(fc.constantFrom('ES256', 'RS256', 'none', 'HS256'), fc.string()), url: fc.oneof(fc.string(), fc.integer()), nonce: fc.string(), kid: fc.option(fc.string()), jwk: fc.option(fc.oneof(fc.object(), fc.string())) }, { requiredKeys: [] });
    const body = fc.oneof(
      fc.anything(),
      fc.record({ protected: fc.oneof(header.map(b64), fc.string()), payload: fc.oneof(fc.string(), fc.anything().map(b64)), signature: fc.string() }, { requiredKeys: [] }),
    );
    fc.assert(
      fc.property(body, (input) => {
        refusesCleanly(() => {
          const { jws, header: h } = parseFlattenedJws(input);
          checkRequestHeader(h);
          decodePayload(Buffer.from(jws.payload, 'base64url'));
        });
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary JWKs and signatures are refused as problems', async () => {
    const key = await newAccountKey();
    fc.assert(
      fc.property(fc.record({ kty: fc.constantFrom('EC', 'RSA', 'OKP', 'oct', 'x'), crv: fc.constantFrom('P-256', 'P-384', 'Ed25519', 'x'), x: fc.base64String(), y: fc.base64String(), n: fc.base64String(), e: fc.constantFrom('AQAB', 'Aw') }, { requiredKeys: ['kty'] }), fc.constantFrom('ES256', 'ES384', 'RS256', 'EdDSA'), fc.string(), (jwk, alg, sig) => {
        refusesCleanly(() => verifyAccountSignature({ protected: b64({ alg }), payload: '', signature: sig }, alg, importAccountKey(jwk as never, alg)));
      }),
      { numRuns: 500 },
    );
    // A real key with garbage signatures of every length.
    const k = importAccountKey(key.jwk, 'ES256');
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (sig) => refusesCleanly(() => verifyAccountSignature({ protected: b64({ alg: 'ES256' }), payload: '', signature: Buffer.from(sig).toString('base64url') }, 'ES256', k))));
  });

  it('ARI certificate ids: arbitrary strings are refused cleanly', () => {
    fc.assert(fc.property(fc.string(), (s) => refusesCleanly(() => serialFromCertId(s, 'ab'.repeat(20)))), { numRuns: 2000 });
  });
});

import { describe, expect, it } from 'vitest';
import { hasPyJwt, pyjwtTokens } from './pyjwt.ts';
import { identityFixture, nowS } from './support.ts';

/** Tokens made by PyJWT: pki accepts its Kubernetes-shaped token and refuses its forgeries of it. */
const PYJWT = hasPyJwt();

describe.skipIf(!PYJWT)('PyJWT interop', () => { // skips only locally: the tool check throws when CI is set
  // skips only locally: hasTool() throws when CI is set
  const made = PYJWT ? pyjwtTokens(nowS()) : { jwks: {}, good: '', forged: {} };

  it('ok/a Kubernetes-shaped RS256 token from PyJWT is accepted and yields the template identifiers', async () => {
    const f = identityFixture({ jwks: JSON.stringify(made.jwks) });
    const grant = await f.tokens.verify(made.good);
    expect(grant.identifiers.map((i) => `${i.type}:${i.value}`)).toEqual(['uri:spiffe://corp/ns/payments/sa/api', 'dns:api.payments.svc']);
  });

  it.each([
    ['none', /algorithm "none" is not allowed/],
    ['hs256-public-key', /algorithm "HS256" is not allowed/],
    ['other-key-same-kid', /signature does not verify/],
    ['unknown-kid', /no key of .* matches/],
    ['expired', /expired/],
    ['other-audience', /another audience/],
    ['other-issuer', /is not trusted/],
    ['user-not-serviceaccount', /does not match/],
  ])('bad/PyJWT forgery %s is refused', async (name, reason) => {
    const f = identityFixture({ jwks: JSON.stringify(made.jwks) });
    await expect(f.tokens.verify(made.forged[name]!)).rejects.toMatchObject({ kind: 'unauthorized', detail: expect.stringMatching(reason) });
    expect(f.audit('identity.token.refused')).toHaveLength(1);
  });
});

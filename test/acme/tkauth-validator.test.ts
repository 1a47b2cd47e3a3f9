import { describe, expect, it } from 'vitest';
import { CaError } from '../../src/domain/errors.ts';
import type { WorkloadTokenVerifier } from '../../src/domain/workload-token.ts';
import { Tkauth01Validator, type TkauthOutcome } from '../../src/acme/validation/tkauth-01.ts';

/** The tkauth-01 validator on its own: what it refuses, what it reports, with a stand-in verifier. */
describe('Tkauth01Validator', () => {
  const grant = { issuer: 'iss', subject: 'system:serviceaccount:a:b', identifiers: [{ type: 'dns' as const, value: 'b.a.svc' }] };
  function make(verify: WorkloadTokenVerifier) {
    const seen: { accounts: string[]; outcomes: TkauthOutcome[] } = { accounts: [], outcomes: [] };
    const v = new Tkauth01Validator({ forAccount: (id) => (seen.accounts.push(id), verify), offered: () => true }, (o) => seen.outcomes.push(o));
    return { v, seen };
  }
  const req = (response?: Record<string, unknown>, value = 'b.a.svc') => ({ identifier: { type: 'dns' as const, value }, token: 't', keyAuthorization: 'k', accountId: 'acct1', response });
  const problem = async (p: Promise<void>) => p.then(() => null, (e: { type: string; detail: string }) => ({ type: e.type.replace('urn:ietf:params:acme:error:', ''), detail: e.detail }));

  it('ok/a granted identifier is valid; the account is the presenter; audited', async () => {
    const { v, seen } = make(async () => grant);
    expect(await problem(v.validate(req({ atc: 'jwt' })))).toBeNull();
    expect(seen.accounts).toEqual(['acct1']);
    expect(seen.outcomes).toEqual([{ accountId: 'acct1', identifier: 'dns:b.a.svc', valid: true, subject: grant.subject, detail: null }]);
  });

  it('bad/no response (a retry after a restart), a refused token, an identifier not granted: unauthorized, audited', async () => {
    const { v, seen } = make(async (t) => {
      if (t === 'down') throw new CaError('unavailable', 'workload token refused: keys could not be fetched');
      return grant;
    });
    expect(await problem(v.validate(req(undefined)))).toMatchObject({ type: 'unauthorized', detail: expect.stringMatching(/no token was presented/) });
    expect(await problem(v.validate(req({ atc: 'down' })))).toMatchObject({ type: 'unauthorized', detail: 'tkauth-01: workload token refused: keys could not be fetched' });
    expect(await problem(v.validate(req({ atc: 'jwt' }, 'c.a.svc')))).toMatchObject({ type: 'unauthorized', detail: 'tkauth-01: the token grants dns:b.a.svc, not dns:c.a.svc' });
    expect(seen.outcomes.map((o) => o.valid)).toEqual([false, false, false]);
    expect(seen.outcomes.every((o) => o.detail?.startsWith('tkauth-01: '))).toBe(true);
  });
});

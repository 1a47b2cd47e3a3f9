import { describe, expect, it } from 'vitest';
import { outsideScopes, parseScope } from '../../src/acme/scopes.ts';
import type { Identifier } from '../../src/domain/types.ts';

const dns = (value: string): Identifier => ({ type: 'dns', value });
const ip = (value: string): Identifier => ({ type: 'ip', value });
const uri = (value: string): Identifier => ({ type: 'uri', value });

describe('issuance scopes', () => {
  const scopes = ['dns:*.payments.internal', 'dns:exact.internal', 'ip:10.1.0.0/16', 'ip:fd00::/64', 'uri:spiffe://corp/payments/*'];
  it('ok/inside', () => {
    expect(outsideScopes(scopes, [dns('a.payments.internal'), dns('b.c.payments.internal'), dns('*.payments.internal'), dns('exact.internal'), ip('10.1.255.1'), ip('fd00::1'), uri('spiffe://corp/payments/api')])).toEqual([]);
  });
  it('fail/outside', () => {
    const out = [dns('payments.internal'), dns('xpayments.internal'), dns('a.exact.internal'), ip('10.2.0.1'), ip('fd01::1'), uri('spiffe://corp/paymentsx'), dns('evil.test')];
    expect(outsideScopes(scopes, out)).toEqual(out);
  });
  it('fail/malformed scopes are refused', () => {
    for (const s of ['payments', 'dns:a.*.b', 'ip:10.0.0.0/33', 'ip:nope', 'uri:a*b']) expect(() => parseScope(s), s).toThrow();
  });
});

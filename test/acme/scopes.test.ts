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

describe('issuance scopes on the canonical form (#16)', () => {
  const scopes = ['dns:*.payments.internal', 'ip:10.1.0.0/16', 'ip:fd00::/64', 'uri:spiffe://corp/payments/*', 'uri:https://corp.example/api/*'];

  it('fail/identifiers that mean something outside a scope, or are not canonical, are never inside', () => {
    const escapes = [
      uri('spiffe://corp/payments/../admin'), uri('spiffe://corp/payments/%2e%2e/admin'), uri('spiffe://corp/payments/%2E%2E/admin'), uri('spiffe://corp/payments/a b'),
      uri('spiffe://corp/payments/./x'), uri('spiffe://corp/payments-evil/x'), uri('spiffe://corp/payments'), uri('spiffe://corp/payments/'), uri('spiffe://Corp/payments/x'),
      uri('spiffe://u@corp/payments/x'), uri('spiffe://corp:1/payments/x'), uri('spiffe://corp/payments/x?y'), uri('spiffe://corp/payments//x'),
      uri('https://corp.example/api/x%2F..%2F..%2Fadmin'), uri('https://corp.example/api/%2E%2E/admin'), uri('https://corp.example:443/api/x'), uri('https://u@corp.example/api/x'), uri('https://corp.example/api/'), uri('https://corp.example/api//evil.example/x'), uri('https://corp.example/api/?x'),
      ip('::ffff:10.1.0.1'), ip('::ffff:a01:1'), ip('010.1.0.1'), ip('10.1.0.01'), ip('FD00::1'), ip('fd00:0:0:0:0:0:0:1'), ip('fd00::1%eth0'), ip('fd00:0:0:1::1'), ip('10.0.255.255'), ip('10.2.0.0'),
      dns('a.payments.internal.'), dns('A.payments.internal'), dns('payments.internal'), dns('a.payments.internal.evil'), dns('apayments.internal'), dns('a.*.payments.internal'), dns('xn--abc.payments.internal'),
    ];
    for (const id of escapes) expect(outsideScopes(scopes, [id]), `${id.type}:${id.value}`).toEqual([id]);
    expect(outsideScopes(scopes, [uri('spiffe://corp/payments/api/v1'), uri('https://corp.example/api/x?y=1'), ip('10.1.255.255'), ip('fd00::ffff:1'), dns('*.a.payments.internal')])).toEqual([]);
  });

  it('ok/an IPv4-mapped address matches no scope, IPv4 or IPv6 (the gate refuses it outright)', () => {
    for (const s of ['ip:10.1.0.0/16', 'ip:0.0.0.0/0', 'ip:::/0']) expect(outsideScopes([s], [ip('::ffff:a01:1')]), s).toHaveLength(1);
    expect(outsideScopes(['ip:::/0'], [ip('10.1.0.1')])).toHaveLength(1);
    expect(outsideScopes(['ip:0.0.0.0/0'], [ip('::1')])).toHaveLength(1);
  });

  it('fail/scopes are held to the same canonical forms, and a URI "*" only as a whole last segment', () => {
    for (const s of ['dns:*.Payments.internal', 'dns:*.payments.internal.', 'dns:a.payments.internal.', 'dns:*', 'dns:*.xn--abc.internal', 'ip:010.1.0.0/16', 'ip:10.1.2.3/16', 'ip:10.1.0.0/016', 'ip:::ffff:10.0.0.0/104', 'ip:FD00::/64', 'ip:fd00:0::/64', 'ip:10.0.0.0/8/8', 'uri:spiffe://corp/payments*', 'uri:spiffe://corp/pay*/x', 'uri:https://corp/*/x/*', 'uri:https://corp/a*', 'uri:spiffe://corp/payments/../*', 'uri:spiffe://corp/%2E%2E/*', 'uri:spiffe://corp/payments/', 'uri:https://corp/a?b/*', 'DNS:a.example']) {
      expect(() => parseScope(s), s).toThrow(/scope/);
    }
    expect(parseScope('uri:spiffe://corp/*')).toEqual({ type: 'uri', under: 'spiffe://corp/' });
    expect(parseScope('ip:0.0.0.0/0')).toMatchObject({ type: 'ip', family: 4, prefixBits: 0 });
  });

  it('fail/a stored scope that no longer parses admits nothing (fails closed)', () => {
    expect(outsideScopes(['uri:spiffe://corp/payments*'], [uri('spiffe://corp/payments/x')])).toHaveLength(1);
  });
});

import { describe, expect, it } from 'vitest';
import { checkIdentifier, identifierError, parseIdentifier } from '../../src/domain/identifiers.ts';
import { isCaError } from '../../src/domain/errors.ts';
import type { Identifier } from '../../src/domain/types.ts';

const accepts = (type: Identifier['type'], values: string[]) => {
  for (const value of values) expect(identifierError({ type, value }), `${type}:${value}`).toBeNull();
};
const refuses = (type: Identifier['type'], values: string[]) => {
  for (const value of values) expect(identifierError({ type, value }), `${type}:${value}`).toEqual(expect.any(String));
};

describe('the identifier gate: one canonical form, refused otherwise (#16)', () => {
  it('ok/accepts canonical identifiers and returns them unchanged', () => {
    accepts('dns', ['a.example', '*.a.example', 'localhost', 'xn--bcher-kva.example', 'a-b.c0.example']);
    accepts('ip', ['10.0.0.1', '0.0.0.0', '255.255.255.255', '2001:db8::1', '::', '::1', '1::', 'fd00::', '1:0:0:1::1', '2001:db8:0:1:1:1:1:1']);
    accepts('uri', ['spiffe://corp/payments/api', 'spiffe://corp', 'spiffe://corp.example/ns/a_b/sa/x-y.z', 'https://corp.example/a/b?x=1#f', 'https://[2001:db8::1]:8443/a', 'https://10.0.0.1/a', 'urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6', 'https://corp/a%20b']);
    expect(checkIdentifier({ type: 'uri', value: 'spiffe://corp/x' })).toEqual({ type: 'uri', value: 'spiffe://corp/x' });
  });

  it('fail/DNS: trailing dot, uppercase, misplaced wildcards, bad labels, A-labels that are not IDNA, numeric names', () => {
    refuses('dns', ['a.example.', 'A.example', 'a.Example', 'a.*.example', '*', '*.', '**.example', 'x*.example', '*a.example', '', '.', 'a..example', '-a.example', 'a-.example', 'a_b.example', 'a b.example', 'ab--c.example', 'xn--abc.example', 'xn--.example', `${'a'.repeat(64)}.example`, `${'a.'.repeat(127)}ab`, '10.0.0.1', '10.0.0.01', '1.2.3', 'bücher.example']);
  });

  it('fail/IP: leading zeros, non-canonical IPv6, zone ids, embedded dotted IPv4, IPv4-mapped in any spelling', () => {
    refuses('ip', ['010.0.0.1', '10.0.0.01', '10.0.0', '10.0.0.256', '10.0.0.1/32', ' 10.0.0.1', '0x0a.0.0.1', '2001:DB8::1', '2001:db8:0:0:0:0:0:1', '2001:0db8::1', '2001:db8::0:1', '2001:db8:0::1', '1::1:0:0:0:1', '2001:db8::1%eth0', 'fe80::1%25eth0', '[2001:db8::1]', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '::ffff:10.0.0.1', '::ffff:a00:1', '::FFFF:a00:1', '0:0:0:0:0:ffff:a00:1', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3']);
    expect(identifierError({ type: 'ip', value: '::ffff:10.1.2.3' })).toMatch(/IPv4-mapped.*10\.1\.2\.3/);
    expect(identifierError({ type: 'ip', value: '2001:db8:0:0:0:0:0:1' })).toMatch(/write 2001:db8::1/);
  });

  it('fail/URI: dot segments plain or encoded, encoded unreserved, userinfo, spaces, case, ports', () => {
    refuses('uri', [
      'spiffe://corp/payments/../admin', 'spiffe://corp/payments/./admin', 'spiffe://corp/payments/%2e%2e/admin', 'spiffe://corp/payments/%2E%2E/admin', 'spiffe://corp/payments/.%2E/admin',
      'https://corp/a/../b', 'https://corp/a/%2E/b', 'https://corp/%61', 'https://corp/a%7E', 'https://corp/a%2fb', 'https://corp/a%2Fb', 'https://corp/a%5Cb', 'https://corp/a\\b', 'https://corp/a%2', 'https://corp/a%zz',
      'spiffe://corp/payments/a b', 'https://corp/a b', 'https://corp/\u00e9', 'https://corp/a"b', 'https://corp/a<b', 'https://u@corp/a', 'https://u:p@corp/a', 'spiffe://u@corp/x',
      'HTTPS://corp/a', 'https://CORP/a', 'https://corp./a', 'https://corp:443/a', 'http://corp:80/a', 'https://corp:/a', 'https://corp:0443/a', 'https://corp:99999/a', 'https://[2001:DB8::1]/a', 'https://[::ffff:a00:1]/a', 'https://010.0.0.1/a',
      'relative/path', '/abs/path', '//corp/a', 'https:', 'https:///a', 'https://corp/a#b#c', 'https://corp/a[b]',
    ]);
  });

  it('fail/SPIFFE IDs: trust domain rules, no port, query or fragment, non-empty segments, no trailing slash', () => {
    refuses('uri', ['spiffe://Corp/x', 'spiffe://corp:8080/x', 'spiffe://corp/x?y', 'spiffe://corp/x#y', 'spiffe://corp//x', 'spiffe://corp/x/', 'spiffe://corp/', 'spiffe:///x', 'spiffe://corp/x%20y', 'spiffe://corp/x:y', 'spiffe:corp/x', 'SPIFFE://corp/x']);
  });

  it('fail/checkIdentifier throws rejectedIdentifier saying why; parseIdentifier goes through the same gate', () => {
    try {
      checkIdentifier({ type: 'dns', value: 'a.example.' });
      expect.unreachable();
    } catch (e) {
      expect(isCaError(e) && e.kind).toBe('rejectedIdentifier');
      expect((e as Error).message).toMatch(/ends with a dot/);
    }
    expect(parseIdentifier('dns:a.example')).toEqual({ type: 'dns', value: 'a.example' });
    expect(parseIdentifier('2001:db8::1')).toEqual({ type: 'ip', value: '2001:db8::1' });
    expect(parseIdentifier('a.example')).toEqual({ type: 'dns', value: 'a.example' });
    for (const t of ['010.0.0.1', 'ip:::ffff:10.0.0.1', 'A.example', 'dns:a.example.', 'uri:spiffe://corp/a/../b', 'DNS:a.example']) expect(() => parseIdentifier(t), t).toThrow();
  });
});

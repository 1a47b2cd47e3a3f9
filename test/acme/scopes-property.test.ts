import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { outsideScopes } from '../../src/acme/scopes.ts';
import { identifierError } from '../../src/domain/identifiers.ts';
import type { Identifier } from '../../src/domain/types.ts';

/**
 * Property (#16): the identifier gate and the scope matcher together never admit an identifier
 * that means something outside its scope, under any reading a consumer might give it. Identifiers
 * are generated around each scope boundary; the oracles below read them independently of pki's code
 * (WHATWG URL for IP text, net.BlockList for prefixes, a decoding + dot-segment-removing reading of
 * URIs) and an admitted identifier must be inside under every reading.
 */
const SCOPES = ['dns:*.payments.internal', 'dns:exact.internal', 'ip:10.1.0.0/16', 'ip:fd00::/64', 'uri:spiffe://corp/payments/*', 'uri:https://corp.example/api/*'];
const RUNS = { numRuns: 3000 };

const admitted = (id: Identifier) => identifierError(id) === null && outsideScopes(SCOPES, [id]).length === 0;

// --- DNS ---------------------------------------------------------------------------------------
const dnsLabel = fc.constantFrom('a', 'A', 'b0', '*', 'xn--bcher-kva', 'xn--abc', 'xn--Bcher-kva', 'payments', 'Payments', 'payments-evil', 'evilpayments', 'internal', 'exact', 'ab--c', '-a', '', '1', '0x1');
const dnsName = fc.tuple(fc.array(dnsLabel, { minLength: 0, maxLength: 3 }), fc.constantFrom(['payments', 'internal'], ['exact', 'internal'], ['internal'], ['payments', 'internal', 'evil'], []), fc.constantFrom('', '.', '..'))
  .map(([head, tail, dot]) => [...head, ...tail].join('.') + dot);

/** Inside under a resolver's reading: case folded, a trailing dot dropped. */
function dnsInside(value: string): boolean {
  const labels = value.toLowerCase().replace(/\.$/, '').split('.');
  const under = labels.length >= 3 && labels.slice(-2).join('.') === 'payments.internal' && labels.slice(0, -2).every((l, i) => l !== '' && (l !== '*' || i === 0));
  return under || labels.join('.') === 'exact.internal';
}

// --- IP ----------------------------------------------------------------------------------------
const v4Octet = fc.oneof(fc.constantFrom(0, 1, 10, 254, 255), fc.integer({ min: 0, max: 255 }));
const v4Text = fc.tuple(fc.constantFrom(10, 9, 11, 0), fc.constantFrom(0, 1, 2, 255), v4Octet, v4Octet, fc.constantFrom('', '0', '00'))
  .map(([a, b, c, d, pad]) => [a, b, c, d].map((n, i) => (i === 3 && pad ? pad + n : String(n))).join('.'));
const hexGroup = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom('', '0'), fc.boolean()).map(([n, pad, upper]) => {
  const h = pad + n.toString(16);
  return upper ? h.toUpperCase() : h;
});
const v6Text = fc.oneof(
  fc.tuple(fc.constantFrom('fd00', 'fd00:0:0:0', 'fd00:0:0:1', 'fd00::', 'fd01', 'FD00', 'fc00'), fc.array(hexGroup, { minLength: 1, maxLength: 4 })).map(([p, g]) => (p.endsWith('::') ? p + g.join(':') : `${p}::${g.join(':')}`)),
  fc.tuple(v4Text, fc.constantFrom('::ffff:', '::', '0:0:0:0:0:ffff:', '::FFFF:', 'fd00::ffff:')).map(([v4, p]) => p + v4),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff })).map(([h, l]) => `::ffff:${h.toString(16)}:${l.toString(16)}`),
  fc.tuple(fc.array(hexGroup, { minLength: 8, maxLength: 8 }), fc.constantFrom('', '%eth0', '%25eth0')).map(([g, z]) => `fd00:0:0:0:${g.slice(4).join(':')}${z}`),
);

/** The canonical reading WHATWG URL gives the text (its own IPv4 and RFC 5952 serialisers). */
function whatwgHost(text: string): string | null {
  try {
    return new URL(`http://${text.includes(':') ? `[${text}]` : text}/`).hostname;
  } catch {
    return null;
  }
}
const v4Scope = new BlockList();
v4Scope.addSubnet('10.1.0.0', 16, 'ipv4');
const v6Scope = new BlockList();
v6Scope.addSubnet('fd00::', 64, 'ipv6');

// --- URI ---------------------------------------------------------------------------------------
const segment = fc.constantFrom('payments', 'payments-evil', 'paymentsx', 'Payments', 'api', 'admin', 'a', '.', '..', '%2e', '%2E', '%2e%2e', '%2E%2E', '.%2E', '%2F', 'a%2Fb', '%5C', '%252e%252e', 'a b', '', 'x%20y', '%61', '%7e', 'a:b', 'a@b');
const authority = fc.constantFrom('corp', 'corp.example', 'corp', 'corp.example', 'Corp', 'corp.', 'corp:443', 'u@corp', 'corp-evil', 'corp.example', 'corp.example:443', 'CORP.example', 'u@corp.example', 'corp.example.');
const scopeSegment = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('payments', 'api') }, { weight: 1, arbitrary: segment });
const plainSegment = fc.oneof({ weight: 2, arbitrary: fc.constantFrom('a', 'v1', 'x-y_z.w') }, { weight: 3, arbitrary: segment });
const uriText = fc.tuple(fc.constantFrom('spiffe', 'https', 'spiffe', 'https', 'SPIFFE', 'http'), authority, fc.option(scopeSegment), fc.array(plainSegment, { minLength: 0, maxLength: 3 }), fc.constantFrom('', '', '', '/', '?x', '#f', '?a/../b'))
  .map(([scheme, auth, first, segs, tail]) => `${scheme}://${auth}${[...(first === null ? [] : [first]), ...segs].map((s) => `/${s}`).join('')}${tail}`);

/** The path as a lax consumer reads it: percent-decoded (an encoded "/" or "\" splits), dot segments removed (RFC 3986 §5.2.4). */
function laxSegments(path: string): string[] {
  const decoded = path.split('/').flatMap((s) => {
    let d = s;
    try {
      d = decodeURIComponent(s);
    } catch {
      /* kept as written */
    }
    return d.split(/[/\\]/);
  });
  const out: string[] = [];
  for (const s of decoded) {
    if (s === '..') out.pop();
    else if (s !== '.') out.push(s);
  }
  return out;
}

/** Inside under the strict and the lax reading: same scheme and host, and the path stays under the scope's. */
function uriInside(value: string): boolean {
  const m = /^([^:]+):\/\/([^/?#]*)([^?#]*)/.exec(value);
  if (!m) return false;
  const [, scheme, auth, path] = m as unknown as [string, string, string, string];
  const host = auth.toLowerCase().replace(/\.$/, '').replace(/^.*@/, '').replace(/:(443)?$/, '');
  const base = scheme.toLowerCase() === 'spiffe' ? ['spiffe', 'corp', ['payments']] : scheme.toLowerCase() === 'https' ? ['https', 'corp.example', ['api']] : null;
  if (!base || host !== base[1] || auth.includes('@')) return false;
  const want = base[2] as string[];
  const under = (segs: string[]) => segs.length > want.length && want.every((w, i) => segs[i] === w) && segs[want.length] !== '';
  const raw = path.split('/').slice(1);
  return under(raw) && under(laxSegments(path).slice(1));
}

describe('scope property: nothing outside a scope is ever admitted (#16)', () => {
  it('DNS names around *.payments.internal and exact.internal', () => {
    fc.assert(
      fc.property(dnsName, (value) => {
        if (!admitted({ type: 'dns', value })) return;
        expect(dnsInside(value)).toBe(true);
        // Admitted means canonical: lowercase, no trailing dot, A-labels that round-trip.
        expect(value).toBe(value.toLowerCase());
        expect(domainToASCII(value.replace(/^\*\./, ''))).toBe(value.replace(/^\*\./, ''));
      }),
      RUNS,
    );
  });

  it('IPs around 10.1.0.0/16 and fd00::/64: family, prefix and canonical text', () => {
    fc.assert(
      fc.property(fc.oneof(v4Text, v6Text), (value) => {
        if (!admitted({ type: 'ip', value })) return;
        const family = isIP(value);
        expect(family).not.toBe(0);
        expect(family === 4 ? v4Scope.check(value, 'ipv4') : v6Scope.check(value, 'ipv6')).toBe(true);
        // An IPv4-mapped address is never admitted, in any spelling, by either family's scope.
        expect(value.toLowerCase()).not.toMatch(/^(::|0:0:0:0:0:)ffff:[^:]*(:[^:]*)?$/);
        expect(whatwgHost(value)).toBe(family === 6 ? `[${value}]` : value);
      }),
      RUNS,
    );
  });

  it('URIs around spiffe://corp/payments/* and https://corp.example/api/*: segments, encodings, case, userinfo, ports', () => {
    fc.assert(
      fc.property(uriText, (value) => {
        if (!admitted({ type: 'uri', value })) return;
        expect(uriInside(value)).toBe(true);
      }),
      RUNS,
    );
  });

  it('the generators reach both sides of each boundary (the properties are not vacuous)', () => {
    const sample = <T>(arb: fc.Arbitrary<T>) => fc.sample(arb, { numRuns: 3000, seed: 16 });
    const inside = (type: Identifier['type'], values: string[]) => values.filter((value) => admitted({ type, value })).length;
    expect(inside('dns', sample(dnsName))).toBeGreaterThan(10);
    expect(inside('ip', sample(fc.oneof(v4Text, v6Text)))).toBeGreaterThan(10);
    expect(inside('uri', sample(uriText))).toBeGreaterThan(10);
  });
});

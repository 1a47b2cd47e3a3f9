import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { derOid, derTlv, readTlv } from '../../src/domain/der.ts';
import { parseOcspRequest, type OcspRequestInfo } from '../../src/status/ocsp-request.ts';

const SHA1 = '1.3.14.3.2.26';
const NONCE = '1.3.6.1.5.5.7.48.1.2';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const view = (r: OcspRequestInfo | null) =>
  r && {
    nonce: r.nonce && hex(r.nonce),
    nonceExtnValue: r.nonceExtnValue && hex(r.nonceExtnValue),
    certs: r.certs.map((c) => ({ alg: c.hashAlgorithm, name: hex(c.issuerNameHash), key: hex(c.issuerKeyHash), serial: c.serial, id: hex(c.certIdDer) })),
  };

/** DER built by hand from parts, so every field RFC 6960 §4.1.1 allows can be placed exactly. */
const seq = (...p: Uint8Array[]) => derTlv(0x30, ...p);
const octets = (b: Uint8Array) => derTlv(0x04, b);
const ext = (oid: string, value: Uint8Array, critical = false) => seq(derOid(oid), ...(critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []), octets(value));
const certId = (alg: string, nullParams: boolean, name: Uint8Array, key: Uint8Array, serial: Uint8Array) =>
  seq(seq(derOid(alg), ...(nullParams ? [Uint8Array.of(5, 0)] : [])), octets(name), octets(key), derTlv(0x02, serial));
const request = (p: { ids: Uint8Array[]; single?: (Uint8Array[] | undefined)[]; exts?: Uint8Array[]; requestor?: boolean; signature?: boolean }) => {
  const list = seq(...p.ids.map((id, i) => seq(id, ...(p.single?.[i] ? [derTlv(0xa0, seq(...p.single[i]!))] : []))));
  const tbs = seq(...(p.requestor ? [derTlv(0xa1, derTlv(0x82, Buffer.from('client.example')))] : []), list, ...(p.exts ? [derTlv(0xa2, seq(...p.exts))] : []));
  return seq(tbs, ...(p.signature ? [derTlv(0xa0, seq(seq(derOid('1.2.840.10045.4.3.2')), derTlv(0x03, Uint8Array.of(0, 1, 2))))] : []));
};
/** What openssl sends: one SHA-1 CertID and a 16-octet nonce. */
const OPENSSL = Buffer.from(
  '3076307430' + '4d304b3049300906052b0e03021a05000414' + '11'.repeat(20) + '0414' + '22'.repeat(20) + '021040' + '33'.repeat(15) +
    'a2233021301f06092b0601050507300102041204101234567890abcdef1234567890abcdef',
  'hex',
);
const ID = certId(SHA1, true, new Uint8Array(20).fill(0x11), new Uint8Array(20).fill(0x22), Uint8Array.of(0x40, 0x33));

/** Well-formed requests of every shape RFC 6960 allows, with the answer the reader must give. */
const requestArb = fc
  .record({
    certs: fc.array(
      fc.record({
        alg: fc.constantFrom(SHA1, '2.16.840.1.101.3.4.2.1', '1.2.840.113549.2.5', '1.2.3.4.5.6.7.8.123456789'),
        nullParams: fc.boolean(),
        name: fc.uint8Array({ minLength: 0, maxLength: 70 }),
        key: fc.uint8Array({ minLength: 0, maxLength: 70 }),
        serial: fc.uint8Array({ minLength: 1, maxLength: 21 }).map((b) => {
          if (b.length > 1 && (b[0] === 0 || b[0] === 0xff)) b[0] = 0x41; // minimal INTEGERs only (DER)
          return b;
        }),
        single: fc.option(fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 2 }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    nonce: fc.option(fc.record({ value: fc.uint8Array({ minLength: 1, maxLength: 40 }), wrapped: fc.boolean(), critical: fc.boolean() }), { nil: undefined }),
    other: fc.option(fc.uint8Array({ maxLength: 10 }), { nil: undefined }),
    requestor: fc.boolean(),
    signature: fc.boolean(),
  })
  .map((p) => {
    const ids = p.certs.map((c) => certId(c.alg, c.nullParams, c.name, c.key, c.serial));
    const exts: Uint8Array[] = [];
    const nonceExtnValue = p.nonce && (p.nonce.wrapped ? octets(p.nonce.value) : p.nonce.value);
    if (p.other) exts.push(ext('1.3.6.1.5.5.7.48.1.4', p.other));
    if (p.nonce) exts.push(ext(NONCE, nonceExtnValue!, p.nonce.critical));
    const der = request({ ids, single: p.certs.map((c) => c.single?.map((v, i) => ext(`1.2.3.${i}`, v))), exts: exts.length ? exts : undefined, requestor: p.requestor, signature: p.signature });
    const expected = {
      nonce: p.nonce ? hex(p.nonce.wrapped ? p.nonce.value : bareNonceAsRead(p.nonce.value)) : null,
      nonceExtnValue: nonceExtnValue ? hex(nonceExtnValue) : null,
      certs: p.certs.map((c, i) => ({ alg: c.alg, name: hex(c.name), key: hex(c.key), serial: c.serial[0]! & 0x80 ? null : hex(c.serial.length > 1 && c.serial[0] === 0 ? c.serial.subarray(1) : c.serial), id: hex(ids[i]!) })),
    };
    return { der, expected };
  });

/**
 * Bare nonce octets (a pre-RFC 8954 client) that happen to form one whole OCTET STRING cannot be
 * told from an RFC 8954 nonce: the reader takes them as wrapped, by design. The echo is unaffected.
 */
function bareNonceAsRead(value: Uint8Array): Uint8Array {
  const t = readTlv(value, 0, value.length);
  return t && t.tag === 0x04 && t.end === value.length ? value.subarray(t.start, t.end) : value;
}

describe('OCSP request reader (strict DER, RFC 6960 §4.1.1)', () => {
  it('ok/every well-formed shape is read as built: CertIDs byte for byte, nonce as sent, unknown non-critical extensions ignored', () => {
    fc.assert(
      fc.property(requestArb, ({ der, expected }) => {
        expect(view(parseOcspRequest(der))).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('ok/what openssl sends', () => {
    const r = parseOcspRequest(OPENSSL)!;
    expect(r.certs[0]!.serial).toBe('40' + '33'.repeat(15));
    expect(hex(r.nonce!)).toBe('1234567890abcdef1234567890abcdef');
    expect(hex(r.nonceExtnValue!)).toBe('04101234567890abcdef1234567890abcdef');
    expect(hex(r.certs[0]!.certIdDer)).toBe(OPENSSL.subarray(8, 8 + 2 + 0x49).toString('hex'));
  });

  it('regression/a non-critical singleRequestExtensions or requestExtensions item we do not know is ignored', () => {
    for (const der of [
      request({ ids: [ID], single: [[ext('1.3.6.1.5.5.7.48.1.7', Uint8Array.of(0x30, 0))]] }), // service locator (RFC 6960 §4.4.6)
      request({ ids: [ID, ID], single: [undefined, [ext('1.2.3.4', Uint8Array.of(1)), ext('1.2.3.5', Uint8Array.of(2))]] }),
      request({ ids: [ID], exts: [ext('1.3.6.1.5.5.7.48.1.4', seq(derOid('1.3.6.1.5.5.7.48.1.1')))] }), // acceptable responses
    ]) {
      expect(parseOcspRequest(der)?.certs[0]?.certIdDer).toEqual(ID);
    }
  });

  it('fail/a critical extension we do not understand is refused (RFC 6960 §4.4, RFC 5280 §4.2); a critical nonce is understood', () => {
    expect(parseOcspRequest(request({ ids: [ID], single: [[ext('1.2.3.4', Uint8Array.of(1), true)]] }))).toBeNull();
    expect(parseOcspRequest(request({ ids: [ID], exts: [ext('1.2.3.4', Uint8Array.of(1), true)] }))).toBeNull();
    expect(parseOcspRequest(request({ ids: [ID], single: [[ext(NONCE, octets(Uint8Array.of(1)), true)]] }))).toBeNull(); // a nonce is not a single-request extension
    expect(hex(parseOcspRequest(request({ ids: [ID], exts: [ext(NONCE, octets(Uint8Array.of(1)), true)] }))!.nonce!)).toBe('01');
  });

  it('fail/not DER, or not an OCSPRequest: duplicate extensions, explicit FALSE, a version, CertID parameters, non-minimal serial, trailing bytes', () => {
    const falseExt = seq(derOid('1.2.3.4'), Uint8Array.of(0x01, 0x01, 0x00), octets(Uint8Array.of(1)));
    const cases = [
      request({ ids: [ID], exts: [ext(NONCE, octets(Uint8Array.of(1))), ext(NONCE, octets(Uint8Array.of(2)))] }),
      request({ ids: [ID], single: [[ext('1.2.3', Uint8Array.of(1)), ext('1.2.3', Uint8Array.of(1))]] }),
      request({ ids: [ID], exts: [falseExt] }),
      seq(seq(derTlv(0xa0, derTlv(0x02, Uint8Array.of(0))), seq(seq(ID)))),
      request({ ids: [certId(SHA1, false, new Uint8Array(20), new Uint8Array(20), Uint8Array.of(0, 0x12))] }),
      request({ ids: [seq(seq(derOid(SHA1), derTlv(0x02, Uint8Array.of(1))), octets(new Uint8Array(20)), octets(new Uint8Array(20)), derTlv(0x02, Uint8Array.of(1)))] }),
      request({ ids: [] }),
      request({ ids: [ID], single: [[]] }),
      Buffer.concat([OPENSSL, Uint8Array.of(0)]),
      Buffer.from(OPENSSL.toString('hex').replace(/^3076/, '308176'), 'hex'), // non-minimal length
    ];
    for (const der of cases) expect(parseOcspRequest(der)).toBeNull();
  });

  it('ok/mutated and truncated requests never throw', () => {
    fc.assert(
      fc.property(requestArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(), ({ der }, flips, cut) => {
        const m = der.slice(0, Math.max(1, der.length - (cut % 4)));
        for (const [i, v] of flips) m[i % m.length] = v;
        expect(() => parseOcspRequest(m)).not.toThrow();
      }),
      { numRuns: 1500 },
    );
  });

  it('fail/random bytes are refused without throwing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(() => parseOcspRequest(b)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});

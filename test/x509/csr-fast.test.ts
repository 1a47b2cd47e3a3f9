import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTlv } from '../../src/domain/der.ts';
import { isCaError } from '../../src/domain/errors.ts';
import { parseCsr, parseCsrAsn1, parseCsrFast, parseCsrGeneric, type CsrInfo } from '../../src/x509/csr.ts';
import { readCsrStrict } from '../../src/x509/csr-der.ts';
import { x509 } from '../../src/x509/x509.ts';

/**
 * The CSR fast path (asn1-csr decoding + node:crypto verify) is a parser of untrusted input:
 * it must give @peculiar/x509's verdict (the generic path) on valid requests, and refuse
 * garbage and tampered requests as the generic path does, never with anything but a CaError.
 * The strict DER reader in front of it (csr-der.ts) must give the same verdict as both whenever
 * it reads a request at all, and must decline (null) anything not strictly DER.
 */
type Verdict = { ok: true; info: CsrInfo } | { ok: false; error: unknown };

async function verdict(f: () => CsrInfo | null | Promise<CsrInfo | null>): Promise<Verdict | null> {
  try {
    const info = await f();
    return info ? { ok: true, info } : null;
  } catch (error) {
    return { ok: false, error };
  }
}

interface KeyCase {
  keys: CryptoKeyPair;
  signingAlgorithm: Algorithm;
}
const keyPool: KeyCase[] = [];

beforeAll(async () => {
  const ec = [
    { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
    { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
    { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-512' },
  ];
  for (const alg of ec) {
    for (let i = 0; i < 2; i++) keyPool.push({ keys: (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair, signingAlgorithm: alg });
  }
  for (const hash of ['SHA-256', 'SHA-384']) {
    const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash };
    keyPool.push({ keys: (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair, signingAlgorithm: alg });
  }
}, 60_000);

const label = fc.stringMatching(/^[a-z0-9]{1,12}$/);
const dnsName = fc.array(label, { minLength: 2, maxLength: 4 }).map((l) => l.join('.'));
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const san = fc.oneof(
  dnsName.map((value) => ({ type: 'dns' as const, value })),
  ipv4.map((value) => ({ type: 'ip' as const, value })),
  fc.ipV6().filter((v) => !v.includes('.')).map((value) => ({ type: 'ip' as const, value })), // mixed notation: x509 cannot encode it
  label.map((value) => ({ type: 'url' as const, value: `spiffe://corp/${value}` })),
  label.map((value) => ({ type: 'email' as const, value: `${value}@corp.example` })),
);
const csrSpec = fc.record({
  key: fc.nat(7),
  cn: fc.option(fc.oneof(dnsName, fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).filter((t) => !/["#\\+,;<=>]/.test(t) && t.trim() === t && t.length > 0))),
  sans: fc.array(san, { maxLength: 4 }),
  eku: fc.option(fc.subarray([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.codeSigning])),
  ca: fc.option(fc.boolean()),
  criticalUnknown: fc.boolean(),
  pem: fc.boolean(),
});

async function buildCsr(spec: typeof csrSpec extends fc.Arbitrary<infer T> ? T : never): Promise<x509.Pkcs10CertificateRequest> {
  const k = keyPool[spec.key % keyPool.length]!;
  const extensions: x509.Extension[] = [];
  if (spec.sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(spec.sans));
  if (spec.eku) extensions.push(new x509.ExtendedKeyUsageExtension(spec.eku));
  if (spec.ca !== null) extensions.push(new x509.BasicConstraintsExtension(spec.ca, undefined, true));
  if (spec.criticalUnknown) extensions.push(new x509.Extension('1.3.6.1.4.1.99999.1', true, Uint8Array.of(0x05, 0x00)));
  return x509.Pkcs10CertificateRequestGenerator.create({ name: spec.cn ? [{ CN: [spec.cn] }] : '', keys: k.keys, signingAlgorithm: k.signingAlgorithm, extensions });
}

/** Where the signature BIT STRING starts in a well-formed CSR: after CertificationRequestInfo and the AlgorithmIdentifier. */
function signatureOffset(der: Uint8Array): number {
  const outer = readTlv(der, 0, der.length)!;
  const info = readTlv(der, outer.start, outer.end)!;
  const alg = readTlv(der, info.end, outer.end)!;
  return alg.end;
}

function expectSameVerdict(fast: Verdict | null, generic: Verdict | null): void {
  expect(generic).not.toBeNull();
  if (fast === null) return; // the fast path declined: parseCsr uses the generic verdict
  expect(fast.ok).toBe(generic!.ok);
  if (fast.ok && generic!.ok) expect(fast.info).toEqual(generic!.info);
  if (!fast.ok) {
    expect(isCaError(fast.error)).toBe(true);
    // Same kind of refusal when the generic path refuses cleanly (it may throw raw decoder errors on odd extensions).
    if (!generic!.ok && isCaError(generic!.error)) expect((fast.error as { kind: string }).kind).toBe((generic!.error as { kind: string }).kind);
  }
}

describe('CSR fast path agrees with @peculiar/x509', () => {
  it('valid requests (ECDSA P-256/P-384, RSA; PEM or DER; any mix of SANs, CN, EKU, basicConstraints): same result', async () => {
    await fc.assert(
      fc.asyncProperty(csrSpec, async (spec) => {
        const csr = await buildCsr(spec);
        const input = spec.pem ? csr.toString('pem') : new Uint8Array(csr.rawData);
        const fast = await verdict(() => parseCsrFast(input));
        expect(fast).not.toBeNull(); // these are all fast-path requests
        expectSameVerdict(fast, await verdict(() => parseCsrGeneric(input)));
      }),
      { numRuns: 150 },
    );
  });

  it('tampered requests (one byte changed anywhere): never accepted when x509 refuses; same result when both accept', async () => {
    await fc.assert(
      fc.asyncProperty(csrSpec, fc.nat(), fc.integer({ min: 1, max: 255 }), async (spec, at, xor) => {
        const der = new Uint8Array((await buildCsr({ ...spec, ca: null, criticalUnknown: false })).rawData);
        const signatureAt = signatureOffset(der);
        const j = at % der.length;
        der[j] = der[j]! ^ xor;
        const fast = await verdict(() => parseCsrFast(der));
        const generic = await verdict(() => parseCsrGeneric(der));
        if (fast && !fast.ok && generic!.ok) {
          // The one place the fast path is stricter: x509 reads the signature BIT STRING leniently
          // (non-zero unused bits, a mangled length), node:crypto does not. Never inside the signed bytes.
          expect(j).toBeGreaterThanOrEqual(signatureAt);
          expect(isCaError(fast.error)).toBe(true);
        } else {
          expectSameVerdict(fast, generic);
        }
        const final = await verdict(() => parseCsr(der));
        if (!final!.ok) expect(isCaError(final!.error)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a changed to-be-signed byte never verifies', async () => {
    await fc.assert(
      fc.asyncProperty(csrSpec, fc.nat(), async (spec, at) => {
        const csr = await buildCsr({ ...spec, ca: null, criticalUnknown: false });
        const der = new Uint8Array(csr.rawData);
        // Flip a bit inside the subject/attributes region, past the CertificationRequestInfo header.
        const i = 8 + (at % 40);
        der[i] = der[i]! ^ 0x01;
        const fast = await verdict(() => parseCsrFast(der));
        if (fast) expect(fast.ok).toBe(false);
        expect((await verdict(() => parseCsr(der)))!.ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('garbage: refused with a CaError, never accepted, never another error', async () => {
    const der = fc.oneof(
      fc.uint8Array({ maxLength: 600 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Uint8Array.of(0x30, 0x82, (b.length >> 8) & 0xff, b.length & 0xff, ...b)),
    );
    const text = fc.oneof(fc.string(), fc.string().map((s) => `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(s).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`));
    await fc.assert(
      fc.asyncProperty(fc.oneof(der, text), async (input) => {
        const v = await verdict(() => parseCsr(input));
        expect(v!.ok).toBe(false);
        if (!v!.ok) expect(isCaError(v!.error)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

/** The verdict of the strict reader's path alone: null when it declines the input. */
async function strictVerdict(der: Uint8Array): Promise<Verdict | null> {
  let read;
  try {
    read = readCsrStrict(der);
  } catch (error) {
    return { ok: false, error: new Error(`the strict reader threw: ${String(error)}`) };
  }
  return read ? verdict(() => parseCsrFast(der)) : null;
}

/** The strict path and the asn1-schema path are both ours: when both read a request, same result or the same refusal word for word. */
function expectSameAsAsn1(strict: Verdict, asn1: Verdict | null): void {
  if (asn1 === null) return;
  expect(strict.ok).toBe(asn1.ok);
  if (strict.ok && asn1.ok) expect(strict.info).toEqual(asn1.info);
  if (!strict.ok && !asn1.ok) {
    expect(isCaError(strict.error)).toBe(true);
    expect([(strict.error as Error).message, (strict.error as { kind: string }).kind]).toEqual([(asn1.error as Error).message, (asn1.error as { kind: string }).kind]);
  }
}

async function expectStrictAgrees(der: Uint8Array): Promise<Verdict | null> {
  const strict = await strictVerdict(der);
  if (strict) {
    expectSameVerdict(strict, await verdict(() => parseCsrGeneric(der)));
    expectSameAsAsn1(strict, await verdict(() => parseCsrAsn1(der)));
  }
  return strict;
}

/**
 * The CSR re-encoded with the `target`-th element (in document order, constructed elements walked
 * into) given a length one octet longer than DER allows, every enclosing length adjusted: still BER.
 */
function withNonMinimalLength(der: Uint8Array, target: number): Uint8Array | null {
  let index = 0;
  let hit = false;
  const encode = (pos: number, limit: number): number[] | null => {
    const out: number[] = [];
    while (pos < limit) {
      const t = readTlv(der, pos, limit);
      if (!t) return null;
      const mine = index++ === target;
      const body = t.tag & 0x20 ? encode(t.start, t.end) : [...der.subarray(t.start, t.end)];
      if (!body) return null;
      const len = body.length;
      const minimal = len < 0x80 ? [len] : len < 0x100 ? [0x81, len] : [0x82, len >> 8, len & 0xff];
      const head = mine ? (len < 0x100 ? [0x82, 0, len] : [0x83, 0, len >> 8, len & 0xff]) : minimal;
      hit ||= mine;
      out.push(t.tag, ...head, ...body);
      pos = t.end;
    }
    return out;
  };
  const out = encode(0, der.length);
  return out && hit ? Uint8Array.from(out) : null;
}

/** Offsets of every element's tag, constructed elements walked into. */
function tagPositions(der: Uint8Array, pos = 0, limit = der.length, out: number[] = []): number[] {
  for (let t = readTlv(der, pos, limit); t; t = readTlv(der, pos, limit)) {
    out.push(pos);
    if (t.tag & 0x20) tagPositions(der, t.start, t.end, out);
    pos = t.end;
  }
  return out;
}

describe('strict CSR reader agrees with both decoders', () => {
  it('reads every valid request without an email SAN, with the same result as asn1-schema and @peculiar/x509', async () => {
    await fc.assert(
      fc.asyncProperty(csrSpec, async (spec) => {
        const der = new Uint8Array((await buildCsr(spec)).rawData);
        const strict = await expectStrictAgrees(der);
        if (!spec.sans.some((s) => s.type === 'email')) expect(strict).not.toBeNull();
      }),
      { numRuns: 150 },
    );
  });

  it('one byte changed, bytes cut off or bytes appended: declines or gives both decoders\' verdict, never throws', async () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('xor' as const), at: fc.nat(), by: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), by: fc.constant(0) }),
      fc.record({ kind: fc.constant('append' as const), at: fc.integer({ min: 1, max: 4 }), by: fc.nat(255) }),
    );
    await fc.assert(
      fc.asyncProperty(csrSpec, edit, async (spec, e) => {
        let der = new Uint8Array((await buildCsr({ ...spec, ca: null, criticalUnknown: false })).rawData);
        const signatureAt = signatureOffset(der);
        const inSignature = e.kind === 'xor' && e.at % der.length >= signatureAt;
        if (e.kind === 'xor') der[e.at % der.length] = der[e.at % der.length]! ^ e.by;
        if (e.kind === 'cut') der = der.slice(0, e.at % der.length);
        if (e.kind === 'append') der = Uint8Array.of(...der, ...new Array<number>(e.at).fill(e.by));
        const strict = inSignature ? await strictVerdict(der) : await expectStrictAgrees(der);
        if (strict && inSignature) {
          // As in the tampered-requests test: x509 reads the signature's inner SEQUENCE leniently
          // (a changed tag or length), node:crypto does not, so only there may the strict path refuse
          // what x509 accepts. Otherwise both decoders' verdict.
          const generic = await verdict(() => parseCsrGeneric(der));
          if (!strict.ok && generic!.ok) expect(isCaError(strict.error)).toBe(true);
          else expectSameVerdict(strict, generic);
        }
        if (e.kind !== 'xor') expect(strict).toBeNull();
      }),
      { numRuns: 400 },
    );
  });

  it('a non-minimal length anywhere (BER): declined by the reader, refused as not DER by every path', async () => {
    await fc.assert(
      fc.asyncProperty(csrSpec, fc.nat(200), async (spec, target) => {
        const der = new Uint8Array((await buildCsr(spec)).rawData);
        const ber = withNonMinimalLength(der, target % tagPositions(der).length)!;
        expect(readCsrStrict(ber)).toBeNull();
        for (const parse of [parseCsr, parseCsrFast, parseCsrAsn1, parseCsrGeneric]) {
          const v = await verdict(() => parse(ber));
          expect(v).toMatchObject({ ok: false, error: { kind: 'badCsr', message: expect.stringMatching(/not DER/) } });
        }
      }),
      { numRuns: 200 },
    );
  });

  // Was "still accepted as today": a PKCS#10 request is DER (RFC 2986 §4), so the BER outer length is refused now (#16).
  it('a non-minimal outer length (outside the signed bytes) is refused as not DER', async () => {
    const der = new Uint8Array((await buildCsr({ key: 0, cn: 'a.example', sans: [], eku: null, ca: null, criticalUnknown: false, pem: false })).rawData);
    const ber = withNonMinimalLength(der, 0)!;
    expect(readCsrStrict(ber)).toBeNull();
    await expect(parseCsr(ber)).rejects.toMatchObject({ kind: 'badCsr', message: expect.stringMatching(/not DER.*more octets than needed/) });
    expect(await verdict(() => parseCsrFast(ber))).toMatchObject({ ok: false, error: { kind: 'badCsr' } });
  });

  it('a tag changed anywhere: declined, or both decoders\' verdict', async () => {
    await fc.assert(
      fc.asyncProperty(csrSpec, fc.nat(), fc.nat(255), async (spec, at, tag) => {
        const der = new Uint8Array((await buildCsr(spec)).rawData);
        const positions = tagPositions(der);
        der[positions[at % positions.length]!] = tag;
        await expectStrictAgrees(der);
      }),
      { numRuns: 300 },
    );
  });

  it('garbage and random TLV soups: never throws, never accepts', async () => {
    const tlv = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.tuple(fc.constantFrom(0x02, 0x03, 0x04, 0x05, 0x06, 0x0c, 0x13, 0x16, 0x82, 0x86, 0x87), fc.uint8Array({ maxLength: 20 })).map(([t, v]) => Uint8Array.of(t, v.length, ...v)),
        fc.tuple(fc.constantFrom(0x30, 0x31, 0xa0), fc.array(tie('node') as fc.Arbitrary<Uint8Array>, { maxLength: 4 })).map(([t, kids]) => {
          const body = kids.flatMap((k) => [...k]);
          return body.length < 128 ? Uint8Array.of(t, body.length, ...body) : Uint8Array.of(t, 0x81, body.length & 0xff, ...body.slice(0, 255));
        }),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 400 }), tlv.node), async (der) => {
        const strict = await expectStrictAgrees(der);
        if (strict) expect(strict.ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('key rules: the same refusal, word for word, for weak RSA, a bad exponent and an unknown curve', async () => {
    const cases: [Algorithm, RegExp][] = [
      [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as Algorithm, /1024 bits is too weak/],
      [{ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([3]), hash: 'SHA-256' } as Algorithm, /public exponent 3 is refused/],
      [{ name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' } as Algorithm, /curve .* is not accepted/],
    ];
    for (const [alg, message] of cases) {
      const keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
      const der = new Uint8Array((await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=a.example', keys, signingAlgorithm: alg })).rawData);
      const generic = await verdict(() => parseCsrGeneric(der));
      const fast = await verdict(() => parseCsr(der));
      expect(generic!.ok || fast!.ok).toBe(false);
      expect(!generic!.ok && (generic!.error as Error).message).toMatch(message);
      expect(!fast!.ok && (fast!.error as Error).message).toBe((generic as { error: Error }).error.message);
      await expectStrictAgrees(der);
    }
  }, 60_000);
});

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTlv } from '../../src/domain/der.ts';
import { isCaError } from '../../src/domain/errors.ts';
import { parseCsr, parseCsrFast, parseCsrGeneric, type CsrInfo } from '../../src/signer/csr.ts';
import { x509 } from '../../src/signer/x509.ts';

/**
 * The CSR fast path (asn1-csr decoding + node:crypto verify) is a parser of untrusted input:
 * it must give @peculiar/x509's verdict (the generic path) on valid requests, and refuse
 * garbage and tampered requests as the generic path does, never with anything but a CaError.
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
  label.map((value) => ({ type: 'url' as const, value: `spiffe://corp/${value}` })),
  label.map((value) => ({ type: 'email' as const, value: `${value}@corp.example` })),
);
const csrSpec = fc.record({
  key: fc.nat(7),
  cn: fc.option(dnsName),
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
  return x509.Pkcs10CertificateRequestGenerator.create({ name: spec.cn ? `CN=${spec.cn}` : '', keys: k.keys, signingAlgorithm: k.signingAlgorithm, extensions });
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

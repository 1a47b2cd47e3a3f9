import { execFileSync } from 'node:child_process';
import { KeyObject, sign } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readTlv } from '../../src/domain/der.ts';
import { parseCsr, parseCsrAsn1, parseCsrFast, parseCsrGeneric } from '../../src/x509/csr.ts';
import { x509 } from '../../src/x509/x509.ts';
import { hasTool } from '../helpers/tools.ts';

/**
 * A PKCS#10 request must be DER (RFC 2986 §4). The gate in front of the parsers (csr-der-check.ts)
 * refuses every BER form with badCSR, whichever parser would have read it: the fallbacks
 * (@peculiar/asn1-csr, @peculiar/x509) accept BER the strict reader declines. Each case below is
 * a correctly signed request (the changed CertificationRequestInfo is signed again), so only the
 * encoding is wrong.
 */

/** A DER element as a tree; `len` chooses a BER length form when re-encoding. */
interface Node {
  tag: number;
  kids?: Node[];
  body?: Uint8Array;
  len?: 'long' | 'indefinite';
}

function parse(der: Uint8Array, pos = 0, limit = der.length): Node[] {
  const out: Node[] = [];
  while (pos < limit) {
    const t = readTlv(der, pos, limit)!;
    out.push(t.tag & 0x20 ? { tag: t.tag, kids: parse(der, t.start, t.end) } : { tag: t.tag, body: der.slice(t.start, t.end) });
    pos = t.end;
  }
  return out;
}

function encode(n: Node): number[] {
  const body = n.kids ? n.kids.flatMap(encode) : [...n.body!];
  const l = body.length;
  if (n.len === 'indefinite') return [n.tag, 0x80, ...body, 0, 0];
  if (n.len === 'long') return [n.tag, 0x83, 0, l >> 8, l & 0xff, ...body];
  return [n.tag, ...(l < 0x80 ? [l] : l < 0x100 ? [0x81, l] : [0x82, l >> 8, l & 0xff]), ...body];
}

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
let keys: CryptoKeyPair;
let base: Node; // CertificationRequest: [info, algId, signature]

beforeAll(async () => {
  keys = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=a.example',
    keys,
    signingAlgorithm: alg,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'a.example' }]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  base = parse(new Uint8Array(csr.rawData))[0]!;
});

/** The request with its CertificationRequestInfo changed by `edit` and signed again. */
function resigned(edit: (info: Node) => void): Uint8Array {
  const req = structuredClone(base);
  const info = req.kids![0]!;
  edit(info);
  const tbs = Uint8Array.from(encode(info));
  const sig = sign('sha256', tbs, { key: KeyObject.from(keys.privateKey), dsaEncoding: 'der' });
  req.kids![2] = { tag: 0x03, body: Uint8Array.of(0, ...sig) };
  return Uint8Array.from(encode(req));
}

/** The extensions of the request's extensionRequest: SAN, basicConstraints, keyUsage. */
const extensions = (info: Node) => info.kids![3]!.kids![0]!.kids![1]!.kids![0]!.kids!;
const withOuter = (edit: (req: Node, der: number[]) => number[]) => () => {
  const der = encode(base);
  return Uint8Array.from(edit(structuredClone(base), der));
};

const BER_CASES: [string, () => Uint8Array, RegExp][] = [
  ['bytes after the request', withOuter((_, der) => [...der, 0, 0]), /bytes follow/],
  ['an outer length shorter than its content', withOuter((req) => [...encode({ tag: 0x30, kids: req.kids!.slice(0, 2) }), ...encode(req.kids![2]!)]), /bytes follow/],
  ['an indefinite outer length', withOuter((req) => encode({ ...req, len: 'indefinite' })), /indefinite/],
  ['a non-minimal outer length', withOuter((req) => encode({ ...req, len: 'long' })), /more octets than needed/],
  ['a non-minimal length inside the signed bytes', () => resigned((info) => (info.kids![1]!.len = 'long')), /more octets than needed/],
  ['an indefinite length inside the signed bytes', () => resigned((info) => (info.kids![1]!.len = 'indefinite')), /indefinite/],
  ['a BER TRUE (01 01 01) marking an extension critical', () => resigned((info) => (extensions(info)[1]!.kids![1]!.body = Uint8Array.of(1))), /BOOLEAN/],
  ['critical FALSE written out', () => resigned((info) => extensions(info)[0]!.kids!.splice(1, 0, { tag: 0x01, body: Uint8Array.of(0) })), /critical FALSE/],
  ['a non-minimal INTEGER version', () => resigned((info) => (info.kids![0]!.body = Uint8Array.of(0, 0))), /INTEGER/],
  ['a constructed OCTET STRING extnValue', () => resigned((info) => {
    const value = extensions(info)[0]!.kids!.at(-1)!;
    Object.assign(value, { tag: 0x24, kids: [{ tag: 0x04, body: value.body }], body: undefined });
  }), /constructed/],
  ['an extnValue with bytes after its value', () => resigned((info) => {
    const value = extensions(info)[0]!.kids!.at(-1)!;
    value.body = Uint8Array.of(...value.body!, 0x05, 0x00);
  }), /bytes after/],
  ['a non-minimal length inside an extnValue', () => resigned((info) => {
    const value = extensions(info)[0]!.kids!.at(-1)!;
    value.body = Uint8Array.from(encode({ ...parse(value.body!)[0]!, len: 'long' }));
  }), /more octets than needed/],
  ['basicConstraints cA FALSE written out', () => resigned((info) => (extensions(info)[1]!.kids!.at(-1)!.body = Uint8Array.of(0x30, 0x03, 0x01, 0x01, 0x00))), /cA FALSE/],
  ['a keyUsage BIT STRING with a padding bit set', () => resigned((info) => (extensions(info)[2]!.kids!.at(-1)!.body = Uint8Array.of(0x03, 0x02, 0x07, 0x81))), /unused bits/],
];

const pem = (der: Uint8Array) => `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;

describe('the DER gate: every parser path refuses what is not DER', () => {
  it('the request and its re-signed copy are accepted (the cases below differ only in encoding)', async () => {
    await expect(parseCsr(Uint8Array.from(encode(base)))).resolves.toMatchObject({ sans: [{ type: 'dns', value: 'a.example' }] });
    await expect(parseCsr(pem(resigned(() => {})))).resolves.toMatchObject({ commonName: 'a.example' });
  });

  for (const [what, make, why] of BER_CASES) {
    it(`${what}: badCSR "not DER" from parseCsr (DER or PEM) and every path alone`, async () => {
      const ber = make();
      for (const input of [ber, pem(ber)]) {
        await expect(parseCsr(input)).rejects.toMatchObject({ name: 'CaError', kind: 'badCsr', message: expect.stringMatching(/not DER/) });
      }
      await expect(parseCsr(ber)).rejects.toMatchObject({ message: expect.stringMatching(why) });
      for (const path of [parseCsrFast, parseCsrAsn1, parseCsrGeneric]) {
        await expect((async () => path(ber))(), path.name).rejects.toMatchObject({ kind: 'badCsr', message: expect.stringMatching(/not DER/) });
      }
    });
  }

  it('text that is not a CERTIFICATE REQUEST PEM is refused, not guessed at (hex, bare base64, another label)', async () => {
    const der = Buffer.from(encode(base));
    for (const text of [der.toString('hex'), der.toString('base64'), pem(der).replaceAll('CERTIFICATE REQUEST', 'CERTIFICATE')]) {
      await expect(parseCsr(text)).rejects.toMatchObject({ kind: 'badCsr' });
    }
  });

  it.skipIf(!hasTool('openssl'))('requests written by openssl (EC and RSA, a full subject, several extensions) pass the gate', async () => { // skips only locally: hasTool() throws when CI is set
    const dir = mkdtempSync(join(tmpdir(), 'csr-gate-'));
    for (const i of ['ec', 'rsa']) {
      const args = ['req', '-new', '-nodes', '-keyout', join(dir, `${i}.key`), '-out', join(dir, `${i}.der`), '-outform', 'DER', '-subj', '/C=DE/O=Corp/OU=Ops/CN=svc.corp.internal'];
      args.push('-addext', 'subjectAltName=DNS:svc.corp.internal,IP:10.1.2.3,URI:spiffe://corp/svc', '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature');
      args.splice(2, 0, ...(i === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048']));
      execFileSync('openssl', args, { stdio: 'pipe' });
      const der = new Uint8Array(readFileSync(join(dir, `${i}.der`)));
      await expect(parseCsr(der), i).resolves.toMatchObject({ commonName: 'svc.corp.internal', sans: [{ type: 'dns' }, { type: 'ip' }, { type: 'uri' }] });
      await expect(parseCsr(pem(der)), i).resolves.toMatchObject({ commonName: 'svc.corp.internal' });
      // `openssl req -text` writes a dump before the PEM block: explanatory text (RFC 7468 §2).
      const withText = execFileSync('openssl', ['req', '-in', join(dir, `${i}.der`), '-inform', 'DER', '-text'], { encoding: 'utf8' });
      expect(withText).toMatch(/^Certificate Request:/);
      await expect(parseCsr(withText), i).resolves.toMatchObject({ commonName: 'svc.corp.internal' });
      await expect(parseCsr(withText + withText), i).rejects.toMatchObject({ kind: 'badCsr', message: expect.stringMatching(/more than one/) });
    }
  });
});

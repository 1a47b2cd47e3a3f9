import { createCipheriv, createDecipheriv, createPrivateKey, pbkdf2, randomBytes, type KeyObject } from 'node:crypto';
import { derOid, derTlv, oidText, readTlv } from '../domain/der.ts';

/**
 * Encrypted PKCS#8 (RFC 5958 EncryptedPrivateKeyInfo) with PBES2 (RFC 8018 §6.2): PBKDF2 with
 * HMAC-SHA256 and AES-256-CBC, the shape `openssl pkey` and `openssl pkcs8` read. Node's
 * KeyObject.export cannot set the iteration count (OpenSSL's default is 2,048, far too few for an
 * operator-chosen passphrase), so the structure is written here; OWASP's 2023 guidance for
 * PBKDF2-HMAC-SHA256 is 600,000 iterations. The KDF runs on libuv's thread pool, not the event loop.
 */
export const PBKDF2_ITERATIONS = 600_000;

const OID = {
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
};
/** PBKDF2 PRFs (RFC 8018 §B.1.2); an absent prf means hmacWithSHA1. */
const PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};
const PRF_OID_SHA256 = '1.2.840.113549.2.9';
const PEM_LABEL = 'ENCRYPTED PRIVATE KEY';

/** The PBES2 parameters of a key file this module can decrypt itself. */
export interface Pbes2File {
  salt: Uint8Array;
  iterations: number;
  prf: string;
  iv: Uint8Array;
  data: Uint8Array;
}

function derive(passphrase: string, salt: Uint8Array, iterations: number, prf: string): Promise<Buffer> {
  return new Promise((resolve, reject) => pbkdf2(Buffer.from(passphrase, 'utf8'), salt, iterations, 32, prf, (e, k) => (e ? reject(e) : resolve(k))));
}

function integer(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return derTlv(0x02, Uint8Array.from(bytes));
}

const seq = (...parts: Uint8Array[]) => derTlv(0x30, ...parts);

/** PKCS#8 PrivateKeyInfo DER → encrypted PKCS#8 PEM at the current KDF setting. */
export async function encryptPkcs8(pkcs8: Uint8Array, passphrase: string, iterations = PBKDF2_ITERATIONS): Promise<string> {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  const key = await derive(passphrase, salt, iterations, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  const data = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  const kdf = seq(derOid(OID.pbkdf2), seq(derTlv(0x04, salt), integer(iterations), seq(derOid(PRF_OID_SHA256), Uint8Array.of(0x05, 0x00))));
  const scheme = seq(derOid(OID.aes256Cbc), derTlv(0x04, iv));
  const der = seq(seq(derOid(OID.pbes2), seq(kdf, scheme)), derTlv(0x04, data));
  const b64 = Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n');
  return `-----BEGIN ${PEM_LABEL}-----\n${b64}\n-----END ${PEM_LABEL}-----\n`;
}

/**
 * Reads PBES2 / PBKDF2 / AES-256-CBC parameters out of an encrypted PKCS#8 PEM, strictly;
 * null for any other shape (another cipher or KDF, legacy PEM encryption), which OpenSSL then decrypts.
 */
export function readPbes2(pem: string): Pbes2File | null {
  const m = new RegExp(`^-----BEGIN ${PEM_LABEL}-----\\r?\\n([A-Za-z0-9+/=\\r\\n]+)-----END ${PEM_LABEL}-----\\s*$`).exec(pem.trim() + '\n');
  if (!m) return null;
  const b = new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
  // Walks one SEQUENCE's children: each step reads the next element, or fails the whole parse.
  const children = (t: { start: number; end: number }) => {
    let pos = t.start;
    return {
      next: (tag: number) => {
        const c = readTlv(b, pos, t.end);
        if (!c || c.tag !== tag) return null;
        pos = c.end;
        return c;
      },
      peek: () => (pos < t.end ? b[pos]! : -1),
      done: () => pos === t.end,
    };
  };
  const oid = (c: ReturnType<typeof children>) => {
    const t = c.next(0x06);
    return t ? oidText(b, t.start, t.end) : null;
  };
  const outer = readTlv(b, 0, b.length);
  if (!outer || outer.tag !== 0x30 || outer.end !== b.length) return null;
  const epki = children(outer);
  const alg = epki.next(0x30);
  const data = alg && epki.next(0x04);
  if (!alg || !data || !epki.done()) return null;
  // AlgorithmIdentifier { algorithm, parameters SEQUENCE }: the parameters, if the algorithm is `expected`.
  const paramsOf = (t: { start: number; end: number }, expected: string) => {
    const c = children(t);
    if (oid(c) !== expected) return null;
    const params = c.next(0x30);
    return params && c.done() ? params : null;
  };
  const params = paramsOf(alg, OID.pbes2);
  if (!params) return null;
  const p = children(params);
  const kdf = p.next(0x30);
  const scheme = p.next(0x30);
  if (!kdf || !scheme || !p.done()) return null;
  const kp = paramsOf(kdf, OID.pbkdf2);
  if (!kp) return null;
  const f = children(kp);
  const salt = f.next(0x04);
  const iter = f.next(0x02);
  if (!salt || !iter || iter.end - iter.start > 6 || b[iter.start]! & 0x80) return null;
  let iterations = 0;
  for (let i = iter.start; i < iter.end; i++) iterations = iterations * 256 + b[i]!;
  if (f.peek() === 0x02) {
    const len = f.next(0x02)!;
    if (len.end - len.start !== 1 || b[len.start] !== 32) return null; // AES-256: a 32-octet key
  }
  let prf: string | undefined = 'sha1';
  if (f.peek() === 0x30) {
    const pa = children(f.next(0x30)!);
    prf = PRFS[oid(pa) ?? ''];
    if (pa.peek() === 0x05) pa.next(0x05);
    if (!pa.done()) return null;
  }
  if (!prf || !f.done() || iterations < 1) return null;
  const s = children(scheme);
  if (oid(s) !== OID.aes256Cbc) return null;
  const iv = s.next(0x04);
  if (!iv || iv.end - iv.start !== 16 || !s.done()) return null;
  return { salt: b.slice(salt.start, salt.end), iterations, prf, iv: b.slice(iv.start, iv.end), data: b.slice(data.start, data.end) };
}

/** Whether a key file is encrypted at the current setting (else it is re-wrapped on unlock). */
export function isCurrent(file: Pbes2File | null): boolean {
  return file !== null && file.prf !== 'sha1' && file.iterations >= PBKDF2_ITERATIONS;
}

/**
 * Decrypts an encrypted PKCS#8 PEM. Throws on a wrong passphrase or a damaged file (the caller
 * names the key). The KDF of a PBES2 file runs off the event loop; other shapes go to OpenSSL.
 */
export async function decryptPkcs8(pem: string, passphrase: string): Promise<{ key: KeyObject; current: boolean }> {
  const file = readPbes2(pem);
  if (!file) return { key: createPrivateKey({ key: pem, format: 'pem', passphrase }), current: false };
  const key = await derive(passphrase, file.salt, file.iterations, file.prf);
  const decipher = createDecipheriv('aes-256-cbc', key, file.iv);
  const der = Buffer.concat([decipher.update(file.data), decipher.final()]);
  return { key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), current: isCurrent(file) };
}

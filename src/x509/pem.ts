/** PEM <-> DER with no dependency (the workload agent loads this without @peculiar/x509, #19). */

/** PEM with the label openssl expects (x509's CRL PEM says `BEGIN CRL`, which openssl rejects). */
export function toPem(der: Uint8Array | ArrayBuffer, label: 'CERTIFICATE' | 'X509 CRL' | 'CERTIFICATE REQUEST' | 'PUBLIC KEY'): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** All DER blocks with `label` in a PEM text, in order. */
export function fromPem(pem: string, label: string): Uint8Array[] {
  const re = new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`, 'g');
  return [...pem.matchAll(re)].map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
}

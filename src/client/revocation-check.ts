import { randomBytes, verify as nodeVerify } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import * as asn1X509 from '@peculiar/asn1-x509';
import { reasonNameOf } from '../domain/types.ts';
import { CaError } from '../domain/errors.ts';
import { fromPem, x509 } from '../x509/x509.ts';
import { readCrl } from './crl-reader.ts';
import { serialContents } from '../domain/der.ts';
import { IssuerHashes, SHA1_OID } from '../x509/issuer-hashes.ts';

export type SourceStatus = 'good' | 'revoked' | 'unknown' | 'error';

export interface SourceResult {
  url: string | null;
  status: SourceStatus;
  revokedAt?: Date;
  reason?: string;
  thisUpdate?: Date;
  nextUpdate?: Date | null;
  /** How the answer was authenticated, or why there is none. */
  detail: string;
}

export interface RevocationCheck {
  serial: string;
  subject: string;
  /** revoked if either source says so; good if one confirms good; unchecked when neither could. */
  verdict: 'good' | 'revoked' | 'unchecked';
  /** When unchecked: each source's URL and why it gave no answer, for one error line. */
  uncheckedBecause?: string;
  ocsp: SourceResult;
  crl: SourceResult;
}

/** Signature algorithms a CA here signs with, by OID: the node:crypto hash to verify with. */
const SIG_HASH: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
};

function verifyWith(spki: Uint8Array, algOid: string, data: Uint8Array, sig: Uint8Array): boolean {
  const hash = SIG_HASH[algOid];
  if (!hash) return false;
  return nodeVerify(hash, data, { key: Buffer.from(spki), format: 'der', type: 'spki', dsaEncoding: 'der' }, sig);
}

/**
 * The operator's check (`pki status`): asks the OCSP responder named in the certificate's
 * AIA and fetches the CRL named in its CDP, authenticating both against the issuer (fetched
 * from the AIA caIssuers URL unless given). Each source is reported on its own.
 */
export async function checkRevocation(p: { certDer: Uint8Array; issuerDer?: Uint8Array; timeoutMs?: number; names?: { cert: string; issuer: string } }): Promise<RevocationCheck> {
  const names = p.names ?? { cert: 'the certificate', issuer: 'the issuer' };
  const cert = parseCertificate(p.certDer, names.cert);
  const aia = cert.getExtension(x509.AuthorityInfoAccessExtension);
  const cdp = cert.getExtension(x509.CRLDistributionPointsExtension);
  const ocspUrl = aia?.ocsp.find((g) => g.type === 'url')?.value ?? null;
  const caIssuersUrl = aia?.caIssuers.find((g) => g.type === 'url')?.value ?? null;
  const crlUrl = cdp?.distributionPoints[0]?.distributionPoint?.fullName?.find((g) => g.uniformResourceIdentifier)?.uniformResourceIdentifier ?? null;
  const timeout = p.timeoutMs ?? 10_000;

  let issuerDer = p.issuerDer;
  if (!issuerDer) {
    if (!caIssuersUrl) throw new CaError('malformed', `${names.cert} names no caIssuers URL: pass --issuer`);
    // The issuer is the CA's to serve: failing to get it is "could not check", not bad input.
    issuerDer = await fetchBytes(caIssuersUrl, timeout).catch((e: Error) => {
      throw new CaError('unavailable', `cannot get the issuer certificate (AIA caIssuers): ${e.message}`);
    });
    parseCertificate(issuerDer, `the issuer certificate from ${caIssuersUrl}`, 'unavailable');
  }
  const issuer = parseCertificate(issuerDer, names.issuer);
  if (!(await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false))) {
    throw new CaError('malformed', `${names.cert} was not signed by ${issuer.subject}`);
  }
  const serial = cert.serialNumber.toLowerCase().replace(/^(00)+(?=[0-8])/, '');
  const issuerSpki = new Uint8Array(issuer.publicKey.rawData);
  const [o, c] = await Promise.all([
    ocspUrl ? askOcsp(ocspUrl, serial, issuer, issuerSpki, timeout) : Promise.resolve<SourceResult>({ url: null, status: 'error', detail: 'no OCSP URL in the AIA' }),
    crlUrl ? checkCrl(crlUrl, serial, issuerSpki, timeout) : Promise.resolve<SourceResult>({ url: null, status: 'error', detail: 'no CRL distribution point' }),
  ]);
  const verdict = o.status === 'revoked' || c.status === 'revoked' ? 'revoked' : o.status === 'good' || c.status === 'good' ? 'good' : 'unchecked';
  const why = (name: string, s: SourceResult) => `${name} ${s.url ?? '(no URL)'}: ${s.detail}`;
  const uncheckedBecause = verdict === 'unchecked' ? `${why('OCSP', o)}; ${why('CRL', c)}` : undefined;
  return { serial, subject: cert.subject, verdict, uncheckedBecause, ocsp: o, crl: c };
}

/** DER bytes that must be one X.509 certificate; anything else is a CaError naming what it was. */
function parseCertificate(der: Uint8Array, name: string, kind: 'malformed' | 'unavailable' = 'malformed'): x509.X509Certificate {
  if (der.length === 0) throw new CaError(kind, `${name} is empty, not a certificate`);
  try {
    return new x509.X509Certificate(new Uint8Array(der));
  } catch {
    throw new CaError(kind, `${name} is not an X.509 certificate (PEM or DER)`);
  }
}

/** GET/POST with a deadline; every failure names the URL and why (refused, timed out, HTTP status). */
async function fetchBytes(url: string, timeoutMs: number, init: RequestInit = {}): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
    throw new Error(`cannot reach ${url}: ${err.cause?.code ?? err.cause?.message ?? err.message}`);
  }
  if (!res.ok) throw new Error(`${url} answered HTTP ${res.status}`);
  const body = new Uint8Array(await res.arrayBuffer());
  const text = Buffer.from(body).toString('latin1');
  return text.startsWith('-----BEGIN') ? (fromPem(text, '[A-Z0-9 ]+')[0] ?? body) : body;
}

async function askOcsp(url: string, serial: string, issuer: x509.X509Certificate, issuerSpki: Uint8Array, timeoutMs: number): Promise<SourceResult> {
  try {
    const hashes = new IssuerHashes(new Uint8Array(issuer.rawData)).get(SHA1_OID);
    const nonce = randomBytes(16);
    const certId = new ocsp.CertID({
      hashAlgorithm: new asn1X509.AlgorithmIdentifier({ algorithm: SHA1_OID, parameters: null }),
      issuerNameHash: new OctetString(hashes.name),
      issuerKeyHash: new OctetString(hashes.key),
      serialNumber: serialContents(serial).buffer as ArrayBuffer,
    });
    const request = new ocsp.OCSPRequest({
      tbsRequest: new ocsp.TBSRequest({
        requestList: [new ocsp.Request({ reqCert: certId })],
        requestExtensions: [new asn1X509.Extension({ extnID: ocsp.id_pkix_ocsp_nonce, extnValue: new OctetString(AsnConvert.serialize(new OctetString(nonce))) })],
      }),
    });
    const body = new Uint8Array(AsnConvert.serialize(request));
    const der = await fetchBytes(url, timeoutMs, { method: 'POST', body, headers: { 'Content-Type': 'application/ocsp-request' } });
    const resp = parseOr(() => AsnConvert.parse(der, ocsp.OCSPResponse), `${url} did not answer with an OCSP response`);
    if (resp.responseStatus !== ocsp.OCSPResponseStatus.successful || !resp.responseBytes) {
      return { url, status: 'error', detail: `responder answered ${ocsp.OCSPResponseStatus[resp.responseStatus] ?? resp.responseStatus}` };
    }
    const basic = parseOr(() => AsnConvert.parse(resp.responseBytes!.response, ocsp.BasicOCSPResponse), `${url} answered with a malformed BasicOCSPResponse`);
    const tbs = new Uint8Array(AsnConvert.serialize(basic.tbsResponseData));
    const signer = await responderKey(basic, issuer, issuerSpki);
    if (!verifyWith(signer.spki, basic.signatureAlgorithm.algorithm, tbs, new Uint8Array(basic.signature))) {
      return { url, status: 'error', detail: 'the response signature does not verify' };
    }
    const echoed = basic.tbsResponseData.responseExtensions?.find((e) => e.extnID === ocsp.id_pkix_ocsp_nonce);
    if (echoed && !Buffer.from(echoed.extnValue.buffer).equals(Buffer.from(AsnConvert.serialize(new OctetString(nonce))))) {
      return { url, status: 'error', detail: 'the response carries another nonce than ours' };
    }
    const single = basic.tbsResponseData.responses.find((r) => Buffer.from(r.certID.serialNumber).equals(Buffer.from(serialContents(serial))));
    if (!single) return { url, status: 'error', detail: 'the response does not answer for this serial' };
    const base = { url, thisUpdate: single.thisUpdate, nextUpdate: single.nextUpdate ?? null, detail: `signed by ${signer.name}${echoed ? ', nonce echoed' : ''}` };
    if (single.certStatus.revoked) {
      const reason = single.certStatus.revoked.revocationReason?.reason;
      return { ...base, status: 'revoked', revokedAt: single.certStatus.revoked.revocationTime, reason: reasonNameOf(reason ?? 0) };
    }
    return { ...base, status: single.certStatus.good === null ? 'good' : 'unknown' };
  } catch (e) {
    return { url, status: 'error', detail: (e as Error).message };
  }
}

/** A parser's own error says little to an operator; this says whose answer was not what. */
function parseOr<T>(parse: () => T, message: string): T {
  try {
    return parse();
  } catch {
    throw new Error(message);
  }
}

/** The key that signed an OCSP response: the issuer itself, or a delegated responder it certified for OCSPSigning. */
async function responderKey(basic: ocsp.BasicOCSPResponse, issuer: x509.X509Certificate, issuerSpki: Uint8Array): Promise<{ spki: Uint8Array; name: string }> {
  for (const c of basic.certs ?? []) {
    const cert = new x509.X509Certificate(AsnConvert.serialize(c));
    if (!(await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true }))) continue;
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    if (!eku?.usages.includes(x509.ExtendedKeyUsage.ocspSigning)) continue;
    return { spki: new Uint8Array(cert.publicKey.rawData), name: `delegated responder ${cert.subject}` };
  }
  return { spki: issuerSpki, name: `the issuer ${issuer.subject}` };
}

async function checkCrl(url: string, serial: string, issuerSpki: Uint8Array, timeoutMs: number): Promise<SourceResult> {
  try {
    const bytes = await fetchBytes(url, timeoutMs);
    const crl = parseOr(() => readCrl(bytes), `${url} did not answer with a CRL`);
    if (!verifyWith(issuerSpki, crl.signatureAlgorithm, crl.tbs, crl.signature)) return { url, status: 'error', detail: 'the CRL signature does not verify against the issuer' };
    const base = { url, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate };
    const stale = crl.nextUpdate && crl.nextUpdate.getTime() < Date.now() ? ' (STALE: past its next update)' : '';
    const detail = `CRL number ${crl.number ?? 'none'}, ${crl.entries} entries, signed by the issuer${stale}`;
    const entry = crl.find(serial);
    if (entry) return { ...base, status: 'revoked', revokedAt: entry.revokedAt, reason: reasonNameOf(entry.reason ?? 0), detail };
    return { ...base, status: stale ? 'error' : 'good', detail };
  } catch (e) {
    return { url, status: 'error', detail: (e as Error).message };
  }
}

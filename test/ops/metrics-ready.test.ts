import { describe, expect, it } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { MALFORMED_REQUEST } from '../../src/status/ocsp-response.ts';
import { checkRevocation, fromPem, normalizeSerial } from '../../src/index.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';
import { makeCsr } from '../helpers/ca.ts';
import { ocspRequestDer } from '../helpers/ocsp-request.ts';
import { LeanAcmeClient } from '../../scripts/bench/lean-client.ts';
import { parsePrometheus, sumOf } from './support/prom.ts';

/** /metrics is valid Prometheus text whose counters follow real traffic; /readyz tells why it is not ready. */
const live = useAcmeServer({ ownBaseUrl: true });

async function scrape() {
  const res = await fetch(`${live.server.httpUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

const csrDer = async (name: string) => fromPem((await makeCsr({ sans: [{ type: 'dns', value: name }] })).pem, 'CERTIFICATE REQUEST')[0]!;
const leafDer = (chain: string) => fromPem(chain, 'CERTIFICATE')[0]!;
const serialOf = (chain: string) => normalizeSerial(new X509Certificate(leafDer(chain)).serialNumber);

/** A certificate this CA issued (any leaf). */
function firstLeafSerial(): string {
  return (live.ca.store.db.prepare(`SELECT serial FROM certificates WHERE issuer = ? AND status = 'valid' LIMIT 1`).get(live.ca.authority.issuer.keyId) as { serial: string }).serial;
}

/** A nonce-less single-certificate OCSP request (what RFC 5019 clients send): answered from the pre-signed cache. */
const ocspRequest = (serial: string) => ocspRequestDer(new Uint8Array(live.ca.intermediate.rawData), [serial]);

describe('/metrics', () => {
  it('ok/parses as Prometheus text and the counters move with ACME, OCSP and signing traffic', async () => {
    const before = await scrape();
    for (const name of ['pki_certificates_issued_total', 'pki_acme_requests_total', 'pki_ocsp_requests_total', 'pki_signer_seconds', 'pki_acme_validation_seconds', 'pki_crl_age_seconds', 'pki_keystore_errors_total']) {
      expect(before.types.has(name), name).toBe(true);
    }
    expect(sumOf(before.samples, 'pki_crl_age_seconds', { shard: '0' })).toBeGreaterThanOrEqual(0);

    const client = new LeanAcmeClient(live.rootPem);
    await client.directory(live.server.acme!.directoryUrl);
    expect((await client.newAccount()).status).toBe(201);
    const chains: string[] = [];
    for (const name of ['m1.metrics.test', 'm2.metrics.test']) chains.push(await client.order(name, await csrDer(name), (t, k) => live.web.set(t, k)));
    // A request that fails: finalize on an order that is not ready.
    const o = await client.newOrder('m3.metrics.test');
    const fin = await client.post((JSON.parse(o.body) as { finalize: string }).finalize, { csr: Buffer.from(await csrDer('m3.metrics.test')).toString('base64url') });
    expect(fin.status).toBe(403);
    client.close();
    // OCSP: `pki status`'s check (with a nonce: signed for the request), then the same plain request
    // by POST and GET, twice: served pre-signed until the serial is held (admitted when asked
    // again, #21), then a repeat of bytes already seen for a held response is a raw-bytes cache hit.
    const issuerDer = new Uint8Array(live.ca.intermediate.rawData);
    for (const chain of chains) expect((await checkRevocation({ certDer: leafDer(chain), issuerDer })).ocsp.status).toBe('good');
    const der = ocspRequest(serialOf(chains[0]!));
    for (let i = 0; i < 2; i++) {
      const post = await fetch(`${live.server.httpUrl}/ocsp`, { method: 'POST', body: der, headers: { 'Content-Type': 'application/ocsp-request' } });
      expect(post.status).toBe(200);
      await post.arrayBuffer();
      const get = await fetch(`${live.server.httpUrl}/ocsp/${encodeURIComponent(Buffer.from(der).toString('base64'))}`);
      expect(get.status).toBe(200);
      await get.arrayBuffer();
    }
    const again = await fetch(`${live.server.httpUrl}/ocsp`, { method: 'POST', body: der, headers: { 'Content-Type': 'application/ocsp-request' } });
    expect(again.status).toBe(200);
    await again.arrayBuffer();
    // Garbage is an OCSP error response, counted as such.
    await (await fetch(`${live.server.httpUrl}/ocsp/not-base64!`)).arrayBuffer();

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sumOf(after.samples, name, labels) - sumOf(before.samples, name, labels);
    expect(delta('pki_certificates_issued_total', { profile: 'default' })).toBe(2);
    expect(delta('pki_acme_requests_total', { resource: 'newOrder', problem: 'none' })).toBe(3);
    expect(delta('pki_acme_requests_total', { resource: 'finalize', problem: 'none' })).toBe(2);
    expect(delta('pki_acme_requests_total', { resource: 'finalize', problem: 'orderNotReady' })).toBe(1);
    expect(delta('pki_acme_requests_total', { resource: 'newAccount', problem: 'none' })).toBe(1);
    expect(delta('pki_acme_validation_seconds_count', { type: 'http-01', outcome: 'valid' })).toBe(2);
    expect(delta('pki_signer_seconds_count', { result: 'ok' })).toBeGreaterThanOrEqual(2);
    expect(delta('pki_ocsp_requests_total')).toBe(2 + 4 + 1 + 1);
    expect(delta('pki_ocsp_requests_total', { method: 'POST', result: 'signed' })).toBe(2);
    expect(delta('pki_ocsp_requests_total', { method: 'POST', result: 'cached' })).toBe(1);
    expect(delta('pki_ocsp_requests_total', { method: 'GET', result: 'cached' })).toBeGreaterThanOrEqual(1);
    expect(delta('pki_ocsp_requests_total', { method: 'GET', result: 'error' })).toBe(1);
    expect(delta('pki_keystore_errors_total')).toBe(0);

    await live.ca.authority.revoke(serialOf(chains[0]!), { reason: 'keyCompromise' });
    const revoked = await scrape();
    expect(sumOf(revoked.samples, 'pki_certificates_revoked_total', { profile: 'default', reason: 'keyCompromise' })).toBe(1);
  });
});

describe('OCSP is not rate-limited, but its body is capped', () => {
  it('fail/a POST over 8 KiB is answered malformedRequest unparsed, a 1 MiB one too: an HTTP answer, never a dropped connection (#16)', async () => {
    const big = await fetch(`${live.server.httpUrl}/ocsp`, { method: 'POST', body: new Uint8Array(9 * 1024), headers: { 'Content-Type': 'application/ocsp-request' } });
    expect(big.status).toBe(200);
    expect(Buffer.from(await big.arrayBuffer())).toEqual(Buffer.from(MALFORMED_REQUEST));
    const huge = await fetch(`${live.server.httpUrl}/ocsp`, { method: 'POST', body: new Uint8Array(1024 * 1024), headers: { 'Content-Type': 'application/ocsp-request' } });
    expect(huge.status).toBe(200);
    expect(Buffer.from(await huge.arrayBuffer())).toEqual(Buffer.from(MALFORMED_REQUEST));
    // Many requests in a row from one address are all answered: no limit applies.
    const der = ocspRequest(firstLeafSerial());
    const statuses = await Promise.all(Array.from({ length: 200 }, () => fetch(`${live.server.httpUrl}/ocsp`, { method: 'POST', body: der }).then(async (r) => (await r.arrayBuffer(), r.status))));
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});

describe('/readyz', () => {
  it('ok/ready: database writable, signer signs, CRL current', async () => {
    const res = await fetch(`${live.server.httpUrl}/readyz`);
    const body = (await res.json()) as { status: string; checks: Record<string, { ok: boolean }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ready');
    expect(Object.values(body.checks).every((c) => c.ok)).toBe(true);
    expect((await fetch(`${live.server.httpUrl}/healthz`)).status).toBe(200);
  });

  it('fail/503 with the reason when the CRL is out of date', async () => {
    const current = live.server.status.crls.current.bind(live.server.status.crls);
    const stale = { thisUpdate: new Date(Date.now() - 7_200_000), nextUpdate: new Date(Date.now() - 3_600_000) };
    (live.server.status.crls as { current: unknown }).current = () => stale;
    try {
      const res = await fetch(`${live.server.httpUrl}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; reason: string };
      expect(body.status).toBe('not ready');
      expect(body.reason).toMatch(/^crl: shard 0 expired at /);
    } finally {
      (live.server.status.crls as { current: unknown }).current = current;
    }
  });

  it('fail/503 with the reason when the database cannot be written', async () => {
    live.ca.store.db.exec('PRAGMA query_only = ON');
    try {
      const res = await fetch(`${live.server.httpUrl}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { reason: string }).reason).toMatch(/^database: cannot write/);
    } finally {
      live.ca.store.db.exec('PRAGMA query_only = OFF');
    }
    expect((await fetch(`${live.server.httpUrl}/readyz`)).status).toBe(200);
  });
});

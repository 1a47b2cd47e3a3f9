import { createServer } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { afterAll, describe, expect, it } from 'vitest';
import { openInstance, silentLogger, startServer, createEstKey, type CaInstance, type RunningServer } from '../../src/index.ts';
import { isCaError } from '../../src/domain/errors.ts';
import { startChallengeServer } from '../acme/support/challenge-server.ts';
import { newAccountKey, problemOf, TestClient, type AccountKey } from '../acme/support/client.ts';
import { csrFor } from '../acme/support/csr.ts';
import { startDnsServer } from '../acme/support/dns-server.ts';
import { makeCsr } from '../helpers/ca.ts';
import { ocspRequestDer } from '../helpers/ocsp-request.ts';
import { tempDir } from '../helpers/tmp.ts';
import { deleteLeafAndParents, env, seededInstance, tamper } from './support.ts';

/**
 * `pki serve` checks a big log on other threads while it already answers (#21): OCSP, CRLs and
 * /log keep answering, issuance is a temporary refusal (503 + Retry-After) until the check
 * passes, /readyz says "checking". The check is held open here by its test hook and forced onto
 * threads (`threadFrom: 0`), as a million-entry log would be.
 */
const base = tempDir('pki-bgcheck-');
const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A gate the test opens: the check's verdict waits on it. */
function holdOpen() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, beforeVerdict: () => opened };
}

/** node:https trusting only the test root, as the fetch a TestClient drives the real ACME listener with. */
const httpsFetch = (rootPem: string) => ({
  fetch: async (req: Request): Promise<Response> => {
    const body = req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.from(await req.arrayBuffer());
    return new Promise((resolve, reject) => {
      const r = request(req.url, { method: req.method, headers: Object.fromEntries(req.headers), ca: rootPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers = Object.entries(res.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')] as [string, string]);
          const empty = req.method === 'HEAD' || res.statusCode === 204;
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status: res.statusCode!, headers }));
        });
      });
      r.on('error', reject);
      r.end(body);
    });
  },
});

async function serve(ca: CaInstance, o: { acme?: boolean; hold?: () => Promise<void> } = {}) {
  const web = await startChallengeServer();
  const dns = await startDnsServer();
  const server = await startServer(ca, {
    host: '127.0.0.1',
    port: 0,
    logger: silentLogger,
    acme: o.acme ? { requireEab: false, http01Port: web.port, dnsServer: dns.address } : false,
    logCheck: { threadFrom: 0, ...(o.hold ? { beforeVerdict: o.hold } : {}) },
  });
  cleanup.push(async () => {
    await server.close();
    await web.close();
    await dns.close();
    await ca.close();
  });
  return { server, web };
}

const readyz = async (s: RunningServer) => {
  const r = await fetch(`${s.httpUrl}/readyz`);
  return { status: r.status, body: (await r.json()) as { reason?: string; checks: { log: { ok: boolean; detail: string } } } };
};
const checkpointSize = async (s: RunningServer) => Number((await (await fetch(`${s.httpUrl}/log/checkpoint`)).text()).split('\n')[1]);

async function until(what: string, ok: () => Promise<boolean>): Promise<void> {
  for (const t0 = Date.now(); !(await ok()); await new Promise((r) => setTimeout(r, 50))) if (Date.now() - t0 > 30_000) throw new Error(`${what}: not within 30 s`);
}

/** An ACME order on the real listener taken through http-01 to `ready`. */
async function readyOrder(client: TestClient, web: Awaited<ReturnType<typeof startChallengeServer>>, name: string) {
  const { calculateJwkThumbprint } = await import('jose');
  const d = await client.directory();
  const key: AccountKey = await newAccountKey();
  const acct = await client.post(d.newAccount!, { termsOfServiceAgreed: true }, { key });
  expect(acct.status).toBe(201);
  const kid = acct.headers.get('Location')!;
  const o = await client.post(d.newOrder!, { identifiers: [{ type: 'dns', value: name }] }, { key, kid });
  expect(o.status, await o.clone().text()).toBe(201);
  const url = o.headers.get('Location')!;
  const order = (await o.json()) as { authorizations: string[]; finalize: string };
  const az = (await (await client.post(order.authorizations[0]!, '', { key, kid })).json()) as { challenges: { type: string; url: string; token: string }[] };
  const ch = az.challenges.find((c) => c.type === 'http-01')!;
  web.set(ch.token, `${ch.token}.${await calculateJwkThumbprint(key.jwk, 'sha256')}`);
  await client.post(ch.url, {}, { key, kid });
  const status = async () => ((await (await client.post(url, '', { key, kid })).json()) as { status: string }).status;
  await until('order ready', async () => (await status()) === 'ready');
  return { key, kid, finalize: order.finalize, status };
}

/** EST simpleenroll (RFC 7030 §4.2.1) with an enrollment key, over the real listener. */
async function estEnroll(ca: CaInstance, s: RunningServer, rootPem: string, name: string) {
  const k = await createEstKey({ dir: ca.dir, store: ca.store }, { label: `bg-${name}`, scopes: ['dns:*.devices.test'] });
  const csr = Buffer.from((await makeCsr({ sans: [{ type: 'dns', value: name }] })).pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
  const origin = s.acme!.directoryUrl.replace(/\/acme\/directory$/, '');
  return httpsFetch(rootPem).fetch(new Request(`${origin}/.well-known/est/simpleenroll`, { method: 'POST', headers: { 'Content-Type': 'application/pkcs10', Authorization: `Basic ${Buffer.from(`${k.id}:${k.secret}`).toString('base64')}` }, body: csr }));
}

describe('the log start check on threads while pki serve answers', () => {
  it('ok/while it runs: OCSP, CRL and /log answer, /readyz says checking, ACME finalize and EST get 503 + Retry-After; when it passes they issue and a checkpoint covers it all', async () => {
    const { dir, serials } = await seededInstance(base, 'held', 2);
    const ca = await openInstance({ dir, env });
    const before = ca.store.audit.log.latestCheckpoint()!.size;
    const hold = holdOpen();
    const { server: s, web } = await serve(ca, { acme: true, hold: hold.beforeVerdict });
    // Listening, with the ACME listener's own certificate issued, before the verdict.
    expect(ca.authority.log!.checking).toMatch(/is being checked/);

    const issuerDer = new Uint8Array(ca.authority.issuer.certificate.rawData);
    const res = await fetch(`${s.httpUrl}/ocsp`, { method: 'POST', headers: { 'Content-Type': 'application/ocsp-request' }, body: ocspRequestDer(issuerDer, [serials[1]!]) });
    expect(res.status).toBe(200);
    const answer = AsnConvert.parse(new Uint8Array(await res.arrayBuffer()), ocsp.OCSPResponse);
    expect(answer.responseStatus).toBe(ocsp.OCSPResponseStatus.successful);
    expect(AsnConvert.parse(answer.responseBytes!.response, ocsp.BasicOCSPResponse).tbsResponseData.responses[0]!.certStatus.good).not.toBeUndefined();
    expect((await fetch(`${s.httpUrl}/crl/${ca.authority.issuer.keyId}/0.crl`)).status).toBe(200);
    expect(await checkpointSize(s)).toBe(before);

    // Ready meanwhile (traffic is served; issuance is held with Retry-After), and it says why.
    const r = await readyz(s);
    expect(r.status).toBe(200);
    expect(r.body.checks.log).toMatchObject({ ok: true, detail: expect.stringMatching(/^checking: the transparency log \(\d+ entries\) is being checked.*503 with Retry-After/) });

    const err = await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'direct.held.test' }] })).pem).catch((e: unknown) => e);
    expect(isCaError(err, 'unavailable') && err.retryAfterS).toBe(5);

    const rootPem = ca.root.toString('pem') + '\n';
    // TestClient only calls fetch: here it goes to the real listener over TLS.
    const client = new TestClient(httpsFetch(rootPem) as unknown as ConstructorParameters<typeof TestClient>[0], s.acme!.directoryUrl);
    const order = await readyOrder(client, web, 'bg.example.test');
    const csr = await csrFor(['bg.example.test']);
    const refused = await client.post(order.finalize, { csr }, { key: order.key, kid: order.kid });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('Retry-After')).toBe('5');
    expect(await problemOf(refused)).toMatchObject({ type: 'serverInternal', detail: expect.stringMatching(/being checked.*issuance resumes when the check passes/) });
    expect(await order.status()).toBe('ready');

    const est = await estEnroll(ca, s, rootPem, 'a.devices.test');
    expect(est.status).toBe(503);
    expect(est.headers.get('Retry-After')).toBe('5');
    expect(await est.text()).toMatch(/being checked/);
    // Nothing was signed over the unchecked log: no checkpoint, although the server logged its own acts.
    expect(await checkpointSize(s)).toBe(before);

    hold.open();
    await until('checked', async () => (await readyz(s)).body.checks.log.detail === 'database matches the signed log');
    expect(ca.authority.log!.checking).toBeNull();
    const ok = await client.post(order.finalize, { csr }, { key: order.key, kid: order.kid });
    expect(ok.status, await ok.clone().text()).toBe(200);
    expect((await estEnroll(ca, s, rootPem, 'b.devices.test')).status).toBe(200);
    await until('checkpoint', async () => (await checkpointSize(s)) === ca.store.audit.log.size());
    expect(await checkpointSize(s)).toBeGreaterThan(before);
  }, 90_000);

  it('bad/an un-revoked certificate found by the threads: issuance refused for good (no Retry-After), /readyz names it, nothing signed', async () => {
    const { dir } = await seededInstance(base, 'unrevoked', 2);
    tamper(dir, (db) => db.prepare("UPDATE certificates SET status = 'valid', revoked_at = NULL, reason = NULL WHERE status = 'revoked'").run());
    const ca = await openInstance({ dir, env });
    const before = ca.store.audit.log.latestCheckpoint()!.size;
    const { server: s } = await serve(ca);
    await until('verdict', async () => !(await readyz(s)).body.checks.log.detail.startsWith('checking'));
    const r = await readyz(s);
    expect(r.status).toBe(503);
    expect(r.body.reason).toMatch(/^log: the database does not match the signed transparency log \(certificate [0-9a-f]+: revoked in the log but valid in the inventory/);
    const err = await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'x.unrevoked.test' }] })).pem).catch((e: unknown) => e);
    expect(isCaError(err, 'unavailable')).toBe(true);
    expect((err as { retryAfterS?: number }).retryAfterS).toBeUndefined();
    await new Promise((r) => setTimeout(r, 1200));
    expect(await checkpointSize(s)).toBe(before);
  }, 60_000);

  it('bad/a log whose signed prefix changed is refused at once, before the threads report and before anything is signed', async () => {
    const { dir } = await seededInstance(base, 'tail', 2);
    tamper(dir, (db) => {
      const { id } = db.prepare('SELECT max(id) AS id FROM audit_events').get() as { id: number };
      db.prepare('DELETE FROM audit_events WHERE id = ?').run(id);
      deleteLeafAndParents(db, id - 1);
    });
    const ca = await openInstance({ dir, env });
    const leaves = () => (ca.store.db.prepare("SELECT count(*) AS n FROM certificates WHERE profile != 'ocsp-responder'").get() as { n: number }).n;
    const leavesBefore = leaves();
    const hold = holdOpen();
    const { server: s } = await serve(ca, { hold: hold.beforeVerdict });
    expect(ca.authority.log!.refusal).toMatch(/signed checkpoint covers \d+ entries but the log holds \d+/);
    const r = await readyz(s);
    expect(r.body.checks.log.detail).toMatch(/^the database does not match the signed transparency log/);
    // Even the listener's own certificate is refused: the exception is for a log not yet known to be bad.
    const err = await ca.authority.issue((await makeCsr({ sans: [{ type: 'dns', value: 'own.tail.test' }] })).pem, {}, { whileLogChecks: true }).catch((e: unknown) => e);
    expect(isCaError(err, 'unavailable')).toBe(true);
    hold.open();
    await until('verdict', async () => ca.authority.log!.checking === null);
    expect(ca.authority.log!.refusal).toMatch(/does not match/);
    // Only the responder (status keeps answering, as before #21) was signed; no leaf.
    expect(leaves()).toBe(leavesBefore);
  }, 60_000);

  it('bad/a check that fails or is stopped before its verdict is a refusal, never a pass: nothing is signed', async () => {
    const { dir } = await seededInstance(base, 'died', 1);
    const ca = await openInstance({ dir, env });
    cleanup.push(() => ca.close());
    const log = ca.authority.log!;
    await log.signNow();
    const before = ca.store.audit.log.latestCheckpoint()!.size;
    // An entry no checkpoint covers yet (appended without scheduling one).
    ca.store.transaction(() => ca.store.audit.append({ at: new Date(), action: 'test.unsigned', actor: 'test', target: null, details: {} }));
    expect(ca.store.audit.log.size()).toBe(before + 1);
    await expect(log.checkWith(async () => Promise.reject(new Error('thread ended (exit 1)')))).rejects.toThrow(/exit 1/);
    expect(log.checking).toBeNull();
    expect(log.refusal).toMatch(/the start check failed: thread ended/);
    expect(await log.signNow()).toBeNull();
    expect(ca.store.audit.log.latestCheckpoint()!.size).toBe(before);
  }, 60_000);

  it('fail/a start that fails on a busy port signs no checkpoint, whether the check ran inline or on threads', async () => {
    const { dir } = await seededInstance(base, 'busy', 1);
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as AddressInfo).port;
    cleanup.push(() => new Promise((r) => busy.close(() => r())));
    for (const threadFrom of [undefined, 0]) {
      const ca = await openInstance({ dir, env });
      try {
        ca.store.transaction(() => ca.store.audit.append({ at: new Date(), action: 'test.unsigned', actor: 'test', target: null, details: {} }));
        const before = ca.store.audit.log.latestCheckpoint()!.size;
        expect(ca.store.audit.log.size()).toBeGreaterThan(before);
        await expect(startServer(ca, { host: '127.0.0.1', port, logger: silentLogger, acme: false, logCheck: { threadFrom } })).rejects.toThrow(/EADDRINUSE/);
        await new Promise((r) => setTimeout(r, 300));
        expect(ca.store.audit.log.latestCheckpoint()!.size, `threadFrom ${threadFrom}`).toBe(before);
      } finally {
        await ca.close();
      }
    }
  }, 60_000);
});

import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanAcmeClient } from '../../scripts/bench/lean-client.ts';
import { cpuMs } from '../../scripts/bench/servers.ts';
import { BACKDATE_MS } from '../../src/authority/validity.ts';
import { parseDuration } from '../../src/domain/duration.ts';
import { openInstance } from '../../src/index.ts';
import { openStore } from '../../src/store/store.ts';
import { fromPem } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';
import { pki, pkiAsync, pkiBackground } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { jwks, k8sClaims, sign, signingKey, type SigningKey } from '../identity/support.ts';
import { expected, facts, inventory, pool, renew, type Workload } from './support.ts';

/**
 * The issue's fleet proof: FLEET_SIZE (default 1,000) simulated workloads, each a Kubernetes
 * service account with its own projected token, enroll through ACME tkauth-01 against a real
 * `pki serve` (its own process), on a fast test profile (certificates of LIFETIME, not 24 h). Every
 * certificate holds exactly what the template yields for its token; every workload that asks for
 * another's name is refused and gets nothing. Then the whole fleet renews by EST simplereenroll
 * over mTLS with its current certificate, CYCLES times, a new key each time; a few workloads' current
 * certificates are revoked on the way, and their next renewal is refused while the others go on.
 */
const FLEET_SIZE = Number(process.env.FLEET_SIZE ?? 1000);
const CONCURRENCY = 16;
/** One workload in this many also tries a name of another service account (it must be refused). */
const GREEDY_EVERY = 50;
const ISS = 'https://kubernetes.default.svc.cluster.local';
/** The fast test profile: short enough to be a short-lived fleet, long enough to outlast enrolment on a loaded box. */
const LIFETIME = '3m';
const CYCLES = 3;
/** Workloads whose current certificate is revoked after the first renewal cycle. */
const REVOKED = 5;

const fleet: Workload[] = [];

describe('fleet: workloads enroll by identity token (tkauth-01) against pki serve', () => {
  const work = tempDir();
  const dir = join(work, 'ca');
  let server: ReturnType<typeof pkiBackground>;
  let directoryUrl = '';
  let caPem = '';
  let cluster: SigningKey;

  beforeAll(async () => {
    expect(pki(['init', '--dir', dir], { PKI_PASSPHRASE: '' }).status).toBe(0);
    // A fleet needs no EAB here (tokens authorize), and 1,000 accounts come from one address.
    const configPath = join(dir, 'pki.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, Record<string, unknown>>;
    const fast = { ...config, issuance: { ...config.issuance, lifetime: LIFETIME } };
    writeFileSync(configPath, JSON.stringify({ ...fast, acme: { ...config.acme, requireEab: false }, rateLimits: { ...config.rateLimits, newAccountPerIp: false } }, null, 2));
    cluster = await signingKey('ES256', 'cluster-sa-key');
    writeFileSync(join(work, 'jwks.json'), jwks(cluster));
    const add = pki(['issuers', 'add', '--dir', dir, '--issuer', ISS, '--jwks-file', join(work, 'jwks.json'), '--subject', '^system:serviceaccount:(?<ns>[a-z0-9-]+):(?<sa>[a-z0-9-]+)$', '--identifier', 'uri:spiffe://corp/ns/{ns}/sa/{sa}', '--identifier', 'dns:{sa}.{ns}.svc']);
    expect(add.status, add.stderr).toBe(0);
    server = pkiBackground(['serve', '--dir', dir, '--http-port', '0', '--acme-port', '0'], /serve\.started/, { PKI_PASSPHRASE: '' });
    directoryUrl = (JSON.parse(await server.started) as { acmeDirectory: string }).acmeDirectory;
    caPem = readFileSync(join(dir, 'ca', 'root.pem'), 'utf8');
  }, 60_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
  });

  /** A projected token for ns/sa, valid 10 min from now. */
  const token = (ns: string, sa: string) => {
    const now = Math.floor(Date.now() / 1000);
    return sign(cluster, k8sClaims(ns, sa, { iat: now, nbf: now, exp: now + 600 }));
  };

  /** One workload: account, order, tkauth-01 for each authorization, finalize, download. Null when refused. */
  async function enroll(ns: string, sa: string, ids: string[], atc: string): Promise<Workload | null> {
    const client = new LeanAcmeClient(caPem, 1);
    try {
      await client.start(directoryUrl);
      const o = await client.post(client.dir.newOrder!, { identifiers: ids.map((i) => ({ type: i.slice(0, i.indexOf(':')), value: i.slice(i.indexOf(':') + 1) })) });
      if (o.status !== 201) throw new Error(`newOrder: ${o.status} ${o.body}`);
      const order = JSON.parse(o.body) as { authorizations: string[]; finalize: string };
      for (const az of order.authorizations) {
        const authz = JSON.parse((await client.post(az, '')).body) as { challenges: { type: string; url: string }[] };
        const ch = JSON.parse((await client.post(authz.challenges.find((c) => c.type === 'tkauth-01')!.url, { atc })).body) as { status: string };
        if (ch.status === 'processing') await client.pollUntil(az, (s) => s !== 'pending');
      }
      const state = JSON.parse((await client.post(o.headers.location as string, '')).body) as { status: string };
      if (state.status !== 'ready') return null;
      const { pem, keyPem } = await makeCsr({ sans: ids.map((i) => (i.startsWith('uri:') ? { type: 'url' as const, value: i.slice(4) } : { type: 'dns' as const, value: i.slice(4) })) });
      const fin = await client.post(order.finalize, { csr: Buffer.from(fromPem(pem, 'CERTIFICATE REQUEST')[0]!).toString('base64url') });
      if (fin.status !== 200) throw new Error(`finalize: ${fin.status} ${fin.body}`);
      let done = JSON.parse(fin.body) as Record<string, unknown>;
      if (done.status !== 'valid') done = await client.pollUntil(o.headers.location as string, (s) => s === 'valid');
      const certPem = (await client.post(done.certificate as string, '')).body.split(/(?<=-----END CERTIFICATE-----)\n/)[0]!;
      return { ns, sa, identifiers: ids, certPem, keyPem, serial: facts(certPem).serial };
    } finally {
      client.close();
    }
  }

  it(`ok/${FLEET_SIZE} workloads enroll, each with exactly its template's identifiers; greedy ones get nothing`, async () => {
    const cpu0 = cpuMs(server.child.pid!);
    const t0 = performance.now();
    let refused = 0;
    const stray: string[] = [];
    await pool(FLEET_SIZE, CONCURRENCY, async (i) => {
      const ns = `team-${i % 20}`;
      const sa = `svc-${i}`;
      const atc = await token(ns, sa);
      if (i % GREEDY_EVERY === 0) {
        // Its own token, and a name of another service account in the same namespace.
        const greedy = await enroll(ns, sa, [...expected(ns, sa), `dns:svc-${i + 1}.${ns}.svc`], atc);
        if (greedy) stray.push(...greedy.identifiers);
        refused++;
        return;
      }
      const w = await enroll(ns, sa, expected(ns, sa), atc);
      if (!w) throw new Error(`${ns}/${sa} was refused`);
      const sans = facts(w.certPem).sans;
      if (JSON.stringify(sans) !== JSON.stringify(expected(ns, sa))) stray.push(...sans);
      fleet.push(w);
    });
    const seconds = (performance.now() - t0) / 1000;
    const serverCpuMs = cpuMs(server.child.pid!).total - cpu0.total;
    expect(stray, 'issued outside a template').toEqual([]);
    expect(fleet).toHaveLength(FLEET_SIZE - refused);
    expect(new Set(fleet.map((w) => w.serial)).size).toBe(fleet.length);
    // Three connections wrote the trail (tokens, ACME bookkeeping, issuance): it is still one unbroken chain.
    const store = openStore(join(dir, 'pki.db'));
    try {
      expect(store.audit.verifyChain().ok).toBe(true);
      const events = store.audit.list();
      expect(events.filter((e) => e.action === 'acme.tkauth.valid')).toHaveLength(2 * fleet.length + 2 * refused);
      expect(events.filter((e) => e.action === 'acme.tkauth.invalid')).toHaveLength(refused);
    } finally {
      store.close();
    }
    process.stdout.write(`fleet enroll: ${FLEET_SIZE} workloads (${refused} greedy, refused) in ${seconds.toFixed(1)} s, ${(FLEET_SIZE / seconds).toFixed(1)} enrolments/s, server CPU ${(serverCpuMs / FLEET_SIZE).toFixed(1)} ms per workload\n`);
  }, 600_000);

  const origin = () => directoryUrl.replace(/\/acme\/directory$/, '');
  /** Workloads whose current certificate was revoked, by sa, and how their later renewals were answered. */
  const revoked = new Map<string, { serial: string; answers: { status: number; body: string }[] }>();
  let renewals = 0;
  let renewSeconds = 0;
  let renewCpuMs = 0;
  let clientCpuMs = 0;
  let greedyRefused = 0;

  /** One cycle: every workload renews by mTLS; a renewal must keep its identifiers, get a new key and serial, and record what it replaces. */
  async function cycle(): Promise<void> {
    const cpu0 = cpuMs(server.child.pid!).total;
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    const wrong: string[] = [];
    const store = openStore(join(dir, 'pki.db'));
    try {
      await pool(fleet.length, CONCURRENCY, async (i) => {
        const w = fleet[i]!;
        const held = revoked.get(w.sa);
        if (i % GREEDY_EVERY === 2 && !held) {
          // A renewal that also asks for a neighbour's name: refused, nothing issued (RFC 7030 §4.2.2).
          const greedy = await renew(origin(), caPem, w, [...w.identifiers, fleet[(i + 1) % fleet.length]!.identifiers[0]!]);
          if (greedy.ok || greedy.status !== 403 || !/keeps the certificate's names exactly/.test(greedy.body)) wrong.push(`${w.ns}/${w.sa} renewed with another's name: ${greedy.ok ? greedy.next.serial : `${greedy.status} ${greedy.body}`}`);
          greedyRefused++;
        }
        const r = await renew(origin(), caPem, w);
        if (!r.ok) {
          if (held) held.answers.push(r);
          else wrong.push(`${w.ns}/${w.sa}: ${r.status} ${r.body}`);
          return;
        }
        if (held) wrong.push(`${w.ns}/${w.sa} renewed a revoked certificate ${held.serial} into ${r.next.serial}`);
        const { sans } = facts(r.next.certPem);
        if (JSON.stringify(sans) !== JSON.stringify(w.identifiers)) wrong.push(`${w.ns}/${w.sa}: names changed to ${sans.join(', ')}`);
        if (r.next.serial === w.serial || r.next.keyPem === w.keyPem) wrong.push(`${w.ns}/${w.sa}: same serial or key`);
        const lineage = store.lineage.get(r.next.serial);
        if (lineage?.replaces !== w.serial) wrong.push(`${w.ns}/${w.sa}: ${r.next.serial} does not record that it replaces ${w.serial}`);
        // The chain still starts at the enrolment (the last fresh authorization), which renewal.maxLineage bounds.
        if (lineage?.start.getTime() !== store.lineage.get(w.serial)?.start.getTime()) wrong.push(`${w.ns}/${w.sa}: ${r.next.serial} restarted its lineage`);
        fleet[i] = r.next;
        renewals++;
      });
    } finally {
      store.close();
    }
    renewSeconds += (performance.now() - t0) / 1000;
    renewCpuMs += cpuMs(server.child.pid!).total - cpu0;
    const own = process.cpuUsage(own0);
    clientCpuMs += (own.user + own.system) / 1000;
    expect(wrong).toEqual([]);
  }

  it(`ok/the fleet renews by EST simplereenroll over mTLS, ${CYCLES} cycles, each keeping its identifiers and recording what it replaces; one asking for another's name is refused`, async () => {
    expect(fleet.length).toBeGreaterThan(0);
    await cycle();
    // The fast profile holds: certificates of LIFETIME (plus the CA's small backdating), not 24 h.
    const c = new X509Certificate(fleet[0]!.certPem);
    expect(Date.parse(c.validTo) - Date.parse(c.validFrom)).toBeLessThanOrEqual(parseDuration(LIFETIME) + BACKDATE_MS);
  }, 300_000);

  it(`bad/revoking ${REVOKED} workloads' current certificates stops their next renewal (403) while the others go on`, async () => {
    const victims = fleet.filter((_, i) => i % Math.max(1, Math.floor(fleet.length / REVOKED)) === 1).slice(0, REVOKED);
    for (const w of victims) revoked.set(w.sa, { serial: w.serial, answers: [] });
    const t0 = performance.now();
    // The first as an operator does it (`pki revoke`, its own process, beside the running serve); the
    // rest with the same Authority.revoke call in this process (each CLI start costs seconds on a loaded box).
    const [cli] = await Promise.all([
      pkiAsync(['revoke', '--dir', dir, '--serial', victims[0]!.serial, '--reason', 'keyCompromise'], { PKI_PASSPHRASE: '' }),
      (async () => {
        const ca = await openInstance({ dir, env: { PKI_PASSPHRASE: '' } });
        try {
          for (const w of victims.slice(1)) await ca.authority.revoke(w.serial, { reason: 'keyCompromise', actor: 'test:fleet' });
        } finally {
          await ca.close();
        }
      })(),
    ]);
    expect(cli.status, cli.stderr).toBe(0);
    process.stdout.write(`fleet revoke: ${REVOKED} revoked in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    for (let n = 1; n < CYCLES; n++) await cycle();
    for (const [sa, { serial, answers }] of revoked) {
      expect(answers, sa).toHaveLength(CYCLES - 1);
      for (const a of answers) {
        expect(a.status).toBe(403);
        expect(a.body).toMatch(new RegExp(`certificate ${serial} was revoked at .* \\(reason keyCompromise\\): it cannot be renewed`));
      }
    }
    const store = openStore(join(dir, 'pki.db'));
    try {
      expect(store.audit.verifyChain().ok).toBe(true);
      const refusals = store.audit.list().filter((e) => e.action === 'est.refused' && (e.details as { reason?: string }).reason === 'revoked');
      expect(refusals).toHaveLength(REVOKED * (CYCLES - 1));
    } finally {
      store.close();
    }
  }, 300_000);

  it('ok/nothing in the whole inventory was issued outside the template; every chain is enrolment + its renewals', () => {
    const store = openStore(join(dir, 'pki.db'));
    try {
      const { stray, perAccount } = inventory(store, (ns, sa) => {
        const i = Number(/^svc-(\d+)$/.exec(sa)?.[1] ?? NaN);
        return i < FLEET_SIZE && i % GREEDY_EVERY !== 0 && ns === `team-${i % 20}`;
      });
      expect(stray, 'issued outside a template').toEqual([]);
      expect(perAccount.size).toBe(fleet.length);
      for (const w of fleet) expect(perAccount.get(`${w.ns}/${w.sa}`), w.sa).toHaveLength(revoked.has(w.sa) ? 2 : 1 + CYCLES);
      expect(renewals).toBe(fleet.length * CYCLES - REVOKED * (CYCLES - 1));
    } finally {
      store.close();
    }
    process.stdout.write(
      `fleet renew: ${renewals} renewals by EST simplereenroll over mTLS (${fleet.length} workloads × ${CYCLES} cycles; ${REVOKED * (CYCLES - 1)} refused as revoked, ${greedyRefused} asking for another's name refused besides) in ${renewSeconds.toFixed(1)} s, ${(renewals / renewSeconds).toFixed(1)} renewals/s, server CPU ${(renewCpuMs / renewals).toFixed(1)} ms per renewal (the simulated workloads: ${(clientCpuMs / renewals).toFixed(1)} ms)\n`,
    );
  });
});

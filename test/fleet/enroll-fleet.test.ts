import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeanAcmeClient } from '../../scripts/bench/lean-client.ts';
import { cpuMs } from '../../scripts/bench/servers.ts';
import { openStore } from '../../src/store/store.ts';
import { fromPem, x509 } from '../../src/x509/x509.ts';
import { makeCsr } from '../helpers/ca.ts';
import { pki, pkiBackground } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { jwks, k8sClaims, sign, signingKey, type SigningKey } from '../identity/support.ts';

/**
 * The fleet proof, enrolment part: FLEET_SIZE (default 1,000) simulated workloads, each a
 * Kubernetes service account with its own projected token, enroll through ACME tkauth-01 against a
 * real `pki serve` (its own process). Every certificate holds exactly what the template yields for
 * its token; every workload that asks for another's name is refused and gets nothing.
 *
 * `fleet` keeps each workload's certificate and key, so a renewal phase (EST simplereenroll by
 * mTLS, several cycles) can be appended as further `it` blocks in this describe.
 */
const FLEET_SIZE = Number(process.env.FLEET_SIZE ?? 1000);
const CONCURRENCY = 16;
/** One workload in this many also tries a name of another service account (it must be refused). */
const GREEDY_EVERY = 50;
const ISS = 'https://kubernetes.default.svc.cluster.local';

export interface Workload {
  ns: string;
  sa: string;
  identifiers: string[];
  certPem: string;
  keyPem: string;
  serial: string;
}
export const fleet: Workload[] = [];

const expected = (ns: string, sa: string) => [`dns:${sa}.${ns}.svc`, `uri:spiffe://corp/ns/${ns}/sa/${sa}`];

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
    writeFileSync(configPath, JSON.stringify({ ...config, acme: { ...config.acme, requireEab: false }, rateLimits: { ...config.rateLimits, newAccountPerIp: false } }, null, 2));
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
      return { ns, sa, identifiers: ids, certPem, keyPem, serial: new x509.X509Certificate(certPem).serialNumber };
    } finally {
      client.close();
    }
  }

  it(`ok/${FLEET_SIZE} workloads enroll, each with exactly its template's identifiers; greedy ones get nothing`, async () => {
    const cpu0 = cpuMs(server.child.pid!);
    const t0 = performance.now();
    let next = 0;
    let refused = 0;
    const stray: string[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < FLEET_SIZE) {
          const i = next++;
          const ns = `team-${i % 20}`;
          const sa = `svc-${i}`;
          const atc = await token(ns, sa);
          if (i % GREEDY_EVERY === 0) {
            // Its own token, and a name of another service account in the same namespace.
            const greedy = await enroll(ns, sa, [...expected(ns, sa), `dns:svc-${i + 1}.${ns}.svc`], atc);
            if (greedy) stray.push(...greedy.identifiers);
            refused++;
            continue;
          }
          const w = await enroll(ns, sa, expected(ns, sa), atc);
          if (!w) throw new Error(`${ns}/${sa} was refused`);
          const sans = new x509.X509Certificate(w.certPem).getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON().map((n) => `${n.type === 'url' ? 'uri' : n.type}:${n.value}`).sort();
          if (JSON.stringify(sans) !== JSON.stringify(expected(ns, sa))) stray.push(...sans);
          fleet.push(w);
        }
      }),
    );
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

  // Renewal phase (EST simplereenroll over mTLS with each `fleet` member's certificate) goes here.
});

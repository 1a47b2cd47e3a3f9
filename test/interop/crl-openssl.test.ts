import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, silentLogger, type CaInstance, type RunningServer } from '../../src/index.ts';
import { authorityWithShards, createTestCa, makeCsr } from '../helpers/ca.ts';
import { runAsync } from '../helpers/run-async.ts';
import { tempDir } from '../helpers/tmp.ts';
import { x509 } from '../../src/x509/x509.ts';
import { hasTool } from '../helpers/tools.ts';

const HAVE_OPENSSL = hasTool('openssl');
const HAVE_CERTTOOL = hasTool('certtool');

describe.runIf(HAVE_OPENSSL)('CRL shards against openssl crl / verify -crl_check', () => { // skips only locally: hasTool() throws when CI is set
  let ca: CaInstance;
  let server: RunningServer;
  let dir: string;
  let crlUrl: string;
  const serials: Record<string, string> = {};

  beforeAll(async () => {
    ca = await createTestCa();
    server = await startServer(ca, { host: '127.0.0.1', port: 0, logger: silentLogger, acme: false, status: { pollIntervalMs: 100, crlRebuildDelayMs: 20 } });
    dir = tempDir();
    writeFileSync(join(dir, 'root.pem'), ca.root.toString('pem') + '\n');
    writeFileSync(join(dir, 'chain.pem'), ca.intermediate.toString('pem') + '\n' + ca.root.toString('pem') + '\n');
    for (const name of ['good', 'revoked']) {
      const csr = await makeCsr({ cn: `${name}.example`, sans: [{ type: 'dns', value: `${name}.example` }] });
      const cert = await ca.authority.issue(csr.pem);
      writeFileSync(join(dir, `${name}.pem`), cert.pem);
      serials[name] = cert.serial;
    }
    // The path the certificates' CDP names, served by this server.
    crlUrl = `${server.httpUrl}${new URL(ca.authority.issuer.urls.crl(0)).pathname}`;
  });
  afterAll(async () => {
    await server?.close();
    await ca?.close();
  });

  async function fetchCrl(): Promise<{ der: Buffer; number: bigint; text: string }> {
    const res = await fetch(crlUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pkix-crl');
    const der = Buffer.from(await res.arrayBuffer());
    const path = join(dir, 'crl.der');
    writeFileSync(path, der);
    const r = await runAsync('openssl', ['crl', '-inform', 'DER', '-in', path, '-CAfile', join(dir, 'chain.pem'), '-noout', '-text']);
    expect(r.stderr).toContain('verify OK');
    const m = /X509v3 CRL Number: \n\s+(\d+)/.exec(r.stdout);
    expect(m).not.toBeNull();
    return { der, number: BigInt(m![1]!), text: r.stdout };
  }

  it('ok/the CDP URL serves a v2 CRL whose signature openssl verifies, with AKI, number, next update', async () => {
    const crl = await fetchCrl();
    expect(crl.text).toMatch(/Version 2/);
    expect(crl.text).toMatch(/X509v3 Authority Key Identifier/);
    expect(crl.text).toMatch(/Next Update: /);
    expect(crl.text).toMatch(/No Revoked Certificates/);
    const pem = await fetch(crlUrl.replace(/\.crl$/, '.pem'));
    expect(await pem.text()).toMatch(/^-----BEGIN X509 CRL-----\n/);
  });

  it('ok/after a revocation the CRL is rebuilt within seconds, lists the serial with its reason, and its number grew', async () => {
    const before = await fetchCrl();
    await ca.authority.revoke(serials.revoked!, { reason: 'keyCompromise' });
    let after = before;
    for (let i = 0; i < 50 && after.number === before.number; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await fetchCrl();
    }
    expect(after.number).toBeGreaterThan(before.number);
    expect(after.text.toUpperCase()).toContain(`SERIAL NUMBER: ${serials.revoked!.toUpperCase()}`);
    expect(after.text).toMatch(/Key Compromise/);
    const pemPath = join(dir, 'crl.pem');
    writeFileSync(pemPath, await (await fetch(crlUrl.replace(/\.crl$/, '.pem'))).text());

    const rejected = await runAsync('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'chain.pem'), '-CRLfile', pemPath, join(dir, 'revoked.pem')]);
    expect(rejected.status).not.toBe(0);
    expect(rejected.stdout + rejected.stderr).toMatch(/certificate revoked/);
    const accepted = await runAsync('openssl', ['verify', '-crl_check', '-CAfile', join(dir, 'chain.pem'), '-CRLfile', pemPath, join(dir, 'good.pem')]);
    expect(accepted.stdout).toMatch(/good\.pem: OK/);
    expect(accepted.status).toBe(0);
  });

  it('ok/each rebuild takes a larger CRL number, also across a restart of the service', async () => {
    const a = await server.status.crls.rebuild(0);
    const b = await server.status.crls.rebuild(0);
    expect(b.number).toBeGreaterThan(a.number);
    expect(ca.store.crls.nextNumber(ca.authority.issuer.keyId)).toBe(b.number + 1n);
    expect((await fetchCrl()).number).toBe(b.number);
  });

  it('fail/unknown issuer or shard: 404', async () => {
    expect((await fetch(`${server.httpUrl}/crl/00ff/0.crl`)).status).toBe(404);
    expect((await fetch(crlUrl.replace(/0\.crl$/, '7.crl'))).status).toBe(404);
    expect((await fetch(crlUrl.replace(/0\.crl$/, '..%2f0.crl'))).status).toBe(404);
  });

  /** openssl crl -verify, certtool's view of it, and openssl verify -crl_check of two leaves with it. */
  async function checkCrl(name: string, der: Uint8Array, chain: string, good: string, revoked: string): Promise<{ text: string; certtool: string }> {
    const path = join(dir, `${name}.crl`);
    writeFileSync(path, der);
    const text = await runAsync('openssl', ['crl', '-inform', 'DER', '-in', path, '-CAfile', chain, '-noout', '-text']);
    expect(text.stderr).toContain('verify OK');
    const pem = join(dir, `${name}.crl.pem`);
    expect((await runAsync('openssl', ['crl', '-inform', 'DER', '-in', path, '-out', pem])).status).toBe(0);
    let certtool = '';
    if (HAVE_CERTTOOL) {
      const info = await runAsync('certtool', ['--crl-info', '--inder', '--infile', path]);
      expect(info.status).toBe(0);
      const v = await runAsync('certtool', ['--verify-crl', '--load-ca-certificate', join(dir, 'intermediate.pem'), '--infile', pem]);
      expect(v.stdout + v.stderr).toMatch(/Verified/);
      expect(v.status).toBe(0);
      certtool = info.stdout;
    }
    const rejected = await runAsync('openssl', ['verify', '-crl_check', '-CAfile', chain, '-CRLfile', pem, revoked]);
    expect(rejected.stdout + rejected.stderr).toMatch(/certificate revoked/);
    const accepted = await runAsync('openssl', ['verify', '-crl_check', '-CAfile', chain, '-CRLfile', pem, good]);
    expect(accepted.stdout + accepted.stderr).toMatch(/: OK/);
    expect(accepted.status).toBe(0);
    return { text: text.stdout, certtool };
  }

  it('regression/a complete CRL (crl.shards = 1) has no Issuing Distribution Point, so no critical extension; openssl and certtool read it', async () => {
    writeFileSync(join(dir, 'intermediate.pem'), ca.intermediate.toString('pem') + '\n');
    await ca.authority.revoke(serials.revoked!, { reason: 'keyCompromise' }).catch(() => undefined); // already revoked above when run in order
    const crl = await ca.authority.issueCrl({ shard: 0, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), listExpiredSince: new Date(0) });
    const r = await checkCrl('complete', crl.der, join(dir, 'chain.pem'), join(dir, 'good.pem'), join(dir, 'revoked.pem'));
    expect(r.text).not.toMatch(/Issuing Distribution Point/i);
    expect(r.text).not.toMatch(/critical/);
    if (HAVE_CERTTOOL) expect(r.certtool).not.toMatch(/Issuing Distribution Point|\(critical\)/i);
  });

  it('ok/a shard CRL (crl.shards > 1) keeps its critical IDP naming the shard URL; a leaf of that shard verifies against it', async () => {
    const sharded = await authorityWithShards(ca, 4);
    const leaves: { pem: string; serial: string }[] = [];
    for (const name of ['s-good', 's-revoked']) {
      const csr = await makeCsr({ cn: `${name}.example`, sans: [{ type: 'dns', value: `${name}.example` }] });
      leaves.push(await sharded.issue(csr.pem));
    }
    // The shard a leaf's CDP names; a good leaf is issued until it shares the revoked one's shard.
    const cdp = (pem: string) => {
      const m = /\/crl\/[0-9a-f]+\/(\d+)\.crl/.exec(Buffer.from(new x509.X509Certificate(pem).getExtension('2.5.29.31')!.rawData).toString('latin1'));
      return Number(m![1]);
    };
    let good = leaves[0]!;
    const revoked = leaves[1]!;
    for (let i = 0; cdp(good.pem) !== cdp(revoked.pem) && i < 40; i++) {
      good = await sharded.issue((await makeCsr({ cn: `g${i}.example`, sans: [{ type: 'dns', value: `g${i}.example` }] })).pem);
    }
    const shard = cdp(revoked.pem);
    expect(cdp(good.pem)).toBe(shard);
    await sharded.revoke(revoked.serial, { reason: 'keyCompromise' });
    writeFileSync(join(dir, 's-good.pem'), good.pem);
    writeFileSync(join(dir, 's-revoked.pem'), revoked.pem);
    const crl = await sharded.issueCrl({ shard, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 86_400_000), listExpiredSince: new Date(0) });
    const r = await checkCrl('shard', crl.der, join(dir, 'chain.pem'), join(dir, 's-good.pem'), join(dir, 's-revoked.pem'));
    expect(r.text).toMatch(/X509v3 Issuing Distribution Point: critical/);
    expect(r.text).toContain(sharded.issuer.urls.crl(shard));
  });
});

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toPem } from '../../src/x509/x509.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';
import { curl, enrollmentKey, opensslCsr, postCsr, useEstServer, type EstServer } from './support.ts';

/** Every refusal of EST through curl + openssl: the right status, a plain-text reason, an audit row. */
const work = tempDir();
const t = useEstServer(work);
// skips only locally: hasTool() throws when CI is set
const tools = hasTool('openssl') && hasTool('curl', ['--version']);

/** A certificate this CA issues directly for `name` (openssl key), with an optional short lifetime. */
async function issued(t: EstServer, name: string, o: { lifetimeMs?: number } = {}): Promise<{ certFile: string; keyFile: string; serial: string }> {
  const { keyFile } = opensslCsr(work, name);
  const c = await t.ca.authority.issue(new Uint8Array(readFileSync(join(work, `${name}.csr.der`))), { lifetimeMs: o.lifetimeMs });
  const certFile = join(work, `${name}.pem`);
  writeFileSync(certFile, toPem(c.der, 'CERTIFICATE'));
  return { certFile, keyFile, serial: c.serial };
}

const refusedEvents = (t: EstServer) => t.ca.store.audit.list({ target: 'simplereenroll' }).concat(t.ca.store.audit.list({ target: 'simpleenroll' })).filter((e) => e.action === 'est.refused');

const reenrollRefusals = (t: EstServer) => t.ca.store.audit.list({ target: 'simplereenroll' }).filter((e) => e.action === 'est.refused');

describe.skipIf(!tools)('EST refusals (curl + openssl)', () => { // skips only locally: the tool check throws when CI is set
  it('bad/simpleenroll without credentials is 401 with WWW-Authenticate Basic', async () => {
    const { csrFile } = opensslCsr(work, 'a.devices.test');
    const r = await postCsr(t, work, 'simpleenroll', csrFile);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toMatch(/^Basic realm="pki EST"/);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    expect(r.body).toMatch(/bootstrap credential/);
  });

  it('bad/simpleenroll with a wrong secret is 401 and audited; an unknown id gets the same answer', async () => {
    const key = await enrollmentKey(t.ca, ['dns:*.devices.test']);
    const { csrFile } = opensslCsr(work, 'b.devices.test');
    const before = refusedEvents(t).length;
    const wrong = await postCsr(t, work, 'simpleenroll', csrFile, ['--user', `${key.id}:${key.secret.slice(0, -2)}AA`]);
    const unknown = await postCsr(t, work, 'simpleenroll', csrFile, ['--user', `est-nobody:${key.secret}`]);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toBe(unknown.body);
    expect(refusedEvents(t).length).toBe(before + 2);
  });

  it('bad/Bearer with no token issuer configured is 401 saying so', async () => {
    const { csrFile } = opensslCsr(work, 'c.devices.test');
    const r = await postCsr(t, work, 'simpleenroll', csrFile, ['-H', 'Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.sig']);
    expect(r.status).toBe(401);
    expect(r.body).toMatch(/trusts no workload identity token issuer/);
  });

  it('bad/simpleenroll for a name outside the key scope is 403 naming it, and uses nothing', async () => {
    const key = await enrollmentKey(t.ca, ['dns:*.devices.test'], { maxUses: 1 });
    const { csrFile } = opensslCsr(work, 'evil.example', { sans: 'DNS:evil.example' });
    const r = await postCsr(t, work, 'simpleenroll', csrFile, ['--user', `${key.id}:${key.secret}`]);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/does not allow dns:evil\.example/);
    const ok = opensslCsr(work, 'd.devices.test');
    expect((await postCsr(t, work, 'simpleenroll', ok.csrFile, ['--user', `${key.id}:${key.secret}`])).status).toBe(200);
    const again = await postCsr(t, work, 'simpleenroll', ok.csrFile, ['--user', `${key.id}:${key.secret}`]);
    expect(again.status).toBe(403);
    expect(again.body).toMatch(/enrolled its 1 device/);
  });

  it('bad/wrong Content-Type 415, non-base64 400, too large 413, wrong method 405, unknown operation 404', async () => {
    const key = await enrollmentKey(t.ca, ['dns:*.devices.test']);
    const user = ['--user', `${key.id}:${key.secret}`];
    const { csrFile } = opensslCsr(work, 'e.devices.test');
    expect((await curl(t, work, '/.well-known/est/simpleenroll', ['-H', 'Content-Type: text/plain', '--data-binary', `@${csrFile}`, ...user])).status).toBe(415);
    const junk = join(work, 'junk.b64');
    writeFileSync(junk, 'not base64 at all!');
    const bad = await postCsr(t, work, 'simpleenroll', junk, user);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/not base64/);
    writeFileSync(junk, Buffer.alloc(40_000).toString('base64'));
    expect((await postCsr(t, work, 'simpleenroll', junk, user)).status).toBe(400);
    writeFileSync(junk, Buffer.alloc(100_000).toString('base64'));
    expect((await postCsr(t, work, 'simpleenroll', junk, user)).status).toBe(413);
    const get = await curl(t, work, '/.well-known/est/simpleenroll');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect((await curl(t, work, '/.well-known/est/serverkeygen')).status).toBe(404);
  });

  it('bad/simplereenroll without a client certificate is 401', async () => {
    const { csrFile } = opensslCsr(work, 'f.devices.test');
    const r = await postCsr(t, work, 'simplereenroll', csrFile);
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBeDefined();
    expect(r.body).toMatch(/TLS client certificate/);
  });

  it('bad/simplereenroll with a certificate from another CA (a throwaway openssl CA) is 401 and audited', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(work, 'evil-ca.key'), '-out', join(work, 'evil-ca.pem'), '-subj', '/CN=Evil CA', '-days', '2'], { stdio: 'pipe' });
    const { keyFile } = opensslCsr(work, 'g.devices.test');
    const certFile = join(work, 'g-foreign.pem');
    execFileSync('openssl', ['x509', '-req', '-inform', 'DER', '-in', join(work, 'g.devices.test.csr.der'), '-CA', join(work, 'evil-ca.pem'), '-CAkey', join(work, 'evil-ca.key'), '-CAcreateserial', '-days', '1', '-copy_extensions', 'copy', '-out', certFile], { stdio: 'pipe' });
    const next = opensslCsr(work, 'g2', { cn: 'g.devices.test', sans: 'DNS:g.devices.test' });
    const before = refusedEvents(t).length;
    const r = await postCsr(t, work, 'simplereenroll', next.csrFile, ['--cert', certFile, '--key', keyFile]);
    expect(r.status).toBe(401);
    expect(r.body).toMatch(/not issued by this CA/);
    expect(refusedEvents(t).length).toBe(before + 1);
  });

  it('bad/simplereenroll with a revoked certificate is 403 saying so', async () => {
    const c = await issued(t, 'h.devices.test');
    await t.ca.authority.revoke(c.serial, { reason: 'keyCompromise' });
    const next = opensslCsr(work, 'h2', { cn: 'h.devices.test', sans: 'DNS:h.devices.test' });
    const before = reenrollRefusals(t).length;
    const r = await postCsr(t, work, 'simplereenroll', next.csrFile, ['--cert', c.certFile, '--key', c.keyFile]);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(new RegExp(`certificate ${c.serial} was revoked .*keyCompromise`));
    expect(reenrollRefusals(t).slice(before).map((e) => e.details)).toEqual([expect.objectContaining({ status: 403, reason: 'revoked' })]);
  });

  it('bad/simplereenroll whose CSR asks for other names is 403 naming both sets', async () => {
    const c = await issued(t, 'i.devices.test');
    const next = opensslCsr(work, 'i2', { cn: 'i.devices.test', sans: 'DNS:i.devices.test,DNS:other.devices.test' });
    const r = await postCsr(t, work, 'simplereenroll', next.csrFile, ['--cert', c.certFile, '--key', c.keyFile]);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/keeps the certificate's names exactly/);
    expect(r.body).toMatch(/other\.devices\.test/);
  });

  it('bad/simplereenroll with the same key is 403 (renewal.allowSameKey is off)', async () => {
    const c = await issued(t, 'j.devices.test');
    const same = opensslCsr(work, 'j2', { cn: 'j.devices.test', sans: 'DNS:j.devices.test', keyFile: c.keyFile });
    const r = await postCsr(t, work, 'simplereenroll', same.csrFile, ['--cert', c.certFile, '--key', c.keyFile]);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/reuses the key/);
  });

  it('bad/simplereenroll with an expired certificate is 403 saying it expired', async () => {
    const c = await issued(t, 'k.devices.test', { lifetimeMs: 1000 });
    await new Promise((r) => setTimeout(r, 1100));
    const next = opensslCsr(work, 'k2', { cn: 'k.devices.test', sans: 'DNS:k.devices.test' });
    const r = await postCsr(t, work, 'simplereenroll', next.csrFile, ['--cert', c.certFile, '--key', c.keyFile]);
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/expired at/);
    expect(reenrollRefusals(t).at(-1)?.details).toMatchObject({ status: 403, reason: 'expired' });
  });
});

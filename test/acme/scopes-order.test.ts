import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FlattenedSign } from 'jose';
import { describe, expect, it } from 'vitest';
import { createEabKey } from '../../src/acme/eab.ts';
import { x509, fromPem } from '../../src/x509/x509.ts';
import { makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { pkiAsync } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';
import { newAccountKey, problemOf } from './support/client.ts';
import { useAcmeFixture } from './support/fixture.ts';

/** Scope escapes through the ACME wire (#16): every entry point runs the one identifier gate. */
const t = useAcmeFixture({ requireEab: true });
const work = tempDir();
const SCOPES = ['dns:*.payments.internal', 'ip:10.1.0.0/16', 'uri:spiffe://corp/payments/*'];

async function scopedAccount() {
  const eab = createEabKey(t.f.ctx.store, t.f.ctx.eabSealKey, { label: 'payments', scopes: SCOPES, clock: t.ca.clock });
  const key = await newAccountKey();
  const binding = await new FlattenedSign(new TextEncoder().encode(JSON.stringify(key.jwk)))
    .setProtectedHeader({ alg: 'HS256', kid: eab.kid, url: t.f.links.newAccount })
    .sign(Buffer.from(eab.hmacKey, 'base64url'));
  return t.f.account({ eab: binding as unknown as Record<string, unknown>, key });
}

type Problem = { type: string; subproblems?: { identifier: { type: string; value: string } }[] };

describe('scoped account: identifiers outside the scope by any spelling are refused (#16)', () => {
  it('fail/newOrder refuses the issue\'s escapes and every non-canonical spelling as rejectedIdentifier, naming it', async () => {
    const a = await scopedAccount();
    const escapes = [
      { type: 'uri', value: 'spiffe://corp/payments/../admin' },
      { type: 'uri', value: 'spiffe://corp/payments/%2e%2e/admin' },
      { type: 'uri', value: 'spiffe://corp/payments/%2E%2E/admin' },
      { type: 'uri', value: 'spiffe://corp/payments/a b' },
      { type: 'uri', value: 'spiffe://corp/payments-evil/x' },
      { type: 'ip', value: '::ffff:10.1.0.1' },
      { type: 'ip', value: '::ffff:a01:1' },
      { type: 'ip', value: '010.1.0.1' },
      { type: 'dns', value: 'api.payments.internal.' },
      { type: 'dns', value: 'API.payments.internal' },
      { type: 'dns', value: 'xn--abc.payments.internal' },
    ];
    for (const id of escapes) {
      const r = await t.f.client.post(t.f.links.newOrder, { identifiers: [id] }, { key: a.key, kid: a.kid });
      const p = (await r.json()) as Problem;
      expect({ status: r.status, type: p.type }, id.value).toEqual({ status: 400, type: 'urn:ietf:params:acme:error:rejectedIdentifier' });
      expect(p.subproblems?.[0]?.identifier, id.value).toEqual(id);
    }
  });

  it('ok/an in-scope SPIFFE ID is issued exactly as sent; fail/a CSR carrying an escaping URI SAN is badCsr', async () => {
    const a = await scopedAccount();
    const id = 'spiffe://corp/payments/api';
    const r = await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'uri', value: id }] }, { key: a.key, kid: a.kid });
    expect(r.status).toBe(201);
    const order = (await r.json()) as { status: string; finalize: string };
    expect(order.status).toBe('ready');
    const csrOf = async (uri: string) => Buffer.from(fromPem((await makeCsr({ sans: [{ type: 'url', value: uri }] })).pem, 'CERTIFICATE REQUEST')[0]!).toString('base64url');
    const bad = await problemOf(await t.f.client.post(order.finalize, { csr: await csrOf('spiffe://corp/payments/api/../../admin') }, { key: a.key, kid: a.kid }));
    // Refused by the gate for what it is, not merely for differing from the order.
    expect(bad).toMatchObject({ status: 400, type: 'badCSR', detail: expect.stringMatching(/"\." or "\.\." path segment/) });
    const fin = await t.f.client.post(order.finalize, { csr: await csrOf(id) }, { key: a.key, kid: a.kid });
    expect(fin.status).toBe(200);
    const cert = await (await t.f.client.post(((await fin.json()) as { certificate: string }).certificate, '', { key: a.key, kid: a.kid })).text();
    const leaf = new x509.X509Certificate(cert.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    expect(leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => `${n.type}:${n.value}`)).toEqual([`url:${id}`]);
  });

  it.skipIf(!hasTool('openssl'))('fail/an openssl-made CSR with an encoded dot-segment URI or an IPv4-mapped IP SAN is refused by pki issue', async () => { // skips only locally: hasTool() throws when CI is set
    for (const [name, san] of [['dots', 'URI:spiffe://corp/payments/%2E%2E/admin'], ['mapped', 'IP:::ffff:10.1.0.1']] as const) {
      const key = join(work, `${name}.key`);
      const csr = join(work, `${name}.csr`);
      execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', '/', '-addext', `subjectAltName=${san}`, '-out', csr], { stdio: 'ignore' });
      expect(readFileSync(csr, 'utf8')).toMatch(/BEGIN CERTIFICATE REQUEST/);
      const r = await pkiAsync(['issue', '--dir', t.ca.dir, '--csr', csr], { PKI_PASSPHRASE: TEST_PASSPHRASE });
      expect(r.status, name).not.toBe(0);
      expect(r.stderr, name).toMatch(name === 'dots' ? /percent-encodes the unreserved character "\."/ : /IPv4-mapped/);
    }
  });

  it('fail/pki eab create refuses a scope that is not canonical or whose "*" is not a whole segment, saying which', async () => {
    for (const scope of ['uri:spiffe://corp/payments*', 'dns:*.payments.internal.', 'ip:::ffff:10.0.0.0/104', 'ip:10.1.2.3/16']) {
      const r = await pkiAsync(['eab', 'create', '--dir', t.ca.dir, '--label', 'bad', '--allow', scope]);
      expect(r.status, scope).not.toBe(0);
      expect(r.stderr, scope).toContain(`scope "${scope}"`);
    }
  });
});

import { FlattenedSign } from 'jose';
import { describe, expect, it } from 'vitest';
import { createEabKey } from '../../src/acme/eab.ts';
import { newAccountKey, problemOf, type AccountKey } from './support/client.ts';
import { useAcmeFixture } from './support/fixture.ts';

/** Fleet keys: one EAB key binds up to N accounts (an autoscaling group), each held to the key's scopes; revoking it stops all. */
const t = useAcmeFixture({ requireEab: true });

async function eabFor(key: AccountKey, eab: { kid: string; hmacKey: string }): Promise<Record<string, unknown>> {
  return (await new FlattenedSign(new TextEncoder().encode(JSON.stringify(key.jwk)))
    .setProtectedHeader({ alg: 'HS256', kid: eab.kid, url: t.f.links.newAccount })
    .sign(Buffer.from(eab.hmacKey, 'base64url'))) as unknown as Record<string, unknown>;
}

const fleetKey = (maxAccounts: number, lifetimeMs?: number) =>
  createEabKey(t.f.ctx.store, t.f.ctx.eabSealKey, { label: 'web-asg', scopes: ['dns:*.web.internal'], clock: t.f.clock, maxAccounts, lifetimeMs });

/** newAccount with the fleet key: the response and the account (key + kid) when created. */
async function join(eab: { kid: string; hmacKey: string }) {
  const key = await newAccountKey();
  const r = await t.f.client.post(t.f.links.newAccount, { termsOfServiceAgreed: true, externalAccountBinding: await eabFor(key, eab) }, { key });
  return { r, acct: { key, kid: r.headers.get('Location') ?? '' } };
}

const order = (acct: { key: AccountKey; kid: string }, name: string) =>
  t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: name }] }, { key: acct.key, kid: acct.kid });

describe('fleet keys (pki eab create --max-accounts N)', () => {
  it('ok→bad/binds N accounts, each its own; the next is unauthorized naming the limit', async () => {
    const eab = fleetKey(3);
    const accounts = [];
    for (let i = 0; i < 3; i++) {
      const { r, acct } = await join(eab);
      expect(r.status).toBe(201);
      accounts.push(acct.kid);
    }
    expect(new Set(accounts).size).toBe(3);
    const { r } = await join(eab);
    const p = await problemOf(r);
    expect(p).toMatchObject({ status: 403, type: 'unauthorized' });
    expect(p.detail).toMatch(/has bound its 3 accounts \(--max-accounts\)/);
    // The refusal is in the audit trail, naming the key.
    const refused = t.ca.store.audit.list({ since: new Date(Date.now() - 60_000) }).filter((e) => e.action === 'acme.eab.refused');
    expect(refused.at(-1)?.details.detail).toBe(p.detail);
    expect(t.f.ctx.store.eabKeys.get(eab.kid)).toMatchObject({ boundCount: 3, maxAccounts: 3 });
  });

  it('ok/concurrent bindings never exceed the limit (the count is raised under a compare in the binding transaction)', async () => {
    const eab = fleetKey(4);
    const results = await Promise.all(Array.from({ length: 12 }, () => join(eab)));
    expect(results.filter((x) => x.r.status === 201)).toHaveLength(4);
    expect(results.filter((x) => x.r.status === 403)).toHaveLength(8);
    expect(t.f.ctx.store.eabKeys.get(eab.kid)!.boundCount).toBe(4);
  });

  it('ok→bad/every account is held to the key scopes, and revoking the key stops all of them', async () => {
    const eab = fleetKey(2);
    const a = (await join(eab)).acct;
    const b = (await join(eab)).acct;
    expect((await order(a, 'a.web.internal')).status).toBe(201);
    expect((await order(b, 'b.web.internal')).status).toBe(201);
    expect(await problemOf(await order(b, 'db.internal'))).toMatchObject({ type: 'rejectedIdentifier' });
    t.f.ctx.store.eabKeys.revoke(eab.kid);
    for (const acct of [a, b]) {
      const p = await problemOf(await order(acct, 'x.web.internal'));
      expect(p).toMatchObject({ status: 403, type: 'unauthorized' });
      expect(p.detail).toMatch(/was revoked/);
    }
  });

  it('bad/a fleet key binds nothing after it expires; accounts bound before keep working', async () => {
    const eab = fleetKey(5, 60_000);
    const early = (await join(eab)).acct;
    t.f.clock.advance(61_000);
    const late = await problemOf((await join(eab)).r);
    expect(late).toMatchObject({ status: 403, type: 'unauthorized' });
    expect(late.detail).toMatch(/expired at/);
    expect((await order(early, 'early.web.internal')).status).toBe(201);
  });
});

import { expect, it } from 'vitest';
import { AcmeStore } from '../../../src/store/acme-store.ts';
import type { AccountRecord, AuthzRecord, ChallengeRecord, EabKeyRecord, OrderRecord } from '../../../src/store/acme-records.ts';
import { ALL_BYTES, at, contract } from './backends.ts';

const NOW = at('2026-03-01T00:00:00Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

const account = (id: string, thumbprint: string, o: Partial<AccountRecord> = {}): AccountRecord => ({
  id,
  thumbprint,
  jwk: { kty: 'EC', crv: 'P-256', x: id, y: thumbprint },
  contact: ['mailto:ops@example.com'],
  status: 'valid',
  eabKid: null,
  eabBinding: null,
  createdAt: NOW,
  ...o,
});

const eabKey = (kid: string, o: Partial<EabKeyRecord> = {}): EabKeyRecord => ({
  kid,
  label: `label ${kid}`,
  sealedKey: new Uint8Array(ALL_BYTES),
  scopes: ['dns:*.example.com'],
  status: 'active',
  accountId: null,
  createdAt: NOW,
  expiresAt: null,
  maxAccounts: null,
  boundCount: 0,
  ...o,
});

/** An order with one authorization per name and two challenges each, inserted in this order. */
function order(acme: AcmeStore, id: string, accountId: string, names: string[], o: Partial<OrderRecord> = {}) {
  const rec: OrderRecord = { id, accountId, status: 'pending', identifiers: names.map((value) => ({ type: 'dns', value })), profile: 'server', expiresAt: later(3_600_000), error: null, certSerial: null, issuingSerial: null, replaces: null, createdAt: NOW, ...o };
  // Ids that do not sort in insertion order: listing must follow insertion, not the id.
  const authzs: AuthzRecord[] = names.map((value, i) => ({ id: `${id}-z${9 - i}`, orderId: id, accountId, identifier: { type: 'dns', value }, wildcard: i === 0, status: 'pending', expiresAt: later(3_600_000) }));
  const challenges: ChallengeRecord[] = authzs.flatMap((a) => [
    { id: `${a.id}-c9`, authzId: a.id, type: 'http-01', token: `t-${a.id}-1`, status: 'pending', validatedAt: null, error: null },
    { id: `${a.id}-c1`, authzId: a.id, type: 'dns-01', token: `t-${a.id}-2`, status: 'pending', validatedAt: null, error: null },
  ]);
  acme.orders.insert(rec, authzs, challenges);
  return { rec, authzs, challenges };
}

contract('ACME accounts', (f) => {
  const acme = async () => new AcmeStore((await f.fresh()).db);

  it('ok/insert, get by id and thumbprint, contact, status, key change; NULLs as null', async () => {
    const a = await acme();
    a.accounts.insert(account('a1', 't1'));
    expect(a.accounts.get('a1')).toStrictEqual(account('a1', 't1'));
    expect(a.accounts.byThumbprint('t1')?.id).toBe('a1');
    expect(a.accounts.byThumbprint('tx')).toBeNull();
    a.accounts.updateContact('a1', ['mailto:b@example.com', 'mailto:c@example.com']);
    a.accounts.setStatus('a1', 'deactivated');
    expect(a.accounts.get('a1')).toMatchObject({ contact: ['mailto:b@example.com', 'mailto:c@example.com'], status: 'deactivated', eabKid: null, eabBinding: null });
    expect(a.accounts.replaceKey('a1', 't1', { kty: 'OKP', x: 'n' }, 't2')).toBe(true);
    expect(a.accounts.replaceKey('a1', 't1', { kty: 'OKP', x: 'm' }, 't3')).toBe(false); // old key no longer current
    expect(a.accounts.byThumbprint('t2')).toMatchObject({ id: 'a1', jwk: { kty: 'OKP', x: 'n' } });
  });

  it('bad/a thumbprint is unique: a second account with it is refused; a key change onto it is false', async () => {
    const a = await acme();
    a.accounts.insert(account('a1', 't1'));
    a.accounts.insert(account('a2', 't2'));
    expect(() => a.accounts.insert(account('a3', 't1'))).toThrow();
    expect(a.accounts.replaceKey('a2', 't2', { kty: 'EC' }, 't1')).toBe(false);
    expect(a.accounts.get('a2')?.thumbprint).toBe('t2');
  });

  it('bad/a key change onto a used thumbprint inside a transaction is false and the transaction goes on', async () => {
    const a = await acme();
    a.accounts.insert(account('a1', 't1'));
    a.accounts.insert(account('a2', 't2'));
    a.transaction(() => {
      expect(a.accounts.replaceKey('a2', 't2', { kty: 'EC' }, 't1')).toBe(false);
      a.audit.append({ at: NOW, action: 'acme.keyChange.refused', actor: 'acme:a2', target: 'a2' });
    });
    expect(a.audit.lastId()).toBe(1);
  });

  it('ok/an EAB-bound account keeps its kid and binding JWS', async () => {
    const a = await acme();
    a.eabKeys.insert(eabKey('k1'));
    const binding = { protected: 'p', payload: 'q', signature: 's' };
    a.accounts.insert(account('a1', 't1', { eabKid: 'k1', eabBinding: binding }));
    expect(a.accounts.get('a1')).toMatchObject({ eabKid: 'k1', eabBinding: binding });
    expect(() => a.accounts.insert(account('a2', 't2', { eabKid: 'nokey' }))).toThrow(); // foreign key
  });
});

contract('ACME orders, authorizations, challenges', (f) => {
  async function withAccount() {
    const a = new AcmeStore((await f.fresh()).db);
    a.accounts.insert(account('acc', 'tp'));
    return a;
  }

  it('ok/insert and read back; authorizations and challenges in insertion order', async () => {
    const a = await withAccount();
    const { rec, authzs, challenges } = order(a, 'o1', 'acc', ['a.example', 'b.example']);
    expect(a.orders.order('o1')).toStrictEqual(rec);
    expect(a.orders.authzsOf('o1')).toStrictEqual(authzs);
    expect(a.orders.authzsOf('o1').map((z) => z.wildcard)).toEqual([true, false]);
    expect(a.orders.challengesOf(authzs[0]!.id)).toStrictEqual(challenges.slice(0, 2));
    expect(a.orders.authz(authzs[1]!.id)).toStrictEqual(authzs[1]);
    expect(a.orders.challenge(challenges[3]!.id)).toStrictEqual(challenges[3]);
    expect(a.orders.order('nope')).toBeNull();
    expect(a.orders.authz('nope')).toBeNull();
    expect(a.orders.challenge('nope')).toBeNull();
  });

  it('ok/orders of an account, newest first, at most limit', async () => {
    const a = await withAccount();
    order(a, 'o1', 'acc', ['a.example'], { createdAt: later(1) });
    order(a, 'o2', 'acc', ['a.example'], { createdAt: later(3) });
    order(a, 'o3', 'acc', ['a.example'], { createdAt: later(2) });
    expect(a.orders.ordersOf('acc').map((o) => o.id)).toEqual(['o2', 'o3', 'o1']);
    expect(a.orders.ordersOf('acc', 1).map((o) => o.id)).toEqual(['o2']);
    expect(a.orders.ordersOf('other')).toEqual([]);
  });

  it('ok/order transitions only from allowed states; finalize issues once', async () => {
    const a = await withAccount();
    order(a, 'o1', 'acc', ['a.example']);
    expect(a.orders.startIssuing('o1', 's1')).toBe(false); // pending, not ready
    expect(a.orders.transitionOrder('o1', ['pending'], 'ready')).toBe(true);
    expect(a.orders.transitionOrder('o1', ['pending'], 'ready')).toBe(false);
    expect(a.orders.startIssuing('o1', 's1')).toBe(true);
    expect(a.orders.startIssuing('o1', 's2')).toBe(false);
    expect(a.orders.processingOrders().map((o) => [o.id, o.issuingSerial])).toEqual([['o1', 's1']]);
    expect(a.orders.linkCertificate('o1', ['ready'], 's1')).toBe(false);
    expect(a.orders.linkCertificate('o1', ['processing', 'invalid'], 's1')).toBe(true);
    expect(a.orders.order('o1')).toMatchObject({ status: 'valid', certSerial: 's1', error: null });
    expect(a.orders.orderByCertificate('s1')?.id).toBe('o1');
    expect(a.orders.orderByCertificate('s9')).toBeNull();
    expect(a.orders.processingOrders()).toEqual([]);
  });

  it('ok/an invalid order keeps its problem; invalidWith finds it by problem type; coalesce keeps fields', async () => {
    const a = await withAccount();
    order(a, 'o1', 'acc', ['a.example'], { createdAt: later(2) });
    order(a, 'o2', 'acc', ['a.example'], { createdAt: later(1) });
    order(a, 'o3', 'acc', ['a.example']);
    const problem = { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'signing failed: "quoted" é', status: 500 };
    expect(a.orders.transitionOrder('o1', ['pending'], 'invalid', { error: problem })).toBe(true);
    expect(a.orders.transitionOrder('o2', ['pending'], 'invalid', { error: problem })).toBe(true);
    expect(a.orders.transitionOrder('o3', ['pending'], 'invalid', { error: { ...problem, type: 'urn:x' } })).toBe(true);
    expect(a.orders.order('o1')?.error).toStrictEqual(problem);
    expect(a.orders.invalidWith(problem.type).map((o) => o.id)).toEqual(['o2', 'o1']);
    expect(a.orders.invalidWith('urn:none')).toEqual([]);
    expect(a.orders.transitionOrder('o1', ['invalid'], 'valid', { certSerial: 'c1' })).toBe(true);
    expect(a.orders.order('o1')).toMatchObject({ status: 'valid', certSerial: 'c1', error: problem });
  });

  it('ok/replacing: an order that still counts for an ARI certificate id', async () => {
    const a = await withAccount();
    order(a, 'o1', 'acc', ['a.example'], { replaces: 'ari1', expiresAt: later(1000) });
    expect(a.orders.replacing('ari1', NOW)?.id).toBe('o1');
    expect(a.orders.replacing('ari1', later(2000))).toBeNull(); // pending and expired
    expect(a.orders.replacing('ari2', NOW)).toBeNull();
    a.orders.transitionOrder('o1', ['pending'], 'invalid');
    expect(a.orders.replacing('ari1', NOW)).toBeNull();
  });

  it('ok/authorization and challenge transitions only from allowed states; processing challenges in insertion order', async () => {
    const a = await withAccount();
    const { authzs, challenges } = order(a, 'o1', 'acc', ['a.example', 'b.example']);
    const z = authzs[0]!.id;
    expect(a.orders.transitionAuthz(z, ['valid'], 'invalid')).toBe(false);
    expect(a.orders.transitionAuthz(z, ['pending'], 'valid')).toBe(true);
    expect(a.orders.authz(z)?.status).toBe('valid');
    const [c1, c2, c3] = [challenges[0]!.id, challenges[1]!.id, challenges[2]!.id];
    expect(a.orders.transitionChallenge(c3, ['pending'], 'processing')).toBe(true);
    expect(a.orders.transitionChallenge(c1, ['pending'], 'processing')).toBe(true);
    expect(a.orders.transitionChallenge(c1, ['pending'], 'processing')).toBe(false);
    expect(a.orders.processingChallenges().map((c) => c.id)).toEqual([c1, c3]);
    expect(a.orders.transitionChallenge(c1, ['processing'], 'valid', { validatedAt: later(5) })).toBe(true);
    expect(a.orders.challenge(c1)).toMatchObject({ status: 'valid', validatedAt: later(5), error: null });
    const problem = { type: 'urn:ietf:params:acme:error:dns', detail: 'no TXT', status: 400 };
    expect(a.orders.transitionChallenge(c2, ['pending', 'processing'], 'invalid', { error: problem })).toBe(true);
    expect(a.orders.challenge(c2)).toMatchObject({ status: 'invalid', validatedAt: null, error: problem });
  });
});

contract('ACME EAB keys and nonces', (f) => {
  const acme = async () => new AcmeStore((await f.fresh()).db);

  it('ok/EAB keys: insert, get (sealed key byte for byte), list in creation order, revoke once', async () => {
    const a = await acme();
    a.eabKeys.insert(eabKey('k2', { createdAt: later(1), expiresAt: later(99), maxAccounts: 5 }));
    a.eabKeys.insert(eabKey('k1'));
    const k2 = a.eabKeys.get('k2')!;
    expect(Buffer.from(k2.sealedKey).equals(ALL_BYTES)).toBe(true);
    expect(k2).toMatchObject({ expiresAt: later(99), maxAccounts: 5, boundCount: 0, accountId: null, scopes: ['dns:*.example.com'] });
    expect(a.eabKeys.get('k1')).toMatchObject({ expiresAt: null, maxAccounts: null });
    expect(a.eabKeys.list().map((k) => k.kid)).toEqual(['k1', 'k2']);
    expect(a.eabKeys.revoke('k1')).toBe(true);
    expect(a.eabKeys.revoke('k1')).toBe(false);
    expect(a.eabKeys.get('nope')).toBeNull();
  });

  it('ok/EAB binding: one account per key, or up to a fleet key max; never a revoked key; the first account kept', async () => {
    const a = await acme();
    a.eabKeys.insert(eabKey('single'));
    a.eabKeys.insert(eabKey('fleet', { maxAccounts: 2 }));
    a.eabKeys.insert(eabKey('gone'));
    a.eabKeys.revoke('gone');
    expect(a.eabKeys.bind('single', 'a1')).toBe(true);
    expect(a.eabKeys.bind('single', 'a2')).toBe(false);
    expect(a.eabKeys.bind('fleet', 'a1')).toBe(true);
    expect(a.eabKeys.bind('fleet', 'a2')).toBe(true);
    expect(a.eabKeys.bind('fleet', 'a3')).toBe(false);
    expect(a.eabKeys.bind('gone', 'a1')).toBe(false);
    expect(a.eabKeys.get('fleet')).toMatchObject({ accountId: 'a1', boundCount: 2 });
    expect(a.eabKeys.get('single')).toMatchObject({ accountId: 'a1', boundCount: 1 });
  });

  it('ok/a nonce is spent once; purge drops only expired ones', async () => {
    const a = await acme();
    const t = NOW.getTime();
    expect(a.nonces.spend('n1', t + 10)).toBe(true);
    expect(a.nonces.spend('n1', t + 10)).toBe(false);
    expect(a.nonces.spend('n2', t + 1000)).toBe(true);
    expect(a.nonces.purgeExpired(t + 500)).toBe(1);
    expect(a.nonces.purgeExpired(t + 500)).toBe(0);
    expect(a.nonces.spend('n2', t + 1000)).toBe(false);
    expect(a.nonces.spend('n1', t + 10)).toBe(true); // purged: forgotten (its JWS would be stale by then)
  });

  it('ok/spending a nonce inside a transaction that fails leaves it unspent', async () => {
    const a = await acme();
    expect(() =>
      a.transaction(() => {
        a.nonces.spend('n1', NOW.getTime() + 1000);
        expect(a.nonces.spend('n1', NOW.getTime() + 1000)).toBe(false);
        throw new Error('undo');
      }),
    ).toThrow('undo');
    expect(a.nonces.spend('n1', NOW.getTime() + 1000)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { generateSerial } from '../../src/x509/serial.ts';
import { csrFor } from './support/csr.ts';
import { acmeFixture, useAcmeFixture } from './support/fixture.ts';

/** Stranded ACME work (issue #16): what a crash or a full disk leaves `processing` is finished or failed, and audited. */
const t = useAcmeFixture({ requireEab: false });

type Acct = Awaited<ReturnType<typeof t.f.account>>;
const idOf = (url: string) => url.split('/').at(-1)!;
const audited = (action: string, target: string) => t.f.ctx.store.audit.list({ target }).some((e) => e.action === action && e.actor === 'system:acme-reconcile');

/** A ready order left `processing` the way a crash leaves it: serial recorded, maybe signed, never linked. */
async function strandedOrder(a: Acct, name: string, o: { sign: boolean; recordSerial?: boolean }) {
  const ready = await t.f.readyOrder(a, [name]);
  const id = idOf(ready.url);
  const order = t.f.ctx.store.orders.order(id)!;
  const serial = generateSerial();
  if (o.recordSerial === false) expect(t.f.ctx.store.orders.transitionOrder(id, ['ready'], 'processing')).toBe(true);
  else expect(t.f.ctx.store.orders.startIssuing(id, serial)).toBe(true);
  let issued: string | null = null;
  if (o.sign) {
    const csr = new Uint8Array(Buffer.from(await csrFor([name]), 'base64url'));
    issued = (await t.ca.authority.issue(csr, { profile: order.profile, identifiers: order.identifiers, actor: `acme:${idOf(a.kid)}`, ...(o.recordSerial === false ? {} : { serial }) })).serial;
  }
  return { id, url: ready.url, serial: issued ?? serial };
}

describe('orders left processing', () => {
  it('ok/a certificate signed for an order is linked to it: the order becomes valid and the account can download it', async () => {
    const a = await t.f.account();
    const s = await strandedOrder(a, 'signed.example.test', { sign: true });
    expect(t.f.ctx.store.orders.order(s.id)!.status).toBe('processing');
    expect(t.f.service.reconciler.run().ordersLinked).toBe(1);
    const order = (await (await t.f.client.post(s.url, '', { key: a.key, kid: a.kid })).json()) as { status: string; certificate: string };
    expect(order.status).toBe('valid');
    expect(order.certificate).toBe(t.f.links.certificate(s.serial));
    expect((await t.f.client.post(order.certificate, '', { key: a.key, kid: a.kid })).status).toBe(200);
    expect(audited('acme.order.recovered', s.id)).toBe(true);
  });

  it('ok/an order stranded before its serial was recorded (older rows) is linked to the one matching certificate', async () => {
    const a = await t.f.account();
    const s = await strandedOrder(a, 'legacy.example.test', { sign: true, recordSerial: false });
    t.f.service.reconciler.run();
    const order = t.f.ctx.store.orders.order(s.id)!;
    expect(order).toMatchObject({ status: 'valid', certSerial: s.serial });
  });

  it('fail/an order whose certificate was never signed becomes invalid with serverInternal, audited', async () => {
    const a = await t.f.account();
    const s = await strandedOrder(a, 'unsigned.example.test', { sign: false });
    expect(t.f.service.reconciler.run().ordersFailed).toBe(1);
    const order = (await (await t.f.client.post(s.url, '', { key: a.key, kid: a.kid })).json()) as { status: string; error: { type: string; detail: string } };
    expect(order.status).toBe('invalid');
    expect(order.error).toMatchObject({ type: 'urn:ietf:params:acme:error:serverInternal', detail: expect.stringMatching(/new order/) });
    expect(audited('acme.order.failed', s.id)).toBe(true);
  });

  it('ok/an order a finalize is signing right now is left alone', async () => {
    const a = await t.f.account();
    const s = await strandedOrder(a, 'busy.example.test', { sign: false });
    t.f.ctx.finalizing.add(s.id);
    try {
      t.f.service.reconciler.run();
      expect(t.f.ctx.store.orders.order(s.id)!.status).toBe('processing');
    } finally {
      t.f.ctx.finalizing.delete(s.id);
    }
    t.f.service.reconciler.run();
    expect(t.f.ctx.store.orders.order(s.id)!.status).toBe('invalid');
  });
});

describe('finalize is recoverable', () => {
  /** Runs `fn` with the authority's issue wrapped by `wrap`, then puts it back. */
  async function withIssue(wrap: (orig: typeof t.f.ctx.authority.issue) => typeof t.f.ctx.authority.issue, fn: () => Promise<void>) {
    const authority = t.f.ctx.authority;
    t.f.ctx.authority = { profiles: authority.profiles, issuer: authority.issuer, revoke: authority.revoke.bind(authority), issue: wrap(authority.issue.bind(authority)) };
    try {
      await fn();
    } finally {
      t.f.ctx.authority = authority;
    }
  }

  it('ok/the serial is on the order before the key signs, and is the serial the certificate gets', async () => {
    const a = await t.f.account();
    const o = await t.f.readyOrder(a, ['recorded.example.test']);
    let recorded: string | null | undefined;
    await withIssue(
      (orig) => async (csr, opts) => {
        recorded = t.f.ctx.store.orders.order(idOf(o.url))!.issuingSerial;
        expect(opts.serial).toBe(recorded);
        return orig(csr, opts);
      },
      async () => {
        const fin = (await (await t.f.client.post(o.finalize, { csr: await csrFor(['recorded.example.test']) }, { key: a.key, kid: a.kid })).json()) as { certificate: string };
        expect(recorded).toMatch(/^[0-9a-f]{32}$/);
        expect(fin.certificate).toBe(t.f.links.certificate(recorded!));
      },
    );
  });

  it('ok/a failure after the certificate was recorded does not strand it: the order is valid with it', async () => {
    const a = await t.f.account();
    const o = await t.f.readyOrder(a, ['after-commit.example.test']);
    await withIssue(
      (orig) => async (csr, opts) => {
        await orig(csr, opts);
        throw new Error('an observer failed after the commit');
      },
      async () => {
        const r = await t.f.client.post(o.finalize, { csr: await csrFor(['after-commit.example.test']) }, { key: a.key, kid: a.kid });
        expect(r.status).toBe(200);
        expect(((await r.json()) as { status: string }).status).toBe('valid');
      },
    );
  });
});

describe('challenges left processing', () => {
  async function strandedChallenge(a: Acct, name: string) {
    const r = (await (await t.f.client.post(t.f.links.newOrder, { identifiers: [{ type: 'dns', value: name }] }, { key: a.key, kid: a.kid })).json()) as { authorizations: string[] };
    const authzId = idOf(r.authorizations[0]!);
    const ch = t.f.ctx.store.orders.challengesOf(authzId).find((c) => c.type === 'http-01')!;
    // The POST moved it to processing, then the process died before validating.
    expect(t.f.ctx.store.orders.transitionChallenge(ch.id, ['pending'], 'processing')).toBe(true);
    return { authzId, ch };
  }

  it('ok/a challenge with no validation running is validated again: its authorization and order move on', async () => {
    const a = await t.f.account();
    const { authzId, ch } = await strandedChallenge(a, 'retry.example.test');
    const { calculateJwkThumbprint } = await import('jose');
    t.f.web.set(ch.token, `${ch.token}.${await calculateJwkThumbprint(a.key.jwk, 'sha256')}`);
    expect(t.f.service.reconciler.run().challengesRetried).toBe(1);
    await t.f.service.validations.drain();
    expect(t.f.ctx.store.orders.challenge(ch.id)!.status).toBe('valid');
    expect(t.f.ctx.store.orders.authz(authzId)!.status).toBe('valid');
    expect(audited('acme.challenge.retried', ch.id)).toBe(true);
  });

  it('fail/a challenge whose authorization no longer waits for it becomes invalid with a problem, audited', async () => {
    const a = await t.f.account();
    const { authzId, ch } = await strandedChallenge(a, 'gone.example.test');
    t.f.ctx.store.orders.transitionAuthz(authzId, ['pending'], 'deactivated');
    expect(t.f.service.reconciler.run().challengesFailed).toBe(1);
    expect(t.f.ctx.store.orders.challenge(ch.id)).toMatchObject({ status: 'invalid', error: { type: 'urn:ietf:params:acme:error:serverInternal' } });
    expect(audited('acme.challenge.failed', ch.id)).toBe(true);
  });
});

describe('at start', () => {
  it('ok/a service starting over stranded work reconciles it before serving', async () => {
    const a = await t.f.account();
    const signed = await strandedOrder(a, 'restart-signed.example.test', { sign: true });
    const unsigned = await strandedOrder(a, 'restart-unsigned.example.test', { sign: false });
    // The old finalize made an order invalid when issue() failed after the certificate was recorded.
    const failedAfter = await strandedOrder(a, 'restart-failed-after.example.test', { sign: true });
    t.f.ctx.store.orders.transitionOrder(failedAfter.id, ['processing'], 'invalid', { error: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'issuance failed', status: 500 } });
    t.f.service.reconciler.run();
    expect(t.f.ctx.store.orders.order(failedAfter.id)!.status).toBe('invalid');
    const restarted = await acmeFixture(t.ca, { requireEab: false });
    try {
      expect(restarted.ctx.store.orders.order(signed.id)).toMatchObject({ status: 'valid', certSerial: signed.serial });
      expect(restarted.ctx.store.orders.order(unsigned.id)!.status).toBe('invalid');
      // Its certificate, never delivered nor revocable by its account, is the order's again.
      expect(restarted.ctx.store.orders.order(failedAfter.id)).toMatchObject({ status: 'valid', certSerial: failedAfter.serial, error: null });
      expect(restarted.ctx.store.orders.orderByCertificate(failedAfter.serial)?.accountId).toBe(idOf(a.kid));
    } finally {
      await restarted.close();
    }
  });
});

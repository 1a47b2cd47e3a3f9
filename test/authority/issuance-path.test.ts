import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Authority } from '../../src/authority/authority.ts';
import { issueCaCertificate } from '../../src/authority/ca-certificates.ts';
import { Observers } from '../../src/authority/observers.ts';
import { issuerUrls } from '../../src/authority/profiles.ts';
import { fixedClock } from '../../src/domain/clock.ts';
import type { Logger } from '../../src/domain/log.ts';
import type { CaInstance } from '../../src/index.ts';
import type { KeyStore } from '../../src/keystore/keystore.ts';
import type { Store } from '../../src/store/store.ts';
import { keyIdentifier } from '../../src/x509/certificate.ts';
import { createTestCa, makeCsr } from '../helpers/ca.ts';

/**
 * One issuance path: leaves, OCSP responder certificates and CA certificates are all reserved
 * durably before the key signs, signed once, recorded `valid` with an audit event durably, and a
 * signing failure leaves a `failed` row with a `certificate.failed` audit event, whatever the kind.
 */
let ca: CaInstance;
beforeAll(async () => {
  ca = await createTestCa();
});
afterAll(async () => {
  await ca?.close();
});

/** The instance's key store with every signature logged in `events`, failing while `fail.on`. */
function watchedKeyStore(ks: KeyStore, events: string[], fail: { on: boolean }): KeyStore {
  return {
    type: ks.type,
    createKey: (r) => ks.createKey(r),
    getPublicKey: (r) => ks.getPublicKey(r),
    listKeys: () => ks.listKeys(),
    close: async () => {},
    getSigner: async (r) => {
      const s = await ks.getSigner(r);
      return {
        label: s.label,
        alg: s.alg,
        publicKeySpki: s.publicKeySpki,
        sign: async (tbs) => {
          events.push('sign');
          if (fail.on) throw new Error('CKR_DEVICE_REMOVED');
          return s.sign(tbs);
        },
      };
    },
  };
}

/** Logs each durable commit (after it, with the rows it left for `serial`) into `events`. */
function watchDurability(store: Store, events: string[]): void {
  const durably = store.durably.bind(store);
  vi.spyOn(store, 'durably').mockImplementation(async (fn) => {
    const r = await durably(fn);
    events.push('durable');
    return r;
  });
}

async function watchedAuthority(events: string[], fail: { on: boolean }): Promise<Authority> {
  return Authority.open({
    store: ca.issuanceStore,
    clock: ca.clock,
    keyStore: watchedKeyStore(ca.keyStore, events, fail),
    keyLabel: ca.config.intermediate.keyLabel,
    certificate: ca.intermediate,
    urls: (keyId) => issuerUrls(ca.config.baseUrl, keyId),
    crlShards: 1,
    defaultLifetimeMs: 3_600_000,
    maxLifetimeMs: 86_400_000,
  });
}

const failedRows = () => ca.store.db.prepare("SELECT serial, profile FROM certificates WHERE status = 'failed'").all() as { serial: string; profile: string }[];

const kinds = {
  leaf: async (a: Authority) => (await a.issue((await makeCsr({ cn: 'path.test', sans: [{ type: 'dns', value: 'path.test' }] })).pem, { actor: 'cli' })).serial,
  'ocsp-responder': async (a: Authority) => (await a.issueResponder(3_600_000)).serial,
};

describe('one issuance path: every kind of certificate the same way', () => {
  for (const [kind, issue] of Object.entries(kinds)) {
    it(`ok/${kind}: reserved durably, signed once, then recorded valid with its audit event durably`, async () => {
      const events: string[] = [];
      const authority = await watchedAuthority(events, { on: false });
      watchDurability(ca.issuanceStore, events);
      try {
        const serial = await issue(authority);
        expect(events).toEqual(['durable', 'sign', 'durable']);
        expect(ca.store.certificates.get(serial)!.status).toBe('valid');
        expect(ca.store.audit.list({ target: serial }).map((e) => e.action)).toEqual([kind === 'leaf' ? 'certificate.issued' : 'ocsp.responder.issued']);
      } finally {
        vi.restoreAllMocks();
      }
    });

    it(`fail/${kind}: a key that cannot sign leaves a failed row with a certificate.failed audit event`, async () => {
      const events: string[] = [];
      const authority = await watchedAuthority(events, { on: true });
      const before = new Set(failedRows().map((c) => c.serial));
      await expect(issue(authority)).rejects.toMatchObject({ kind: 'keyStore' });
      const failed = failedRows().filter((c) => !before.has(c.serial));
      expect(failed.map((c) => c.profile)).toEqual([kind === 'leaf' ? 'default' : kind]);
      expect(ca.store.audit.list({ target: failed[0]!.serial }).map((e) => e.action)).toEqual(['certificate.failed']);
      expect(events).toEqual(['sign']);
    });
  }

  it('ok/a CA certificate goes the same way, and its validity is clamped to its issuer like every other', async () => {
    const events: string[] = [];
    const rootKey = await ca.keyStore.getPublicKey({ label: ca.config.intermediate.keyLabel });
    const keyStore = watchedKeyStore(ca.keyStore, events, { on: false });
    watchDurability(ca.store, events);
    try {
      // An issuer whose validity starts in the future: the subordinate's notBefore may not precede it.
      const issuerCert = ca.intermediate;
      const early = fixedClock(new Date(issuerCert.notBefore.getTime() - 3_600_000));
      const sub = await issueCaCertificate({
        store: ca.store,
        clock: early,
        keyStore,
        signingKey: ca.config.intermediate.keyLabel,
        subjectName: 'CN=Clamped Sub CA',
        subjectSpki: rootKey.publicKeySpki,
        lifetimeMs: 10 * 365 * 86_400_000,
        issuer: { certificate: issuerCert, keyId: keyIdentifier(new Uint8Array(issuerCert.publicKey.rawData)) },
        pathLength: 0,
        profile: 'intermediate',
      });
      expect(events).toEqual(['durable', 'sign', 'durable']);
      expect(sub.notBefore.getTime()).toBe(issuerCert.notBefore.getTime());
      expect(sub.notAfter.getTime()).toBe(issuerCert.notAfter.getTime());
      const serial = sub.serialNumber.toLowerCase();
      expect(ca.store.certificates.get(serial)?.status).toBe('valid');
      expect(ca.store.audit.list({ target: serial }).map((e) => e.action)).toEqual(['certificate.issued']);
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('observers: told after the commit, never the act failing', () => {
  it('ok/a listener that throws does not fail the issuance; it is logged', async () => {
    const errors: unknown[] = [];
    const logger: Logger = { info: () => {}, warn: () => {}, error: (logged, fields) => errors.push({ logged, ...fields }) };
    const authority = await watchedAuthority([], { on: false });
    authority.logger = logger;
    authority.onIssued(() => {
      throw new Error('OCSP pre-sign failed');
    });
    const issued = await kinds.leaf(authority);
    expect(ca.store.certificates.get(issued)!.status).toBe('valid');
    expect(errors).toEqual([expect.objectContaining({ logged: 'authority.observer.failed', event: 'certificate.issued', target: issued, attempt: 1, retry: true, error: 'OCSP pre-sign failed' })]);
  });

  it('ok/a failed listener is tried again until it succeeds or the retries run out', async () => {
    const logged: number[] = [];
    const observers = new Observers<string>('x', { info: () => {}, warn: () => {}, error: (_e, f) => logged.push(f!.attempt as number) }, [5, 5]);
    let calls = 0;
    observers.add(() => {
      calls++;
      if (calls < 3) throw new Error('not yet');
    });
    await observers.notify('v', 't');
    await vi.waitFor(() => expect(calls).toBe(3));
    expect(logged).toEqual([1, 2]);

    const always = new Observers<string>('y', { info: () => {}, warn: () => {}, error: (_e, f) => logged.push(f!.attempt as number) }, [5]);
    let tries = 0;
    always.add(() => {
      tries++;
      throw new Error('never');
    });
    await always.notify('v', 't');
    await new Promise((r) => setTimeout(r, 50));
    expect(tries).toBe(2);
  });
});

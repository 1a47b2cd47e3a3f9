import { afterAll, beforeAll } from 'vitest';
import { createTestCa } from '../../helpers/ca.ts';
import { createAcmeService, type AcmeDeps, type AcmeService } from '../../../src/acme/create.ts';
import { defaultAcmeConfig, type AcmeConfig } from '../../../src/config/acme.ts';
import { fixedClock } from '../../../src/domain/clock.ts';
import { createAcmeApp, type AcmeFetchApp } from '../../../src/http/acme-https/fetch-app.ts';
import { silentLogger, type CaInstance } from '../../../src/index.ts';
import { startChallengeServer } from './challenge-server.ts';
import { startDnsServer } from './dns-server.ts';
import { newAccountKey, TestClient, type AccountKey } from './client.ts';

export const ORIGIN = 'https://acme.test:9443';

/** The ACME app in-process over a test CA, with an http-01 responder and a clock the test moves. */
export async function acmeFixture(ca: CaInstance, config: Partial<AcmeConfig> = {}, deps: Partial<AcmeDeps> = {}) {
  const web = await startChallengeServer();
  const dns = await startDnsServer();
  const clock = fixedClock(new Date());
  const service: AcmeService = await createAcmeService({
    dir: ca.dir,
    db: ca.store.db,
    authority: ca.authority,
    certificates: ca.store.certificates,
    clock,
    logger: silentLogger,
    intermediatePem: ca.intermediate.toString('pem') + '\n',
    config: { ...defaultAcmeConfig(), http01Port: web.port, dnsServer: dns.address, ...config },
    defaultProfile: 'default',
    origin: ORIGIN,
    ...deps,
  });
  const app: AcmeFetchApp = createAcmeApp(service.ctx);
  const client = new TestClient(app, `${ORIGIN}/acme/directory`);
  const links = service.ctx.links;

  /** A registered account (no EAB unless given). */
  async function account(o: { eab?: Record<string, unknown>; key?: AccountKey } = {}) {
    const key = o.key ?? (await newAccountKey());
    const r = await client.post(links.newAccount, { termsOfServiceAgreed: true, ...(o.eab ? { externalAccountBinding: o.eab } : {}) }, { key });
    if (r.status !== 201) throw new Error(`newAccount: ${r.status} ${await r.text()}`);
    return { key, kid: r.headers.get('Location')! };
  }

  /** An order taken through http-01 to `ready`. */
  async function readyOrder(acct: { key: AccountKey; kid: string }, names: string[], profile?: string) {
    const r = await client.post(links.newOrder, { identifiers: names.map((value) => ({ type: 'dns', value })), ...(profile ? { profile } : {}) }, { key: acct.key, kid: acct.kid });
    if (r.status !== 201) throw new Error(`newOrder: ${r.status} ${await r.text()}`);
    const url = r.headers.get('Location')!;
    const order = (await r.json()) as { authorizations: string[]; finalize: string };
    for (const az of order.authorizations) {
      const a = (await (await client.post(az, '', { key: acct.key, kid: acct.kid })).json()) as { challenges: { type: string; url: string; token: string }[] };
      const ch = a.challenges.find((c) => c.type === 'http-01')!;
      web.set(ch.token, `${ch.token}.${await thumbprintOf(acct.key)}`);
      await client.post(ch.url, {}, { key: acct.key, kid: acct.kid });
    }
    await service.validations.drain();
    return { url, finalize: order.finalize, authorizations: order.authorizations };
  }

  return { service, ctx: service.ctx, app, client, links, clock, web, account, readyOrder, dns, close: async () => {
    await service.close();
    await web.close();
    await dns.close();
  } };
}

async function thumbprintOf(key: AccountKey): Promise<string> {
  const { calculateJwkThumbprint } = await import('jose');
  return calculateJwkThumbprint(key.jwk, 'sha256');
}

/** A test CA and the ACME fixture over it, started before the file's tests and stopped after. */
export function useAcmeFixture(config: Partial<AcmeConfig> = {}): { ca: CaInstance; f: AcmeFixture } {
  const t = {} as { ca: CaInstance; f: AcmeFixture };
  beforeAll(async () => {
    t.ca = await createTestCa();
    t.f = await acmeFixture(t.ca, config);
  });
  afterAll(async () => {
    await t.f?.close();
    await t.ca?.close();
  });
  return t;
}

export type AcmeFixture = Awaited<ReturnType<typeof acmeFixture>>;

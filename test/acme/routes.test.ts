import { describe, expect, it } from 'vitest';
import { AcmeLinks } from '../../src/acme/links.ts';
import { ACME_ROUTES, acmeRouter, routeEntries, type AcmeRouteName } from '../../src/acme/routes.ts';
import { problemOf } from './support/client.ts';
import { ORIGIN, useAcmeFixture } from './support/fixture.ts';

const t = useAcmeFixture({ requireEab: false });
const links = new AcmeLinks(ORIGIN);
const route = acmeRouter((name) => name);

/** The URL AcmeLinks gives for a route (with `id` where the route takes one), through its named member. */
function linkOf(name: AcmeRouteName, id: string): string {
  const member = (links as unknown as Record<AcmeRouteName, string | ((id: string) => string)>)[name];
  return typeof member === 'function' ? member.call(links, id) : member;
}
/** A path that reaches the route: its link, plus a certificate id below it for renewalInfo (RFC 9773 §4.1). */
const pathOf = (name: AcmeRouteName) => new URL(linkOf(name, 'Id_1') + ('idBelow' in ACME_ROUTES[name] ? '/not-a-cert-id' : '')).pathname;

/** The route table (src/acme/routes.ts) feeds links, routing and the directory: they agree for every route. */
describe('ACME route table', () => {
  it('ok/every URL is the one clients have always been given', () => {
    expect(Object.fromEntries(routeEntries.map(([name]) => [name, linkOf(name, 'X')]))).toEqual({
      directory: `${ORIGIN}/acme/directory`,
      newNonce: `${ORIGIN}/acme/new-nonce`,
      newAccount: `${ORIGIN}/acme/new-account`,
      newOrder: `${ORIGIN}/acme/new-order`,
      revokeCert: `${ORIGIN}/acme/revoke-cert`,
      keyChange: `${ORIGIN}/acme/key-change`,
      renewalInfo: `${ORIGIN}/acme/renewal-info`,
      account: `${ORIGIN}/acme/account/X`,
      orders: `${ORIGIN}/acme/account/X/orders`,
      order: `${ORIGIN}/acme/order/X`,
      finalize: `${ORIGIN}/acme/order/X/finalize`,
      authz: `${ORIGIN}/acme/authz/X`,
      challenge: `${ORIGIN}/acme/challenge/X`,
      certificate: `${ORIGIN}/acme/cert/X`,
    });
    expect(links.accountIdOf(links.account('Id_1'))).toBe('Id_1');
    expect(links.accountIdOf(links.order('Id_1'))).toBeNull();
  });

  it('ok/the router takes every link back to its route and id', () => {
    for (const [name, spec] of routeEntries) {
      const rest = pathOf(name).slice('/acme/'.length);
      expect(route(rest), name).toEqual({ route: name, id: spec.idBelow ? 'not-a-cert-id' : spec.path.includes(':id') ? 'Id_1' : '' });
    }
    expect(route('renewal-info/AAAA.BBBB')).toEqual({ route: 'renewalInfo', id: 'AAAA.BBBB' }); // RFC 9773 certIDs hold a '.'
    for (const rest of ['', 'order/a.b', 'order', 'order/a b', 'order/x/finalize/more', 'renewal-info', 'renewal-info/a/b', 'constructor', '__proto__', 'account/:id']) expect(route(rest), rest).toBeNull();
  });

  it('ok/the directory lists exactly the routes marked for it, at their links', async () => {
    const { meta, ...listed } = await t.f.client.directory();
    expect(meta).toBeDefined();
    expect(Object.keys(listed)).toEqual(['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'keyChange', 'renewalInfo']);
    expect(listed).toEqual(Object.fromEntries(routeEntries.filter(([, r]) => r.inDirectory).map(([name]) => [name, linkOf(name, '')])));
  });

  it('ok/each route answers its own methods through the pipeline: GET routes their handler, POST routes the JWS check', async () => {
    for (const [name, spec] of routeEntries) {
      const url = `${ORIGIN}${pathOf(name)}`;
      if (spec.get) {
        const r = await t.f.client.fetch(url);
        expect([200, 204, 400], name).toContain(r.status); // renewalInfo: the handler refuses the made-up certificate id
        expect((await t.f.client.fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: '{}' })).status, name).toBe(404);
      }
      if (spec.post) {
        const r = await t.f.client.fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/jose+json' }, body: '{}' });
        expect(await problemOf(r), name).toMatchObject({ status: 400, type: 'malformed' });
        expect((await t.f.client.fetch(url)).status, name).toBe(405);
      }
    }
  });
});

import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../src/domain/clock.ts';
import { initInstance, openInstance, silentLogger, type CaInstance } from '../../src/index.ts';
import { StatusService } from '../../src/status/status-service.ts';
import { authorityWithShards, makeCsr, TEST_PASSPHRASE } from '../helpers/ca.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;

function basicOf(der: Uint8Array): ocsp.BasicOCSPResponse {
  const r = AsnConvert.parse(der, ocsp.OCSPResponse);
  return AsnConvert.parse(r.responseBytes!.response, ocsp.BasicOCSPResponse);
}

describe('status service (injected clock)', () => {
  const clock = fixedClock(new Date('2026-03-01T12:00:00Z'));
  let ca: CaInstance;
  let status: StatusService;
  const options = { ocspValidityMs: 12 * HOUR, ocspRefreshBeforeMs: 6 * HOUR, responderLifetimeMs: 4 * 24 * HOUR, responderRenewBeforeMs: 2 * 24 * HOUR, crlValidityMs: 24 * HOUR, crlRefreshBeforeMs: 12 * HOUR, expiredGraceMs: 24 * HOUR };

  beforeAll(async () => {
    const dir = join(tempDir(), 'ca');
    await initInstance({ dir, passphrase: TEST_PASSPHRASE, clock });
    ca = await openInstance({ dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE }, clock });
    status = new StatusService({ store: ca.store, authority: ca.authority, clock, logger: silentLogger, options });
    status.attach();
    await status.start();
  });
  afterAll(async () => {
    status?.stop();
    await ca?.close();
  });

  const issue = async (name: string, lifetimeMs = 24 * HOUR) =>
    ca.authority.issue((await makeCsr({ cn: name, sans: [{ type: 'dns', value: name }] })).pem, { lifetimeMs });

  it('ok/a response is pre-signed and stored at issuance, thisUpdate now, nextUpdate after the validity', async () => {
    const leaf = await issue('a.example');
    const stored = ca.store.ocspResponses.get(leaf.serial)!;
    expect(stored.certStatus).toBe('good');
    expect(stored.thisUpdate.getTime()).toBe(clock.now().getTime());
    expect(stored.nextUpdate.getTime() - stored.thisUpdate.getTime()).toBe(12 * HOUR);
    const basic = basicOf(stored.der);
    expect(basic.tbsResponseData.responses[0]!.certStatus.good).toBeNull();
    expect(status.cache.get(leaf.serial, clock.now().getTime())!.body.equals(Buffer.from(stored.der))).toBe(true);
  });

  it('ok/responses are re-signed in the background once less than the refresh margin is left', async () => {
    const leaf = await issue('refresh.example');
    const first = ca.store.ocspResponses.get(leaf.serial)!;
    clock.advance(5 * HOUR);
    await status.runMaintenance();
    expect(ca.store.ocspResponses.get(leaf.serial)!.seq).toBe(first.seq); // 7 h left: not yet
    clock.advance(2 * HOUR);
    await status.runMaintenance();
    const second = ca.store.ocspResponses.get(leaf.serial)!;
    expect(second.seq).toBeGreaterThan(first.seq);
    expect(second.thisUpdate.getTime()).toBe(clock.now().getTime());
  });

  it('ok/revocation re-signs the response as revoked and the CRL rebuild lists it', async () => {
    const leaf = await issue('revoke.example');
    const before = status.crls.current(0)!.number;
    await ca.authority.revoke(leaf.serial, { reason: 'keyCompromise' });
    expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('revoked');
    await status.crls.flush();
    const crl = status.crls.current(0)!;
    expect(crl.number).toBeGreaterThan(before);
    expect(crl.entries).toBe(1);
  });

  it('ok/revoked certificates drop off the CRL once expired for longer than the grace period', async () => {
    const leaf = await issue('short.example', 2 * HOUR);
    await ca.authority.revoke(leaf.serial, { reason: 'superseded' });
    await status.crls.flush();
    expect(status.crls.current(0)!.entries).toBe(2);
    clock.advance(2 * HOUR + 23 * HOUR); // expired 23 h ago: still listed
    expect((await status.crls.rebuild(0)).entries).toBe(2);
    clock.advance(2 * HOUR); // expired 25 h ago: gone
    expect((await status.crls.rebuild(0)).entries).toBe(1);
  });

  it('ok/the responder certificate is rotated before its responses could outlive it', async () => {
    const first = await status.responder();
    clock.advance(first.notAfter.getTime() - clock.now().getTime() - 2 * 24 * HOUR - 60_000);
    expect((await status.responder()).serial).toBe(first.serial);
    clock.advance(120_000);
    const second = await status.responder();
    expect(second.serial).not.toBe(first.serial);
    expect(ca.store.ocspResponders.list(ca.authority.issuer.keyId).map((r) => r.serial)).toContain(second.serial);
    // Responses signed now expire well before the new responder does.
    const leaf = await issue('rotated.example');
    expect(ca.store.ocspResponses.get(leaf.serial)!.nextUpdate.getTime()).toBeLessThan(second.notAfter.getTime());
    expect(ca.store.ocspResponses.get(leaf.serial)!.responder).toBe(second.serial);
  });

  it('ok/the CRL number keeps growing across a restart of the service (it is persisted)', async () => {
    const last = status.crls.current(0)!.number;
    status.stop();
    // A fresh service over the same database (the old one stays attached to the authority, harmlessly).
    status = new StatusService({ store: ca.store, authority: ca.authority, clock, logger: silentLogger, options });
    await status.start();
    expect(status.crls.current(0)!.number).toBeGreaterThanOrEqual(last);
    expect((await status.crls.rebuild(0)).number).toBeGreaterThan(last);
  });

  it('ok/a revocation committed by another connection is picked up by the poll', async () => {
    const leaf = await issue('elsewhere.example');
    // Simulate `pki revoke` in another process: a second connection to the same database.
    const other = await openInstance({ dir: ca.dir, env: { PKI_PASSPHRASE: TEST_PASSPHRASE }, clock });
    try {
      await other.authority.revoke(leaf.serial, { reason: 'cessationOfOperation' });
    } finally {
      await other.close();
    }
    expect(ca.store.ocspResponses.get(leaf.serial)!.certStatus).toBe('good');
    await status.runPoll();
    const served = status.cache.get(leaf.serial, clock.now().getTime())!;
    expect(basicOf(served.body).tbsResponseData.responses[0]!.certStatus.revoked?.revocationReason?.reason).toBe(5);
  });

  it('ok/with shards, each CRL lists exactly the revoked serials whose shard its URL names', async () => {
    const { crlShardFor } = await import('../../src/domain/crl-shards.ts');
    const { readCrl } = await import('../../src/client/crl-reader.ts');
    const authority = await authorityWithShards(ca, 3);
    const { issuer } = authority;
    const sharded = new StatusService({ store: ca.store, authority, clock, logger: silentLogger, options });
    await sharded.start();
    try {
      // Shard 0 was last built by the one-shard service above: build every shard afresh.
      for (let shard = 0; shard < 3; shard++) await sharded.crls.rebuild(shard);
      // Still listed: revoked and not expired for longer than the grace period.
      const revoked = ca.store.inventory
        .page({ status: 'revoked', now: clock.now(), limit: 1_000_000 })
        .filter((c) => c.notAfter.getTime() > clock.now().getTime() - options.expiredGraceMs)
        .map((c) => c.serial);
      expect(revoked.length).toBeGreaterThan(1);
      for (let shard = 0; shard < 3; shard++) {
        const crl = readCrl(sharded.crls.current(shard)!.der);
        const expected = revoked.filter((s) => crlShardFor(s, 3) === shard);
        expect(crl.entries).toBe(expected.length);
        for (const s of expected) expect(crl.find(s), `${s} on shard ${shard} (${crl.entries} entries, number ${crl.number})`).not.toBeNull();
      }
    } finally {
      sharded.stop();
    }
  });

  it('ok/responses of certificates expired past the grace period leave memory at their nextUpdate', async () => {
    const leaf = await issue('gone.example', HOUR);
    await status.presign(leaf.serial); // this `status` was restarted above and is not the one attached to the authority
    const live = await issue('live.example', 90 * 24 * HOUR);
    await status.presign(live.serial);
    clock.advance(HOUR + 25 * HOUR); // gone.example expired 25 h ago and is no longer refreshed
    await status.runMaintenance(); // refreshes what is live, then evicts what lapsed
    expect(status.cache.evictExpired(clock.now().getTime())).toBe(0); // nothing lapsed is left
    expect(status.cache.get(live.serial, clock.now().getTime())).not.toBeNull();
    expect(ca.store.ocspResponses.get(leaf.serial)).not.toBeNull(); // still stored; answered on demand if asked
    expect(ca.store.ocspResponses.get(leaf.serial)!.nextUpdate.getTime()).toBeLessThan(clock.now().getTime());
  });
});

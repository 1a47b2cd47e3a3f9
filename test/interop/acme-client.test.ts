import acme from 'acme-client';
import { Agent } from 'node:https';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectVerifies, sansOf } from '../acme/support/verify.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';
import { hasTool } from '../helpers/tools.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * Interop with the npm acme-client (a client nobody here wrote) against the real
 * server on 127.0.0.1: http-01 and dns-01, certificates checked with openssl.
 */
const haveOpenssl = hasTool('openssl', ['version']);
const dir = tempDir();
const live = useAcmeServer();

beforeAll(() => {
  // acme-client talks through axios: trust our root for the HTTPS directory.
  acme.axios.defaults.httpsAgent = new Agent({ ca: live.rootPem, keepAlive: true });
});

async function enroll(names: string[], challenge: 'http-01' | 'dns-01', existing?: acme.Client): Promise<string> {
  const client = existing ?? new acme.Client({ directoryUrl: live.server.acme!.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
  const [, csr] = await acme.crypto.createCsr({ altNames: names }, await acme.crypto.createPrivateEcdsaKey());
  return client.auto({
    csr,
    termsOfServiceAgreed: true,
    challengePriority: [challenge],
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, ch, keyAuthorization) => {
      if (ch.type === 'http-01') live.web.set(ch.token, keyAuthorization);
      // For dns-01 acme-client hands over the TXT value (the digest) already.
      else live.dns.addTxt(`_acme-challenge.${authz.identifier.value}`, keyAuthorization);
    },
    challengeRemoveFn: async () => {},
  });
}

describe.skipIf(!haveOpenssl)('acme-client interop', () => { // skips only locally: hasTool() throws when CI is set
  it('enrolls through http-01 and gets a chain that verifies with exactly the requested names', async () => {
    const chain = await enroll(['app.example.test', 'api.example.test'], 'http-01');
    const leaf = expectVerifies(dir, live.rootPem, chain);
    expect(sansOf(leaf)).toEqual(['dns:api.example.test', 'dns:app.example.test']);
  });

  it('enrolls through dns-01, including a wildcard', async () => {
    const chain = await enroll(['*.wild.example.test', 'wild.example.test'], 'dns-01');
    const leaf = expectVerifies(dir, live.rootPem, chain);
    expect(sansOf(leaf)).toEqual(['dns:*.wild.example.test', 'dns:wild.example.test']);
  });

  it('rolls its account key (keyChange), keeps enrolling with the new key, revokes, and deactivates its account', async () => {
    const client = new acme.Client({ directoryUrl: live.server.acme!.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey() });
    await client.createAccount({ termsOfServiceAgreed: true });
    const accountUrl = client.getAccountUrl();
    await client.updateAccountKey(await acme.crypto.createPrivateEcdsaKey());
    expect(client.getAccountUrl()).toBe(accountUrl);
    const chain = await enroll(['rolled.example.test'], 'http-01', client);
    expect(sansOf(expectVerifies(dir, live.rootPem, chain))).toEqual(['dns:rolled.example.test']);
    await client.revokeCertificate(chain, { reason: 4 });
    const { normalizeSerial } = await import('../../src/x509/serial.ts');
    const serial = normalizeSerial(expectVerifies(dir, live.rootPem, chain).serialNumber);
    expect(live.ca.store.certificates.get(serial)?.status).toBe('revoked');
    const deactivated = await client.updateAccount({ status: 'deactivated' });
    expect(deactivated.status).toBe('deactivated');
  });
});

import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';
import { opensslCsr, postCsr, useEstServer } from './support.ts';

/**
 * The certificate being renewed is looked up by its serial but must be ours byte for byte
 * (src/est/reenroll.ts currentCertificate): the listener verifies no chain, so a client can
 * present any certificate whose key it holds, with the serial of someone else's certificate.
 */
const work = tempDir();
const t = useEstServer(work);
// skips only locally: hasTool() throws when CI is set
const tools = hasTool('openssl') && hasTool('curl', ['--version']);

describe.skipIf(!tools)('simplereenroll with one of our serials in a certificate we did not sign', () => { // skips only locally: the tool check throws when CI is set
  it("bad/a throwaway CA's certificate with a real serial, the same names and its own key is 401, and the real holder's certificate is not renewed", async () => {
    // The victim's certificate, issued by this CA.
    opensslCsr(work, 'victim.devices.test');
    const victim = await t.ca.authority.issue(new Uint8Array(readFileSync(join(work, 'victim.devices.test.csr.der'))));
    // The forger's: same serial, same names, the forger's key, signed by the forger's CA.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(work, 'forger-ca.key'), '-out', join(work, 'forger-ca.pem'), '-subj', '/CN=Forger CA', '-days', '2'], { stdio: 'pipe' });
    const forger = opensslCsr(work, 'forged', { cn: 'victim.devices.test', sans: 'DNS:victim.devices.test' });
    const forged = join(work, 'forged.pem');
    execFileSync('openssl', ['x509', '-req', '-inform', 'DER', '-in', join(work, 'forged.csr.der'), '-CA', join(work, 'forger-ca.pem'), '-CAkey', join(work, 'forger-ca.key'), '-set_serial', `0x${victim.serial}`, '-days', '1', '-copy_extensions', 'copy', '-out', forged], { stdio: 'pipe' });
    expect(new X509Certificate(readFileSync(forged)).serialNumber.toLowerCase()).toBe(victim.serial);

    const next = opensslCsr(work, 'forged-next', { cn: 'victim.devices.test', sans: 'DNS:victim.devices.test' });
    const r = await postCsr(t, work, 'simplereenroll', next.csrFile, ['--cert', forged, '--key', forger.keyFile]);
    expect(r.status).toBe(401);
    expect(r.body).toMatch(/issuer CN=Forger CA\) was not issued by this CA/);
    expect(t.ca.store.lineage.replacementsOf(victim.serial)).toEqual([]);
  });
});

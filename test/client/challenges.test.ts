import { X509Certificate } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useWorkloadTestEnv } from './support.ts';
import { pkiAsync as pki } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, run } from '../helpers/tools.ts';
import { challengeServerName } from '../../src/client/sni.ts';
import { reverseName } from '../../src/acme/validation/tls-alpn-01.ts';

/**
 * pki's own client through every challenge type that http-01 does not cover, end to end:
 * the CLI in a child process, the CA validating over loopback (dns-01 through a real DNS
 * server whose TXT records the operator's hook writes; tls-alpn-01 by a TLS handshake).
 */
const work = tempDir();
const txtFile = join(work, 'txt-records');
writeFileSync(txtFile, '');
const env = useWorkloadTestEnv(work, { requireEab: false, dnsTxtFile: txtFile });

// The operator's dns-01 hook: `hook add|remove <name> <value>` publishes or withdraws one TXT value.
const hook = join(work, 'dns-hook.sh');
writeFileSync(
  hook,
  `#!/bin/sh\nset -e\ncase "$1" in\n  add) echo "$2 $3" >> '${txtFile}' ;;\n  remove) grep -v " $3\\$" '${txtFile}' > '${txtFile}.tmp' || true; mv '${txtFile}.tmp' '${txtFile}' ;;\nesac\n`,
);
chmodSync(hook, 0o755);

const certOf = (dir: string) => new X509Certificate(readFileSync(join(dir, 'cert.pem')));
function expectChains(dir: string): void {
  if (hasTool('openssl')) expect(run('openssl', ['verify', '-CAfile', env.rootFile, '-untrusted', join(dir, 'chain.pem'), join(dir, 'cert.pem')])).toMatch(/: OK/);
}

describe('pki enroll / renew --challenge dns-01', () => {
  const out = join(work, 'wild');

  it('ok/enroll gets a wildcard and its base name (two TXT values at one name), renew gets a new one', async () => {
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', '*.wild.internal', '--name', 'wild.internal', '--challenge', 'dns-01', '--dns-hook', hook, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const first = certOf(out);
    expect(first.subjectAltName).toBe('DNS:*.wild.internal, DNS:wild.internal');
    expectChains(out);
    // Every record the hook added was removed again.
    expect(readFileSync(txtFile, 'utf8').trim()).toBe('');

    const renewed = await pki(['renew', '--out', out, '--force', '--json']);
    expect(renewed.stderr).toBe('');
    expect(renewed.status).toBe(0);
    expect(JSON.parse(renewed.stdout)).toMatchObject({ action: 'renewed', reason: 'forced', previousSerial: first.serialNumber.toLowerCase() });
    expect(certOf(out).serialNumber).not.toBe(first.serialNumber);
    expect(certOf(out).subjectAltName).toBe('DNS:*.wild.internal, DNS:wild.internal');
    expectChains(out);
  });

  it('fail/a hook that publishes nothing: the CA finds no TXT record, one-line error, exit 1', async () => {
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', 'nothing.internal', '--challenge', 'dns-01', '--dns-hook', 'true', '--out', join(work, 'nothing')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^pki: .*nothing\.internal/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('pki enroll --challenge tls-alpn-01', () => {
  it('ok/one order with a DNS name and an IP address: each validated by its own SNI', async () => {
    const out = join(work, 'alpn');
    const r = await pki(['enroll', '--server', env.server.acme!.directoryUrl, '--root', env.rootFile, '--name', 'alpn.internal', '--ip', '127.0.0.1', '--challenge', 'tls-alpn-01', '--tls-port', String(env.tlsAlpn01Port), '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(certOf(out).subjectAltName).toBe('DNS:alpn.internal, IP Address:127.0.0.1');
    expectChains(out);
    const renewed = await pki(['renew', '--out', out, '--force', '--json']);
    expect(renewed.status, renewed.stderr).toBe(0);
  });

  it('ok/the responder names an IP by its reverse-DNS name (RFC 8738 §6), as the validator sends it', () => {
    expect(challengeServerName({ type: 'ip', value: '10.1.2.3' })).toBe('3.2.1.10.in-addr.arpa');
    expect(challengeServerName({ type: 'ip', value: '2001:db8::1' })).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`);
    // IPv6 written with a trailing dotted quad (RFC 4291 §2.2) names the same 16 octets.
    expect(challengeServerName({ type: 'ip', value: '::ffff:10.1.2.3' })).toBe(challengeServerName({ type: 'ip', value: '::ffff:a01:203' }));
    expect(challengeServerName({ type: 'dns', value: 'Svc.Internal' })).toBe('svc.internal');
    for (const ip of ['127.0.0.1', '::1', '::', 'fe80::1:2', '2001:db8:0:1:2:3:4:5', '1::', 'ffff::ffff:0']) {
      expect(challengeServerName({ type: 'ip', value: ip })).toBe(reverseName(ip));
    }
  });
});

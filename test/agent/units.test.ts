import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool } from '../helpers/tools.ts';
import { verifyUnit } from './support.ts';

/** The systemd units shipped in packaging/systemd (issue #19): `systemd-analyze verify` clean, and the options the brief asks for. */
const UNITS_DIR = join(import.meta.dirname, '../../packaging/systemd');
const units = readdirSync(UNITS_DIR).sort();
const work = tempDir('pki-units-');
const text = (name: string) => readFileSync(join(UNITS_DIR, name), 'utf8');
/** Directive lines (no comments) of a unit, e.g. `NoNewPrivileges=yes`. */
const directives = (name: string) => text(name).split('\n').filter((l) => /^[A-Za-z]+=/.test(l));

describe('systemd units', () => {
  it('ok/the three units are there', () => {
    expect(units).toEqual(['pki-renew@.service', 'pki-renew@.timer', 'pki-serve.service']);
  });

  // skips only locally: hasTool() throws when CI is set
  it.skipIf(!hasTool('systemd-analyze', ['--version']))('ok/systemd-analyze verify is clean for every unit', () => { // skips only locally: the tool check throws when CI is set
    for (const u of units) {
      // pki-renew@.service runs /usr/bin/pki-agent, which verify requires to be executable: the
      // copy checked here points at node instead (deterministic whether or not the package is
      // installed right now); test/agent/deb.test.ts verifies the installed unit as shipped.
      const file = join(work, u);
      writeFileSync(file, text(u).replaceAll('/usr/bin/pki-agent', process.execPath));
      expect(verifyUnit(file), u).toEqual({ status: 0, stderr: '' });
    }
  });

  // skips only locally: hasTool() throws when CI is set
  it.skipIf(!hasTool('systemd-analyze', ['--version']))('fail/verify reports a misspelled directive (the check above can fail)', () => { // skips only locally: the tool check throws when CI is set
    const file = join(work, 'pki-serve.service');
    writeFileSync(file, text('pki-serve.service').replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    const r = verifyUnit(file);
    expect(r.stderr).toMatch(/Unknown key( name)? 'NoNewPrivilege'/);
  });

  it('ok/pki-serve.service runs as a dynamic user in /var/lib/pki with the hardening on, MemoryDenyWriteExecute off and said why', () => {
    const d = directives('pki-serve.service');
    for (const want of ['DynamicUser=yes', 'StateDirectory=pki', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'ProtectHome=yes', 'CapabilityBoundingSet=', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6']) {
      expect(d, want).toContain(want);
    }
    expect(d.filter((l) => l.startsWith('MemoryDenyWriteExecute'))).toEqual([]);
    expect(text('pki-serve.service')).toMatch(/MemoryDenyWriteExecute=yes is NOT set: V8's JIT/);
    expect(d.find((l) => l.startsWith('ExecStart='))).toMatch(/ serve --dir \/var\/lib\/pki\/ca/);
  });

  it('ok/the renewal timer is spread (RandomizedDelaySec) and catches up after downtime (Persistent=true); the instance picks the identity', () => {
    const t = directives('pki-renew@.timer');
    expect(t.some((l) => /^RandomizedDelaySec=\d/.test(l))).toBe(true);
    expect(t).toContain('Persistent=true');
    expect(t.some((l) => l.startsWith('OnCalendar='))).toBe(true);
    expect(directives('pki-renew@.service').find((l) => l.startsWith('ExecStart='))).toContain('/usr/bin/pki-agent renew --out /var/lib/pki-agent/%i');
  });

  it('ok/the renewal service sets no UMask: a renewed cert.pem keeps the 0644 an enrolled one had', () => {
    expect(directives('pki-renew@.service').filter((l) => l.startsWith('UMask='))).toEqual([]);
  });
});

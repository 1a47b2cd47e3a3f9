/**
 * Builds the pki-agent Debian package (issue #19): `npm run package:deb` → dist/pki-agent_<version>_<arch>.deb.
 *
 *   /usr/bin/pki-agent                              the single executable (scripts/build-agent.ts): no Node needed
 *   /lib/systemd/system/pki-renew@.service, .timer  renewal of /var/lib/pki-agent/<instance>
 *   /usr/share/man/man1/pki-agent.1.gz              man/pki-agent.1
 *   /usr/share/doc/pki-agent/copyright
 *
 * dpkg-deb --root-owner-group: every file root:root without fakeroot. The maintainer scripts
 * (packaging/deb/) create /var/lib/pki-agent but never delete it: identities outlive the package.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildBundle, buildSea, currentBuildInfo, ROOT } from './build-agent.ts';

const DEB_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x' };
export const UNITS = ['pki-renew@.service', 'pki-renew@.timer'] as const;

export interface DebOptions {
  /** The single executable to ship as /usr/bin/pki-agent. */
  sea: string;
  outDir: string;
  version?: string;
  commit?: string;
  /** dpkg-deb -Z: xz for releases; gzip is several times faster to build (tests). */
  compression?: 'xz' | 'gzip' | 'zstd';
}

/** Lays out the package tree and runs dpkg-deb; returns the .deb path. */
export function packageDeb(o: DebOptions): string {
  const info = currentBuildInfo();
  const version = o.version ?? info.version;
  const arch = DEB_ARCH[process.arch];
  if (!arch) throw new Error(`no Debian architecture for ${process.arch}`);
  const tree = mkdtempSync(join(tmpdir(), 'pki-deb-'));
  // mkdtemp makes 0700; the tree's root is the package's "./", which must read as a normal /.
  chmodSync(tree, 0o755);
  try {
    const put = (path: string, data: Buffer | string, mode: number) => {
      const p = join(tree, path);
      mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
      writeFileSync(p, data);
      chmodSync(p, mode);
    };
    const bin = join(tree, 'usr/bin/pki-agent');
    mkdirSync(dirname(bin), { recursive: true });
    copyFileSync(o.sea, bin);
    chmodSync(bin, 0o755);
    for (const u of UNITS) put(`lib/systemd/system/${u}`, readFileSync(join(ROOT, 'packaging/systemd', u)), 0o644);
    // Debian policy §12.1: man pages gzip'd with -9 and no timestamp (reproducible).
    put('usr/share/man/man1/pki-agent.1.gz', gzipSync(readFileSync(join(ROOT, 'man/pki-agent.1')), { level: 9 }), 0o644);
    put('usr/share/doc/pki-agent/copyright', `pki-agent ${version} (commit ${o.commit ?? info.commit})\nInternal software; not for redistribution.\nIt embeds Node.js (MIT, https://github.com/nodejs/node/blob/main/LICENSE).\n`, 0o644);
    for (const s of ['postinst', 'prerm', 'postrm']) put(`DEBIAN/${s}`, readFileSync(join(ROOT, 'packaging/deb', s)), 0o755);
    const installedKb = Math.ceil(statSync(bin).size / 1024) + 64;
    put(
      'DEBIAN/control',
      [
        'Package: pki-agent',
        `Version: ${version}`,
        `Architecture: ${arch}`,
        'Maintainer: pki maintainers <pki@localhost>',
        `Installed-Size: ${installedKb}`,
        // The executable is Node itself: these are what `ldd` lists for it.
        'Depends: libc6 (>= 2.28), libstdc++6, libgcc-s1',
        'Section: admin',
        'Priority: optional',
        'Description: pki workload agent: enroll and renew machine certificates',
        ' pki-agent gets this machine a key and an X.509 certificate from a pki CA over ACME',
        ' and renews it from a systemd timer (pki-renew@INSTANCE.timer). One executable,',
        ' no Node.js or other runtime needed.',
        '',
      ].join('\n'),
      0o644,
    );
    mkdirSync(o.outDir, { recursive: true });
    const deb = join(o.outDir, `pki-agent_${version}_${arch}.deb`);
    execFileSync('dpkg-deb', ['--root-owner-group', `-Z${o.compression ?? 'xz'}`, '--build', tree, deb], { stdio: ['ignore', 'ignore', 'pipe'] });
    return deb;
  } finally {
    rmSync(tree, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const outDir = join(ROOT, 'dist');
  const bundle = await buildBundle(outDir);
  const sea = await buildSea(bundle.file, outDir);
  process.stdout.write(`${packageDeb({ sea, outDir })}\n`);
}

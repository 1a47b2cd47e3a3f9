import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initInstance } from '../../src/instance/init.ts';
import { freePort } from '../../test/helpers/ports.ts';
import { createTestDatabase } from '../../test/helpers/postgres.ts';
import { startRoundRobinProxy } from '../../test/replicas/round-robin-proxy.ts';
import { cpuMs, startPki, type ServerUnderTest } from './servers.ts';

/**
 * `pki serve` replicas on one PostgreSQL database behind a round-robin TCP balancer (#22), as one
 * server under test: CPU is the replicas' sum, and the PostgreSQL server's own CPU is read from
 * its processes (/proc), so a run reports both per order.
 */
export async function startPkiReplicas(o: { workDir: string; adminUrl: string; replicas: number; passphrase: string; http01Port: number; dnsServer: string }): Promise<ServerUnderTest> {
  const url = await createTestDatabase({ adminUrl: o.adminUrl });
  const dir = join(o.workDir, `pg-${o.replicas}`);
  await initInstance({ dir, passphrase: o.passphrase, requireEab: false, database: url });
  const proxyPorts: number[] = [];
  const proxy = await startRoundRobinProxy(() => proxyPorts);
  const configPath = join(dir, 'pki.json');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, Record<string, unknown>>;
  const unbounded = { burst: 1_000_000, perSecond: 1_000_000 };
  config.rateLimits = { ...config.rateLimits, newOrderPerAccount: unbounded, finalizePerAccount: unbounded };
  config.acme = { ...config.acme, externalUrl: `https://127.0.0.1:${proxy.port}` };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const servers: ServerUnderTest[] = [];
  for (let i = 0; i < o.replicas; i++) {
    const acmePort = await freePort();
    servers.push(await startPki({ dir, passphrase: o.passphrase, acmePort, http01Port: o.http01Port, dnsServer: o.dnsServer, name: `pg-${o.replicas}` }));
    proxyPorts.push(acmePort);
  }
  const sum = () => servers.map((s) => cpuMs(s.pid)).reduce((a, c) => ({ user: a.user + c.user, system: a.system + c.system, total: a.total + c.total }), { user: 0, system: 0, total: 0 });
  return {
    name: `pg-${o.replicas}`,
    directoryUrl: `https://127.0.0.1:${proxy.port}/acme/directory`,
    caPem: servers[0]!.caPem,
    pid: servers[0]!.pid,
    cpu: sum,
    dbCpu: postgresCpuMs,
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await proxy.close();
    },
  };
}


/** CPU ms of every PostgreSQL server process on this machine (the postmaster and its backends). */
function postgresCpuMs(): number {
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) continue;
      total += cpuMs(Number(pid)).total;
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}

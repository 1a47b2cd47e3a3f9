import { lookup, Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Identifier } from '../../domain/types.ts';
import { dnsProblem } from '../problems.ts';

/** A node:dns Resolver that asks `server` (HOST:PORT), or the system's resolvers when undefined. */
export function makeResolver(server: string | undefined, timeoutMs: number): Resolver {
  const r = new Resolver({ timeout: Math.min(timeoutMs, 5000), tries: 2 });
  if (server) r.setServers([server]);
  return r;
}

/** The address to connect to for an identifier: the IP itself, or the first A/AAAA answer. */
export async function addressOf(id: Identifier, resolver: Resolver, useSystem: boolean): Promise<string> {
  if (id.type === 'ip') return id.value;
  if (isIP(id.value)) return id.value;
  try {
    if (useSystem) return (await lookup(id.value)).address;
    const v4 = await resolver.resolve4(id.value).catch(() => [] as string[]);
    if (v4[0]) return v4[0];
    const v6 = await resolver.resolve6(id.value).catch(() => [] as string[]);
    if (v6[0]) return v6[0];
  } catch (e) {
    throw dnsProblem(`cannot resolve ${id.value}: ${(e as Error).message}`);
  }
  throw dnsProblem(`no A or AAAA record for ${id.value}`);
}

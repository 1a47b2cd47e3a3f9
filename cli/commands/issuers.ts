import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { addIssuer, CaError, listIssuers, parseDuration, removeIssuer } from '../../src/index.ts';
import { action, withInventory, writeList } from '../common.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new CaError('malformed', `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** `--claim kubernetes.io/namespace=^(?<ns>[a-z0-9-]+)$` → ["kubernetes.io/namespace", "^(?<ns>…)$"]. */
function claimPatterns(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of list) {
    const eq = c.indexOf('=');
    if (eq <= 0) throw new CaError('malformed', `--claim ${JSON.stringify(c)} must be PATH=PATTERN, e.g. kubernetes.io/namespace='(?<ns>[a-z0-9-]+)'`);
    out[c.slice(0, eq)] = c.slice(eq + 1);
  }
  return out;
}

/** `pki issuers add|list|remove`: JWT issuers whose workload identity tokens pki trusts (ACME tkauth-01, EST Bearer). */
export function registerIssuers(program: Command): void {
  const issuers = program.command('issuers').description('trusted workload identity token issuers (Kubernetes, OIDC) and what their tokens may get');
  issuers
    .command('add')
    .description('trust a JWT issuer: its keys, the audience tokens must name, and the template from claims to identifiers')
    .requiredOption('--dir <dir>', 'instance directory')
    .requiredOption('--issuer <iss>', 'the tokens\' "iss", exactly')
    .option('--jwks-file <file>', 'the issuer\'s public keys (a JWKS document)')
    .option('--jwks-url <url>', 'https:// URL of the issuer\'s JWKS (fetched and cached; rotation is picked up)')
    .option('--jwks-ca <file>', 'PEM CA certificates to verify the JWKS URL\'s server with (default: system roots)')
    .option('--audience <aud>', 'the "aud" a token must name', 'pki')
    .option('--subject <pattern>', 'pattern "sub" must match whole, with named captures, e.g. \'system:serviceaccount:(?<ns>[a-z0-9-]+):(?<sa>[a-z0-9-]+)\'')
    .option('--claim <path=pattern>', 'pattern another claim must match (path segments joined by /), with named captures (repeatable)', collect, [])
    .option('--identifier <template>', 'identifier a token yields: dns:…, ip:…, uri:… with {capture} or {claim.path} (repeatable)', collect, [])
    .option('--max-lifetime <duration>', 'longest token lifetime (exp - iat) accepted', '24h')
    .action(
      action(async (o: { dir: string; issuer: string; jwksFile?: string; jwksUrl?: string; jwksCa?: string; audience: string; subject?: string; claim: string[]; identifier: string[]; maxLifetime: string }) => {
        const template = { subject: o.subject ?? null, claims: claimPatterns(o.claim), identifiers: o.identifier };
        const maxLifetimeMs = parseDuration(o.maxLifetime);
        const jwks = o.jwksFile === undefined ? undefined : readText(o.jwksFile, 'JWKS file');
        const jwksCa = o.jwksCa === undefined ? undefined : readText(o.jwksCa, 'CA file');
        await withInventory(o.dir, (inv) => addIssuer(inv, { issuer: o.issuer, audience: o.audience, jwks, jwksUrl: o.jwksUrl, jwksCa, template, maxLifetimeMs }, { now: () => new Date() }));
        process.stdout.write(`trusted ${o.issuer} (audience ${o.audience}): tokens yield ${o.identifier.join(', ')}\n`);
      }),
    );
  issuers
    .command('list')
    .description('list trusted issuers')
    .requiredOption('--dir <dir>', 'instance directory')
    .option('--json', 'machine-readable output')
    .action(
      action(async (o: { dir: string; json?: boolean }) => {
        const list = await withInventory(o.dir, listIssuers);
        writeList(list, o.json, ['ISSUER', 'AUDIENCE', 'KEYS', 'MAX LIFETIME', 'IDENTIFIERS'], (i) => [i.issuer, i.audience, i.keys, i.maxLifetime, i.template.identifiers.join(' ')]);
      }),
    );
  issuers
    .command('remove')
    .description('stop trusting an issuer: its tokens are refused from now on')
    .requiredOption('--dir <dir>', 'instance directory')
    .argument('<issuer>', 'the issuer ("iss")')
    .action(
      action(async (issuer: string, o: { dir: string }) => {
        await withInventory(o.dir, (inv) => removeIssuer(inv, issuer, { now: () => new Date() }));
        process.stdout.write(`removed ${issuer}\n`);
      }),
    );
}

import { isCaError } from '../domain/errors.ts';
import { canonicalSet } from '../domain/identifiers.ts';
import { formatIdentifier, type Identifier } from '../domain/types.ts';
import { outsideScopes } from '../acme/scopes.ts';
import type { EstContext } from './context.ts';
import { asEstError, csrIdentifiers, type EstCsr } from './csr.ts';
import { authenticateEnrollmentKey } from './enrollment-keys.ts';
import { challenges, estBadRequest, estForbidden, estUnauthorized } from './errors.ts';

/** Who stands behind a simpleenroll: an enrollment key or a workload identity token, and the names it may get. */
interface Bootstrap {
  actor: string;
  /** Names outside what the credential allows (empty = all allowed). */
  outside(ids: Identifier[]): Identifier[];
  /** Counts the enrollment against the credential (a use of a limited key); false when none is left. */
  take(): boolean;
  giveBack(): void;
}

/**
 * The bootstrap credential of simpleenroll (RFC 7030 §3.2.3): HTTP Basic with an enrollment key, or
 * `Authorization: Bearer <jwt>` checked by the workload token verifier. None or a bad one: 401 naming
 * the schemes accepted.
 */
async function bootstrapOf(ctx: EstContext, authorization: string | undefined, now: Date): Promise<Bootstrap> {
  const bearerOn = ctx.tokenVerifier !== undefined && (ctx.tokensOffered?.() ?? true);
  const m = /^(\S+)\s+(\S+)\s*$/.exec(authorization ?? '');
  if (!authorization) throw estUnauthorized(`simpleenroll needs a bootstrap credential: HTTP Basic with an enrollment key (pki est keys create)${bearerOn ? ' or a Bearer workload identity token' : ''}`, challenges(bearerOn));
  const scheme = m?.[1]!.toLowerCase();
  if (scheme === 'basic') {
    const key = authenticateEnrollmentKey(ctx.store, ctx.sealKey, m![2]!, now, bearerOn);
    return {
      actor: `est:key:${key.id}`,
      outside: (ids) => outsideScopes(key.scopes, ids),
      take: () => ctx.store.enrollmentKeys.takeUse(key.id),
      giveBack: () => ctx.store.enrollmentKeys.returnUse(key.id),
    };
  }
  if (scheme === 'bearer') {
    if (!bearerOn || !ctx.tokenVerifier) throw estUnauthorized('this CA trusts no workload identity token issuer: Bearer credentials are not accepted here; use an enrollment key (HTTP Basic)', challenges(false));
    let grant;
    try {
      grant = await ctx.tokenVerifier(m![2]!);
    } catch (e) {
      if (!isCaError(e)) throw e;
      throw estUnauthorized(`the Bearer token was refused: ${e.detail}`, { 'WWW-Authenticate': 'Bearer realm="pki EST", error="invalid_token"' });
    }
    const allowed = new Set(canonicalSet(grant.identifiers));
    return {
      actor: `est:token:${grant.issuer}#${grant.subject}`,
      outside: (ids) => ids.filter((id) => !allowed.has(formatIdentifier(id))),
      take: () => true,
      giveBack: () => {},
    };
  }
  throw estUnauthorized(`the "${m?.[1] ?? authorization.split(' ')[0]}" authorization scheme is not accepted: use Basic (an enrollment key)${bearerOn ? ' or Bearer (a workload identity token)' : ''}`, challenges(bearerOn));
}

/** simpleenroll (RFC 7030 §4.2.1): a certificate for the CSR's names when the credential allows every one of them. */
export async function enroll(ctx: EstContext, authorization: string | undefined, readCsr: () => Promise<EstCsr>): Promise<{ serial: string; der: Uint8Array; actor: string }> {
  const now = ctx.clock.now();
  const who = await bootstrapOf(ctx, authorization, now);
  const info = await readCsr();
  const ids = csrIdentifiers(info);
  if (ids.length === 0) throw estBadRequest('bad CSR: it names nothing (no SAN and no CN that is a name)');
  const outside = who.outside(ids);
  if (outside.length) throw estForbidden('outsideScope', `the credential does not allow ${outside.map(formatIdentifier).join(', ')}`);
  if (!ctx.store.transaction(() => who.take())) throw estForbidden('keyUsedUp', 'the enrollment key has no uses left');
  try {
    const issued = await ctx.authority.issue(info.der, { profile: ctx.settings.profile, identifiers: ids, actor: who.actor });
    return { ...issued, actor: who.actor };
  } catch (e) {
    // Nothing was issued: the use goes back, so a device with a bad CSR may try again.
    ctx.store.transaction(() => who.giveBack());
    throw asEstError(e);
  }
}

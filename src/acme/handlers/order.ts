import { CaError, isCaError } from '../../domain/errors.ts';
import type { Identifier } from '../../domain/types.ts';
import { checkIdentifier } from '../../domain/identifiers.ts';
import { normalizeSerial } from '../../x509/serial.ts';
import type { AuthzRecord, ChallengeRecord, OrderRecord } from '../../store/acme-records.ts';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { newId, newToken } from '../ids.ts';
import { alreadyReplaced, invalidProfile, malformed, rejectedIdentifier, unsupportedIdentifier } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { outsideScopes } from '../scopes.ts';
import { TKAUTH_01 } from '../validation/tkauth-01.ts';
import { orderReply, ownedOrder, requireLiveBinding } from './common.ts';

const MAX_IDENTIFIERS = 100;

/**
 * Challenge types offered per identifier (§8; RFC 8738 §7 for IPs; wildcards only by dns-01,
 * §7.1.3). While an identity token issuer is trusted, tkauth-01 (RFC 9447) is offered too, and
 * is the only way to a URI (a SPIFFE ID) an EAB scope does not pre-authorize; never for a
 * wildcard (templates yield exact names).
 */
function challengeTypesFor(id: Identifier, tkauth: boolean): string[] {
  const token = tkauth ? [TKAUTH_01] : [];
  if (id.type === 'uri') return token;
  if (id.type === 'ip') return ['http-01', 'tls-alpn-01', ...token];
  if (id.value.startsWith('*.')) return ['dns-01'];
  return ['http-01', 'dns-01', 'tls-alpn-01', ...token];
}

function parseIdentifiers(v: unknown, scopes: string[] | null, tkauth: boolean): Identifier[] {
  if (!Array.isArray(v) || v.length === 0) throw malformed('"identifiers" must be a non-empty array');
  if (v.length > MAX_IDENTIFIERS) throw rejectedIdentifier(`an order may name at most ${MAX_IDENTIFIERS} identifiers`);
  const seen = new Map<string, Identifier>();
  for (const raw of v as unknown[]) {
    const r = raw as { type?: unknown; value?: unknown };
    if (typeof r !== 'object' || r === null || typeof r.type !== 'string' || typeof r.value !== 'string') throw malformed('each identifier must be {type, value}');
    // "uri" is not an ACME identifier type; it is accepted only when an EAB scope grants it or a token may (tkauth-01).
    if (r.type !== 'dns' && r.type !== 'ip' && !(r.type === 'uri' && (tkauth || scopes?.some((s) => s.startsWith('uri:'))))) {
      throw unsupportedIdentifier(`identifier type "${r.type}" is not supported (dns, ip)`);
    }
    let id: Identifier;
    try {
      id = checkIdentifier({ type: r.type, value: r.value });
    } catch (e) {
      // Refused as sent, never rewritten (#16); the subproblem names the identifier (§6.7.1).
      if (isCaError(e)) throw rejectedIdentifier(e.detail, [rejectedIdentifier(e.detail).about({ type: r.type, value: r.value })]);
      throw e;
    }
    seen.set(`${id.type}:${id.value}`, id);
  }
  return [...seen.values()];
}

/** POST newOrder (§7.4), with issuance scopes of the account's EAB key and the profiles extension. */
export function newOrder(ctx: AcmeContext, req: VerifiedRequest): AcmeReply {
  const account = requireAccount(req);
  const p = req.payload ?? {};
  if (p.notBefore !== undefined || p.notAfter !== undefined) throw malformed('notBefore/notAfter are not supported: lifetimes come from the profile');
  const eab = requireLiveBinding(ctx, account);
  const tkauth = ctx.workloadTokens?.offered() ?? false;
  const identifiers = parseIdentifiers(p.identifiers, eab?.scopes ?? null, tkauth);
  if (eab) {
    const outside = outsideScopes(eab.scopes, identifiers);
    if (outside.length > 0) {
      throw rejectedIdentifier(
        `outside this account's issuance scopes: ${outside.map((i) => `${i.type}:${i.value}`).join(', ')}`,
        outside.map((i) => rejectedIdentifier('outside the account scopes').about(i)),
      );
    }
  }
  const profile = p.profile === undefined ? ctx.settings.defaultProfile : p.profile;
  if (typeof profile !== 'string' || !Object.hasOwn(ctx.authority.profiles, profile)) {
    throw invalidProfile(`unknown profile "${String(profile)}" (offered: ${Object.keys(ctx.authority.profiles).join(', ')})`);
  }
  const replaces = checkReplaces(ctx, account.id, p.replaces);

  const now = ctx.clock.now();
  const order: OrderRecord = {
    id: newId(),
    accountId: account.id,
    status: 'pending',
    identifiers,
    profile,
    expiresAt: new Date(now.getTime() + ctx.settings.orderLifetimeMs),
    error: null,
    certSerial: null,
    replaces,
    createdAt: now,
  };
  const authzs: AuthzRecord[] = [];
  const challenges: ChallengeRecord[] = [];
  for (const id of identifiers) {
    // A URI is pre-authorized by the EAB scope that allowed it (§7.4.1): there is nothing to challenge.
    const preAuthorized = id.type === 'uri' && eab !== null;
    const authz: AuthzRecord = {
      id: newId(),
      orderId: order.id,
      accountId: account.id,
      identifier: id,
      wildcard: id.type === 'dns' && id.value.startsWith('*.'),
      status: preAuthorized ? 'valid' : 'pending',
      expiresAt: new Date(Math.min(now.getTime() + ctx.settings.authzLifetimeMs, order.expiresAt.getTime())),
    };
    authzs.push(authz);
    if (!preAuthorized) {
      for (const type of challengeTypesFor(id, tkauth)) challenges.push({ id: newId(), authzId: authz.id, type, token: newToken(), status: 'pending', validatedAt: null, error: null });
    }
  }
  if (authzs.every((a) => a.status === 'valid')) order.status = 'ready';
  ctx.store.transaction(() => {
    refuseIfReplaced(ctx, replaces);
    ctx.store.orders.insert(order, authzs, challenges);
  });
  return orderReply(ctx, order, 201);
}

/** RFC 9773 §5: "replaces" names a certificate of this account by its ARI id. */
function checkReplaces(ctx: AcmeContext, accountId: string, v: unknown): string | null {
  if (v === undefined) return null;
  if (typeof v !== 'string') throw malformed('"replaces" must be a certificate identifier string');
  let serial: string;
  try {
    serial = serialFromCertId(v, ctx.authority.issuer.keyId);
  } catch (e) {
    if (isCaError(e)) throw malformed(e.detail);
    throw e;
  }
  if (ctx.store.orders.orderByCertificate(serial)?.accountId !== accountId) throw malformed('"replaces" does not name a certificate of this account');
  // One spelling per certificate, so the alreadyReplaced lookup below cannot be dodged by another encoding.
  const canonical = `${Buffer.from(ctx.authority.issuer.keyId, 'hex').toString('base64url')}.${Buffer.from(serial, 'hex').toString('base64url')}`;
  if (v !== canonical) throw malformed(`"replaces" is not in canonical form (expected ${canonical})`);
  return v;
}

/**
 * RFC 9773 §5: a certificate is replaced once. Another order that replaces it and is not
 * invalid (finalized, being finalized, or still live) makes this one alreadyReplaced (409);
 * run inside the transaction that inserts the new order, so two at once cannot both pass.
 */
function refuseIfReplaced(ctx: AcmeContext, replaces: string | null): void {
  if (replaces === null) return;
  const other = ctx.store.orders.replacing(replaces, ctx.clock.now());
  if (other) throw alreadyReplaced(`the certificate ${replaces} is already replaced by order ${ctx.links.order(other.id)}`);
}

/** ARI certificate id (RFC 9773 §4.1): base64url(AKI keyIdentifier) "." base64url(serial DER content). */
export function serialFromCertId(certId: string, issuerKeyId: string): string {
  const m = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/.exec(certId);
  if (!m) throw new CaError('malformed', 'a certificate id is base64url(AKI) "." base64url(serial)');
  const aki = Buffer.from(m[1]!, 'base64url').toString('hex');
  if (aki !== issuerKeyId.toLowerCase()) throw new CaError('notFound', 'the certificate id names another issuer');
  const serial = Buffer.from(m[2]!, 'base64url').toString('hex');
  if (serial.length === 0) throw new CaError('malformed', 'empty serial in certificate id');
  return normalizeSerial(serial);
}

/** POST-as-GET on an order (§7.4). */
export function getOrder(ctx: AcmeContext, req: VerifiedRequest, id: string): AcmeReply {
  return orderReply(ctx, ownedOrder(ctx, requireAccount(req), id));
}

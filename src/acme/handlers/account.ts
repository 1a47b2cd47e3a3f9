import type { JWK } from 'jose';
import type { AccountRecord } from '../../store/acme-records.ts';
import type { AcmeContext, AcmeReply } from '../context.ts';
import { usedUp, verifyEab } from '../eab.ts';
import { newId } from '../ids.ts';
import { publicJwk } from '../jws.ts';
import { AcmeProblem, accountDoesNotExist, accountUnauthorized, externalAccountRequired, invalidContact, malformed, unauthorized, unsupportedContact } from '../problems.ts';
import { requireAccount, type VerifiedRequest } from '../request.ts';
import { accountJson } from '../wire.ts';

/** §7.3: only mailto: contacts, each a plausible address, at most a few. */
function parseContact(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((c) => typeof c === 'string')) throw malformed('"contact" must be an array of strings');
  if (v.length > 10) throw malformed('too many contacts');
  for (const c of v as string[]) {
    if (!c.startsWith('mailto:')) throw unsupportedContact(`contact "${c}" is not a mailto: URL`);
    if (!/^mailto:[^@\s,?]+@[^@\s,?]+$/.test(c)) throw invalidContact(`contact "${c}" is not a valid email address`);
  }
  return v as string[];
}

/** An EAB refusal (wrong MAC, unknown, revoked, expired or used-up key) goes to the audit trail before it is answered. */
function auditedRefusal(ctx: AcmeContext, thumbprint: string, e: unknown): unknown {
  if (e instanceof AcmeProblem && e.type.endsWith(':unauthorized')) {
    ctx.store.transaction(() => ctx.store.audit.append({ at: ctx.clock.now(), action: 'acme.eab.refused', actor: `acme:key:${thumbprint}`, target: null, details: { detail: e.detail } }));
  }
  return e;
}

/** POST newAccount (§7.3): create, or find the account of this key (onlyReturnExisting, §7.3.1). */
export async function newAccount(ctx: AcmeContext, req: VerifiedRequest): Promise<AcmeReply> {
  const p = req.payload ?? {};
  const existing = ctx.store.accounts.byThumbprint(req.thumbprint);
  if (existing) {
    if (existing.status !== 'valid') throw accountUnauthorized(`the account of this key is ${existing.status}`);
    return { status: 200, json: accountJson(existing, ctx.links), location: ctx.links.account(existing.id) };
  }
  if (p.onlyReturnExisting === true) throw accountDoesNotExist('no account exists for this key');
  const contact = parseContact(p.contact);
  const jwk = publicJwk(req.jwk as JWK);

  let eabKid: string | null = null;
  let eabBinding: Record<string, unknown> | null = null;
  if (p.externalAccountBinding !== undefined) {
    const bound = await verifyEab(ctx.store, ctx.eabSealKey, p.externalAccountBinding, { url: ctx.links.newAccount, accountJwk: jwk, now: ctx.clock.now() }).catch((e: unknown) => {
      throw auditedRefusal(ctx, req.thumbprint, e);
    });
    eabKid = bound.key.kid;
    eabBinding = bound.binding;
  } else if (ctx.settings.requireEab) {
    throw externalAccountRequired('this CA requires an external account binding: ask its operator for a key (pki eab create)');
  }

  const account: AccountRecord = { id: newId(), thumbprint: req.thumbprint, jwk: jwk as Record<string, unknown>, contact, status: 'valid', eabKid, eabBinding, createdAt: ctx.clock.now() };
  // Re-checked inside the transaction: a concurrent newAccount with the same key (a client retrying) gets that account.
  let raced: AccountRecord | null;
  try {
    raced = ctx.store.transaction(() => {
      const winner = ctx.store.accounts.byThumbprint(req.thumbprint);
      if (winner) return winner;
      if (eabKid !== null && !ctx.store.eabKeys.bind(eabKid, account.id)) {
        const key = ctx.store.eabKeys.get(eabKid);
        throw unauthorized(key?.status === 'active' ? usedUp(key) : `external account key "${eabKid}" was revoked`);
      }
      ctx.store.accounts.insert(account);
      if (eabKid !== null) ctx.store.audit.append({ at: account.createdAt, action: 'acme.eab.bound', actor: `acme:${account.id}`, target: eabKid, details: { account: account.id } });
      return null;
    });
  } catch (e) {
    throw auditedRefusal(ctx, req.thumbprint, e);
  }
  if (raced) return { status: 200, json: accountJson(raced, ctx.links), location: ctx.links.account(raced.id) };
  ctx.logger.info('acme.account.created', { account: account.id, eabKid });
  return { status: 201, json: accountJson(account, ctx.links), location: ctx.links.account(account.id) };
}

/** POST to the account URL (§7.3.2 update, §7.3.6 deactivation, or POST-as-GET). */
export function updateAccount(ctx: AcmeContext, req: VerifiedRequest, id: string): AcmeReply {
  const account = requireAccount(req);
  if (account.id !== id) throw unauthorized('the account URL does not match the signing account');
  const p = req.payload;
  if (p) {
    if (p.status !== undefined && p.status !== 'deactivated') throw malformed('the only status a client may set is "deactivated"');
    if (p.contact !== undefined) ctx.store.accounts.updateContact(id, parseContact(p.contact));
    if (p.status === 'deactivated') {
      ctx.store.transaction(() => {
        ctx.store.accounts.setStatus(id, 'deactivated');
        ctx.store.audit.append({ at: ctx.clock.now(), action: 'acme.account.deactivated', actor: `acme:${id}`, target: id, details: {} });
      });
      ctx.logger.info('acme.account.deactivated', { account: id });
    }
  }
  return { status: 200, json: accountJson(ctx.store.accounts.get(id)!, ctx.links), location: ctx.links.account(id) };
}

/** POST-as-GET on the orders list (§7.1.2.1). */
export function listOrders(ctx: AcmeContext, req: VerifiedRequest, id: string): AcmeReply {
  const account = requireAccount(req);
  if (account.id !== id) throw unauthorized('these orders belong to another account');
  const orders = ctx.store.orders.ordersOf(id).filter((o) => o.status !== 'invalid');
  return { status: 200, json: { orders: orders.map((o) => ctx.links.order(o.id)) } };
}

import type { AccountRecord, AuthzRecord, ChallengeRecord, OrderRecord } from '../store/acme-records.ts';
import type { AcmeLinks } from './links.ts';
import { TKAUTH_01, TKAUTH_TYPE } from './validation/tkauth-01.ts';

/** RFC 8555 §7.1 resource representations, as JSON on the wire. */
export interface AccountJson {
  status: string;
  contact: string[];
  orders: string;
  externalAccountBinding?: unknown;
}

export interface OrderJson {
  status: string;
  expires: string;
  identifiers: { type: string; value: string }[];
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: unknown;
  profile?: string;
  replaces?: string;
}

export interface ChallengeJson {
  type: string;
  url: string;
  status: string;
  token: string;
  /** RFC 9447 §3, tkauth-01 only. */
  'tkauth-type'?: string;
  validated?: string;
  error?: unknown;
}

export interface AuthzJson {
  identifier: { type: string; value: string };
  status: string;
  expires: string;
  challenges: ChallengeJson[];
  wildcard?: boolean;
}


export function accountJson(a: AccountRecord, links: AcmeLinks): AccountJson {
  // §7.1.2: the binding the account was created with, as the client sent it.
  return { status: a.status, contact: a.contact, orders: links.orders(a.id), ...(a.eabBinding ? { externalAccountBinding: a.eabBinding } : {}) };
}

export function orderJson(o: OrderRecord, authzIds: string[], links: AcmeLinks): OrderJson {
  return {
    status: o.status,
    expires: o.expiresAt.toISOString(),
    identifiers: o.identifiers.map((i) => ({ type: i.type, value: i.value })),
    authorizations: authzIds.map((id) => links.authz(id)),
    finalize: links.finalize(o.id),
    ...(o.certSerial && o.status === 'valid' ? { certificate: links.certificate(o.certSerial) } : {}),
    ...(o.error ? { error: o.error } : {}),
    profile: o.profile,
    ...(o.replaces ? { replaces: o.replaces } : {}),
  };
}

export function challengeJson(c: ChallengeRecord, links: AcmeLinks): ChallengeJson {
  return {
    type: c.type,
    url: links.challenge(c.id),
    status: c.status,
    token: c.token,
    ...(c.type === TKAUTH_01 ? { 'tkauth-type': TKAUTH_TYPE } : {}),
    ...(c.validatedAt ? { validated: c.validatedAt.toISOString() } : {}),
    ...(c.error ? { error: c.error } : {}),
  };
}

export function authzJson(a: AuthzRecord, challenges: ChallengeRecord[], links: AcmeLinks): AuthzJson {
  return {
    // §7.1.4: a wildcard authorization names the base domain and sets "wildcard".
    identifier: { type: a.identifier.type, value: a.wildcard ? a.identifier.value.replace(/^\*\./, '') : a.identifier.value },
    status: a.status,
    expires: a.expiresAt.toISOString(),
    challenges: challenges.map((c) => challengeJson(c, links)),
    ...(a.wildcard ? { wildcard: true } : {}),
  };
}

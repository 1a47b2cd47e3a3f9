import { randomBytes } from 'node:crypto';

/** Opaque, unguessable resource ids (also used in URLs, so an account cannot enumerate others' objects). */
export const newId = (): string => randomBytes(12).toString('base64url');

/** Challenge tokens: ≥128 bits of entropy, base64url (RFC 8555 §8.1). */
export const newToken = (): string => randomBytes(32).toString('base64url');

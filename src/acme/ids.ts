import { randomPool } from '../domain/random-pool.ts';

// Both draw from the process's random pool (src/domain/random-pool.ts): the
// same CSPRNG bytes as randomBytes, without a randomBytes call per id — a
// newOrder makes about eight of these.

/** Opaque, unguessable resource ids (also used in URLs, so an account cannot enumerate others' objects). */
export const newId = (): string => randomPool.base64url(12);

/** Challenge tokens: ≥128 bits of entropy, base64url (RFC 8555 §8.1). */
export const newToken = (): string => randomPool.base64url(32);

import pkcs11js from 'pkcs11js';
import { CaError } from '../domain/errors.ts';

export type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;
export type Handle = Buffer;
export { pkcs11js };

/**
 * One loaded PKCS#11 library per process and path. C_Initialize may run only once per
 * process, so every store using the same module shares it; the last one to close finalizes.
 */
interface SharedModule {
  p11: Pkcs11;
  refs: number;
}

const modules = new Map<string, SharedModule>();

export function acquireModule(path: string): Pkcs11 {
  let shared = modules.get(path);
  if (!shared) {
    const p11 = new pkcs11js.PKCS11();
    try {
      p11.load(path);
    } catch (e) {
      throw new CaError('config', `cannot load PKCS#11 module ${path}: ${(e as Error).message}`, { cause: e });
    }
    initialize(p11);
    shared = { p11, refs: 0 };
    modules.set(path, shared);
  }
  shared.refs++;
  return shared.p11;
}

export function releaseModule(path: string): void {
  const shared = modules.get(path);
  if (!shared || --shared.refs > 0) return;
  modules.delete(path);
  try {
    shared.p11.C_Finalize();
  } catch {
    // Already finalized (e.g. by another handle on the same library): nothing left to release.
  }
}

/**
 * C_Initialize with OS locking: signatures run on libuv's thread pool, so the library
 * is entered from several threads at once. A library someone else already initialized is fine.
 */
export function initialize(p11: Pkcs11): void {
  try {
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (pkcs11Code(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      throw new CaError('keyStore', `PKCS#11 C_Initialize failed: ${describe(e)}`, { cause: e });
    }
  }
}

/** The CKR_* code of a pkcs11js error, or null for anything else. */
export function pkcs11Code(e: unknown): number | null {
  if (e instanceof pkcs11js.Pkcs11Error && typeof e.code === 'number') return e.code;
  return null;
}

/** `CKR_NAME` for logs and error details (never includes arguments such as a PIN). */
export function describe(e: unknown): string {
  if (e instanceof pkcs11js.Pkcs11Error) return e.message;
  if (e instanceof CaError) return e.detail;
  return (e as Error)?.message ?? String(e);
}

/**
 * Errors after which the module's view of the token is gone (token removed or its storage moved
 * away, device failure, library finalized, every session closed): sessions and object handles are
 * dead, and a library such as SoftHSM2 reads its tokens only in C_Initialize, so the token is not
 * seen again until the module is finalized and initialized anew (PKCS#11 v2.40 §5.4).
 */
const MODULE_LOSS = new Set<number>([
  pkcs11js.CKR_GENERAL_ERROR,
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_TOKEN_NOT_RECOGNIZED,
  pkcs11js.CKR_SLOT_ID_INVALID,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED,
]);

/** Errors after which only the session (or its login, or a cached handle) is gone: reopen, log in again. */
const SESSION_LOSS = new Set<number>([
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_USER_NOT_LOGGED_IN,
  // Object handles do not survive a re-initialization: find the key again.
  pkcs11js.CKR_KEY_HANDLE_INVALID,
  pkcs11js.CKR_OBJECT_HANDLE_INVALID,
]);

/** Whether the module must be re-initialized before the token can be reached again. */
export function isModuleLoss(e: unknown): boolean {
  const code = pkcs11Code(e);
  return code !== null && MODULE_LOSS.has(code);
}

/** Whether reconnecting (and, for a module loss, re-initializing) may cure the error; anything else is the request's own failure. */
export function isSessionLoss(e: unknown): boolean {
  const code = pkcs11Code(e);
  return code !== null && (SESSION_LOSS.has(code) || MODULE_LOSS.has(code));
}

/**
 * How many times each loaded library was finalized for a re-initialization. Sessions opened
 * before the current epoch are dead; a store whose sessions predate it only reconnects, so two
 * stores sharing a library never finalize it under each other in turn.
 */
const epochs = new WeakMap<Pkcs11, number>();

export function moduleEpoch(p11: Pkcs11): number {
  return epochs.get(p11) ?? 0;
}

/**
 * C_Finalize unless the library was already finalized since `seen` (the epoch the caller's
 * sessions were opened in); returns the epoch now current. The caller initializes next.
 */
export function finalizeOnce(p11: Pkcs11, seen: number): number {
  const epoch = moduleEpoch(p11);
  if (epoch !== seen) return epoch;
  try {
    p11.C_Finalize();
  } catch {
    // Not initialized (a previous attempt's C_Initialize failed): nothing to finalize.
  }
  epochs.set(p11, epoch + 1);
  return epoch + 1;
}

/** A CK_ULONG attribute value (native byte order, 4 or 8 bytes) as a number. */
export function readUlong(buf: Buffer): number {
  return buf.length >= 8 ? Number(buf.readBigUInt64LE(0)) : buf.readUInt32LE(0);
}

/**
 * The one place @peculiar/x509 is loaded: it needs `reflect-metadata` imported
 * before it, and a crypto provider (Node's own WebCrypto covers P-256/P-384/RSA).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };

// PEM text handling lives in pem.ts, which loads nothing: the agent's not-due renew needs it without @peculiar/x509.
export { toPem, fromPem } from './pem.ts';

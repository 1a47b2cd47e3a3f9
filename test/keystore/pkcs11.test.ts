import { describe } from 'vitest';
import { Pkcs11KeyStore } from '../../src/keystore/pkcs11.ts';
import { createTestToken, hasSoftHsm } from '../helpers/softhsm.ts';
import { keyStoreContract } from './contract.ts';

const available = hasSoftHsm();

describe.skipIf(!available)('pkcs11 key store on SoftHSM2', () => { // skips only locally: the tool check throws when CI is set
  const token = available ? createTestToken() : null;
  keyStoreContract({
    name: 'pkcs11',
    open: (pin) => Pkcs11KeyStore.open({ module: token!.module, token: token!.label }, pin),
    secret: token?.pin ?? '',
    wrongSecret: 'not-the-pin',
    algs: ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048'],
  });
});

/** Where an instance keeps its files, relative to its directory. */
export const LAYOUT = {
  config: 'pki.json',
  database: 'pki.db',
  keys: 'keys',
  passphrase: 'secrets/passphrase',
  rootKeyDir: 'offline',
  rootKeyLabel: 'root',
  rootCert: 'ca/root.pem',
  intermediateCert: 'ca/intermediate.pem',
  chain: 'ca/chain.pem',
  intermediateKeyLabel: 'intermediate',
} as const;

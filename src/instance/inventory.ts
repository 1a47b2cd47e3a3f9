import { resolve } from 'node:path';
import { loadConfig, type Config } from '../config/config.ts';
import { openStore, type Store } from '../store/store.ts';
import { databaseLocation } from './layout.ts';

/** An instance opened for reading and record-keeping only: no key store, so no passphrase needed. */
export interface Inventory {
  dir: string;
  config: Config;
  store: Store;
  close(): void;
}

export async function openInventory(dirArg: string): Promise<Inventory> {
  const dir = resolve(dirArg);
  const config = await loadConfig(dir);
  const store = openStore(databaseLocation(dir, config.database));
  return { dir, config, store, close: () => store.close() };
}

export type { CertListing, ListStatus } from '../store/certificate-inventory.ts';

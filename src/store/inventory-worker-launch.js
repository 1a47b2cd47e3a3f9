// Entry of the inventory cross-check thread (store/inventory-check.ts): tsx's loader first, as bin/pki.js does.
// Run from source only: the prebuilt CLI starts dist/cli/<build>/inventory-worker.js instead (domain/runtime-files.ts, #21).
import { register } from 'tsx/esm/api';

register();
await import('./inventory-worker.ts');

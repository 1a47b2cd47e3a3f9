// Entry of the inventory cross-check thread (store/inventory-check.ts): tsx's loader first, as bin/pki.js does.
import { register } from 'tsx/esm/api';

register();
await import('./inventory-worker.ts');

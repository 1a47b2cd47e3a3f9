// Entry of the PostgreSQL connection thread (store/postgres/pg-db.ts): tsx's loader first, as bin/pki.js does.
// Run from source only: the prebuilt CLI starts dist/cli/<build>/pg-worker.js instead (domain/runtime-files.ts, #21).
import { register } from 'tsx/esm/api';

register();
await import('./pg-worker.ts');

// Entry of the PostgreSQL connection thread (store/postgres/pg-db.ts): tsx's loader first, as bin/pki.js does.
import { register } from 'tsx/esm/api';

register();
await import('./pg-worker.ts');

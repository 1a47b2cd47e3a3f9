// Entry of an OCSP worker process (forked by http/ocsp/workers/pool.ts): tsx's loader first, as bin/pki.js does.
// Run from source only: the prebuilt CLI starts dist/cli/<build>/ocsp-worker.js instead (domain/runtime-files.ts, #21).
import { register } from 'tsx/esm/api';

register();
await import('./ocsp-worker.ts');

// Entry of an OCSP worker process (forked by http/ocsp/workers/pool.ts): tsx's loader first, as bin/pki.js does.
import { register } from 'tsx/esm/api';

register();
await import('./ocsp-worker.ts');

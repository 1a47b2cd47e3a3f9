// Entry of an OCSP worker process (forked by pool.ts): tsx's loader first, as bin/pki.js does.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');

import { Hono } from 'hono';
import type { ReadyReport } from '../../health/readiness.ts';

/** GET /readyz: 200 when every check passes, else 503 with the reason (load balancers and Kubernetes read the status). */
export function readyRoutes(check: () => Promise<ReadyReport>): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const r = await check();
    c.header('Cache-Control', 'no-store');
    return c.json({ status: r.ready ? 'ready' : 'not ready', ...(r.reason ? { reason: r.reason } : {}), checks: r.checks }, r.ready ? 200 : 503);
  });
  return app;
}

import { Hono } from 'hono';

export interface MetricsSource {
  render(): Promise<string>;
  readonly contentType: string;
}

/** GET /metrics: Prometheus text exposition format. */
export function metricsRoutes(metrics: MetricsSource): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    c.header('Content-Type', metrics.contentType);
    c.header('Cache-Control', 'no-store');
    return c.body(await metrics.render());
  });
  return app;
}

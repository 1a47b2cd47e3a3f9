import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AcmeContext, AcmeReply } from '../../acme/context.ts';
import { newAccount, listOrders, updateAccount } from '../../acme/handlers/account.ts';
import { postAuthz } from '../../acme/handlers/authz.ts';
import { downloadCertificate } from '../../acme/handlers/certificate.ts';
import { postChallenge } from '../../acme/handlers/challenge.ts';
import { getDirectory } from '../../acme/handlers/directory.ts';
import { finalizeOrder } from '../../acme/handlers/finalize.ts';
import { changeKey } from '../../acme/handlers/key-change.ts';
import { getOrder, newOrder } from '../../acme/handlers/order.ts';
import { getRenewalInfo } from '../../acme/handlers/renewal-info.ts';
import { revokeCertificate } from '../../acme/handlers/revoke.ts';
import { methodNotAllowed, notFound, payloadTooLarge } from '../../acme/problems.ts';
import { requireJoseJson } from '../middleware/content-type.ts';
import { MAX_JWS_BYTES as MAX_BODY, verifiedJws, type AcmeEnv } from '../middleware/jws.ts';
import { requestLog } from '../middleware/request-log.ts';
import { acmeMetrics } from '../middleware/acme-metrics.ts';
import { rateLimit } from '../middleware/rate-limit.ts';
import type { RateLimitsConfig } from '../../config/rate-limits.ts';
import type { CaMetrics } from '../../metrics/metrics.ts';
import { caCertificateRoutes, type CaCertificates } from '../routes/ca-certificates.ts';
import { toProblem } from '../problem.ts';
import { AcmeResponder } from './respond.ts';


/**
 * The ACME server (RFC 8555) as a Hono app, served over HTTPS by ./listener.ts.
 * Route table first; each POST runs content-type → JWS verification → handler.
 */
export function createAcmeApp(ctx: AcmeContext, o: { caCertificates?: CaCertificates; rateLimits?: RateLimitsConfig; metrics?: CaMetrics } = {}): Hono<AcmeEnv> {
  const app = new Hono<AcmeEnv>();
  const kid = verifiedJws(ctx, 'kid');
  const p = (c: Context<AcmeEnv>, name: string) => c.req.param(name) ?? '';
  // Per IP before the (costly) JWS check; per account after it, since only a verified kid names an account.
  const onLimited = (name: string) => o.metrics?.rateLimited.inc({ limit: name });
  const byIp = (c: Context<AcmeEnv>) => c.env?.incoming?.socket.remoteAddress ?? 'unknown';
  const byAccount = (c: Context<AcmeEnv>) => c.var.acme.account?.id ?? c.var.acme.thumbprint;
  const limits = o.rateLimits;
  const newNonceLimit = rateLimit({ name: 'newNonce per IP', config: limits?.newNoncePerIp, key: byIp, onLimited });
  const newAccountLimit = rateLimit({ name: 'newAccount per IP', config: limits?.newAccountPerIp, key: byIp, onLimited });
  const newOrderLimit = rateLimit({ name: 'newOrder per account', config: limits?.newOrderPerAccount, key: byAccount, onLimited });
  const finalizeLimit = rateLimit({ name: 'finalize per account', config: limits?.finalizePerAccount, key: byAccount, onLimited });

  const out = new AcmeResponder(ctx.nonces, ctx.links);
  const reply = (c: Context<AcmeEnv>, r: AcmeReply) => out.reply(c, r);

  if (o.metrics) app.use('*', acmeMetrics(o.metrics));
  app.use('*', requestLog(ctx.logger, { echo: false }));
  app.use('*', out.headers());
  // Served by Node, the JWS middleware reads (and caps) the body from the IncomingMessage itself;
  // hono's bodyLimit would build a WHATWG Request and body stream for every request just to look.
  const limitBody = bodyLimit({ maxSize: MAX_BODY, onError: (c) => out.problem(c, payloadTooLarge(`request bodies are limited to ${MAX_BODY} bytes`)) });
  app.use('*', (c, next) => (c.env?.incoming ? next() : limitBody(c, next)));
  app.use('*', requireJoseJson());

  app.get('/acme/directory', (c) => reply(c, getDirectory(ctx)));
  // §7.2: HEAD → 200, GET → 204 (Hono routes HEAD through the GET handler).
  app.get('/acme/new-nonce', newNonceLimit, (c) => reply(c, { status: c.req.method === 'HEAD' ? 200 : 204 }));
  app.post('/acme/new-account', newAccountLimit, verifiedJws(ctx, 'jwk'), async (c) => reply(c, await newAccount(ctx, c.var.acme)));
  app.post('/acme/account/:id', kid, (c) => reply(c, updateAccount(ctx, c.var.acme, p(c, 'id'))));
  app.post('/acme/account/:id/orders', kid, (c) => reply(c, listOrders(ctx, c.var.acme, p(c, 'id'))));
  app.post('/acme/key-change', kid, async (c) => reply(c, await changeKey(ctx, c.var.acme)));
  app.post('/acme/new-order', kid, newOrderLimit, (c) => reply(c, newOrder(ctx, c.var.acme)));
  app.post('/acme/order/:id', kid, (c) => reply(c, getOrder(ctx, c.var.acme, p(c, 'id'))));
  app.post('/acme/order/:id/finalize', kid, finalizeLimit, async (c) => reply(c, await finalizeOrder(ctx, c.var.acme, p(c, 'id'))));
  app.post('/acme/authz/:id', kid, (c) => reply(c, postAuthz(ctx, c.var.acme, p(c, 'id'))));
  app.post('/acme/challenge/:id', kid, async (c) => reply(c, await postChallenge(ctx, c.var.acme, p(c, 'id'))));
  app.post('/acme/cert/:serial', kid, (c) => reply(c, downloadCertificate(ctx, c.var.acme, p(c, 'serial'))));
  app.post('/acme/revoke-cert', verifiedJws(ctx, 'either'), async (c) => reply(c, await revokeCertificate(ctx, c.var.acme)));
  app.get('/acme/renewal-info/:id', (c) => reply(c, getRenewalInfo(ctx, p(c, 'id'))));
  // The CA certificates here too, so a workload can bootstrap trust (pinned fingerprint) from the one URL it knows.
  if (o.caCertificates) app.route('/ca', caCertificateRoutes(o.caCertificates));

  // §6.3: resources are read with POST-as-GET; a plain GET on them is 405.
  app.get('/acme/*', (c) => out.problem(c, methodNotAllowed('use POST-as-GET (RFC 8555 §6.3)'), { Allow: 'POST' }));
  app.notFound((c) => out.problem(c, notFound()));
  app.onError((err, c) => out.problem(c, toProblem(err, ctx.logger, { path: c.req.path })));
  return app;
}

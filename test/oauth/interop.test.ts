import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/domain/clock.ts';
import { addGrant } from '../../src/index.ts';
import { useAcmeServer } from '../helpers/acme-server.ts';
import { tempDir } from '../helpers/tmp.ts';
import { hasTool, runStatus } from '../helpers/tools.ts';
import { runAsync } from '../helpers/run-async.ts';
import { hasPyJwt, PYTHON } from '../identity/pyjwt.ts';
import { clientCert, type ClientCert } from './support.ts';

const CLIENT = 'spiffe://corp/ns/payments/sa/api';
const LEDGER = 'https://ledger.internal';

// skips only locally: hasTool() throws when CI is set
const haveCurl = hasTool('curl', ['--version']);
// skips only locally: hasPyJwt() throws when CI is set
const havePyJwt = hasPyJwt();
// skips only locally: hasTool() throws when CI is set
const haveGo = hasTool('go', ['version']);

/** PyJWT (python3-jwt) verifies a token against the JWKS JSON: signature (ES256 only), typ, iss, aud, exp. */
const PYJWT = `
import json, sys, jwt
jwks, token, iss, aud = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
header = jwt.get_unverified_header(token)
assert header["typ"] == "at+jwt", header
key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == header["kid"])
claims = jwt.decode(token, key.key, algorithms=["ES256"], audience=aud, issuer=iss, options={"require": ["exp", "iat", "iss", "aud", "sub"]})
print(json.dumps(claims))
`;

describe('interop: curl obtains tokens over mTLS, PyJWT verifies them, Go x/oauth2 clientcredentials obtains one', () => {
  const t = useAcmeServer();
  let origin: string;
  let dir: string;
  let cert: ClientCert;
  const files = { cert: '', key: '', ca: '', jwks: '' };

  beforeAll(async () => {
    origin = new URL(t.server.acme!.directoryUrl).origin;
    dir = tempDir();
    cert = await clientCert(t.ca, { spiffe: CLIENT });
    for (const [k, v] of [['cert', cert.certPem], ['key', cert.keyPem], ['ca', t.rootPem]] as const) writeFileSync((files[k] = join(dir, `${k}.pem`)), v);
    files.jwks = join(dir, 'jwks.json');
    addGrant(t.ca, { client: 'spiffe://corp/ns/payments/*', audience: LEDGER, scopes: ['ledger:write', 'ledger:read'] }, systemClock);
  });

  // Asynchronously: the server answers from this process, so a blocking spawn would deadlock it.
  const curlToken = (args: string[]) =>
    runAsync('curl', ['-sS', '--cacert', files.ca, '-w', '\n%{http_code}', ...args, `${origin}/oauth/token`]);

  it.skipIf(!haveCurl || !havePyJwt)('ok/curl --cert/--key gets a token; PyJWT verifies it against the JWKS curl fetched', async () => { // skips only locally: the tool check throws when CI is set
    const r = await curlToken(['--cert', files.cert, '--key', files.key, '-d', 'grant_type=client_credentials', '-d', `resource=${LEDGER}`, '-d', 'scope=ledger:write']);
    const [body, code] = r.stdout.split('\n');
    expect(code, r.stdout + r.stderr).toBe('200');
    const token = (JSON.parse(body!) as { access_token: string }).access_token;
    expect((await runAsync('curl', ['-sS', '--fail', '--cacert', files.ca, '-o', files.jwks, `${origin}/.well-known/jwks.json`])).status).toBe(0);
    const py = runStatus(PYTHON, ['-c', PYJWT, files.jwks, token, origin, LEDGER]);
    expect(py.status, py.stderr).toBe(0);
    const claims = JSON.parse(py.stdout) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: CLIENT, aud: LEDGER, scope: 'ledger:write', cnf: { 'x5t#S256': createHash('sha256').update(cert.der).digest('base64url') } });
    // PyJWT refuses it for another audience, and refuses a token whose signature was tampered with.
    expect(runStatus(PYTHON, ['-c', PYJWT, files.jwks, token, origin, 'https://other.internal']).stderr).toMatch(/InvalidAudienceError/);
    const forged = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect(runStatus(PYTHON, ['-c', PYJWT, files.jwks, forged, origin, LEDGER]).stderr).toMatch(/InvalidSignatureError/);
  });

  it.skipIf(!haveCurl)('fail/curl without a client certificate: 401 invalid_client as RFC 6749 §5.2 JSON', async () => { // skips only locally: the tool check throws when CI is set
    const r = await curlToken(['-d', 'grant_type=client_credentials']);
    const [body, code] = r.stdout.split('\n');
    expect(code).toBe('401');
    expect(JSON.parse(body!)).toMatchObject({ error: 'invalid_client' });
  });

  it.skipIf(!haveGo)('ok/golang.org/x/oauth2/clientcredentials obtains a token over mTLS', async () => { // skips only locally: the tool check throws when CI is set
    const bin = join(dir, 'cc');
    const src = fileURLToPath(new URL('./clientcredentials.go', import.meta.url));
    const env = { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(dir, 'gocache'), GOFLAGS: '' };
    const built = await runAsync('go', ['build', '-o', bin, src], { env, timeoutMs: 170_000 });
    expect(built.status, built.stderr).toBe(0);
    const run = (scope: string) =>
      runAsync(bin, [], { env: { ...process.env, CERT: files.cert, KEY: files.key, CA: files.ca, CLIENT_ID: CLIENT, TOKEN_URL: `${origin}/oauth/token`, SCOPE: scope, RESOURCE: LEDGER } });
    const ok = await run('ledger:read');
    expect(ok.status, ok.stderr).toBe(0);
    const tok = JSON.parse(ok.stdout) as { access_token: string; token_type: string; scope: string };
    expect(tok).toMatchObject({ token_type: 'Bearer', scope: 'ledger:read' });
    expect(tok.access_token.split('.')).toHaveLength(3);
    // x/oauth2 surfaces the RFC 6749 §5.2 error.
    const refused = await run('ledger:admin');
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/invalid_scope/);
  }, 180_000);
});

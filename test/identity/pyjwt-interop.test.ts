import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hasTool } from '../helpers/tools.ts';
import { identityFixture, nowS } from './support.ts';

/**
 * Tokens made by software nobody here wrote: PyJWT (Debian python3-jwt) signs a Kubernetes-shaped
 * service-account token with its own RSA key and publishes the JWKS; pki accepts that token and
 * refuses PyJWT's forgeries of it.
 */
const PYTHON = '/usr/bin/python3';

function hasPyJwt(): boolean {
  if (!hasTool(PYTHON, ['--version'])) return false;
  const ok = spawnSync(PYTHON, ['-c', 'import jwt, cryptography'], { stdio: 'ignore' }).status === 0;
  if (!ok && process.env.CI) throw new Error('python3-jwt is required in CI but is not installed');
  return ok;
}

const SCRIPT = String.raw`
import json, sys, uuid
import jwt
from jwt.algorithms import RSAAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives import serialization

now = int(sys.argv[1])
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pub = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
pub.update({"kid": "sa-key", "alg": "RS256", "use": "sig"})

def claims(**over):
    c = {"aud": ["pki"], "exp": now + 3600, "iat": now, "nbf": now, "iss": "https://kubernetes.default.svc.cluster.local",
         "jti": str(uuid.uuid4()),
         "kubernetes.io": {"namespace": "payments", "serviceaccount": {"name": "api", "uid": str(uuid.uuid4())},
                           "pod": {"name": "api-7d9f", "uid": str(uuid.uuid4())}},
         "sub": "system:serviceaccount:payments:api"}
    c.update(over)
    return c

h = {"kid": "sa-key"}
der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
out = {
  "jwks": {"keys": [pub]},
  "good": jwt.encode(claims(), key, algorithm="RS256", headers=h),
  "forged": {
    "none": jwt.encode(claims(), None, algorithm="none"),
    "hs256-public-key": jwt.encode(claims(), der, algorithm="HS256", headers=h),
    "other-key-same-kid": jwt.encode(claims(), other, algorithm="RS256", headers=h),
    "unknown-kid": jwt.encode(claims(), other, algorithm="RS256", headers={"kid": "rotated-away"}),
    "expired": jwt.encode(claims(exp=now - 120, iat=now - 3720, nbf=now - 3720), key, algorithm="RS256", headers=h),
    "other-audience": jwt.encode(claims(aud=["vault"]), key, algorithm="RS256", headers=h),
    "other-issuer": jwt.encode(claims(iss="https://oidc.eks.example"), key, algorithm="RS256", headers=h),
    "user-not-serviceaccount": jwt.encode(claims(sub="alice@example.com"), key, algorithm="RS256", headers=h),
  },
}
print(json.dumps(out))
`;

describe.skipIf(!hasPyJwt())('PyJWT interop', () => {
  // skips only locally: hasTool() throws when CI is set
  const r = spawnSync(PYTHON, ['-c', SCRIPT, String(nowS())], { encoding: 'utf8' });
  const made = JSON.parse(r.stdout || '{}') as { jwks: unknown; good: string; forged: Record<string, string> };

  it('ok/a Kubernetes-shaped RS256 token from PyJWT is accepted and yields the template identifiers', async () => {
    expect(r.status, r.stderr).toBe(0);
    const f = identityFixture({ jwks: JSON.stringify(made.jwks) });
    const grant = await f.tokens.verify(made.good);
    expect(grant.identifiers.map((i) => `${i.type}:${i.value}`)).toEqual(['uri:spiffe://corp/ns/payments/sa/api', 'dns:api.payments.svc']);
  });

  it.each([
    ['none', /algorithm "none" is not allowed/],
    ['hs256-public-key', /algorithm "HS256" is not allowed/],
    ['other-key-same-kid', /signature does not verify/],
    ['unknown-kid', /no key of .* matches/],
    ['expired', /expired/],
    ['other-audience', /another audience/],
    ['other-issuer', /is not trusted/],
    ['user-not-serviceaccount', /does not match/],
  ])('bad/PyJWT forgery %s is refused', async (name, reason) => {
    const f = identityFixture({ jwks: JSON.stringify(made.jwks) });
    await expect(f.tokens.verify(made.forged[name]!)).rejects.toMatchObject({ kind: 'unauthorized', detail: expect.stringMatching(reason) });
    expect(f.audit('identity.token.refused')).toHaveLength(1);
  });
});

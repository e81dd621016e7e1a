// The peer of ./bench/run: node oidc-provider with its default in-memory adapter, one
// confidential client allowed client_credentials, authorization_code and refresh_token,
// introspection on. Opaque access tokens (the provider's default without a resource
// indicator). Its own development interaction pages (any login name) give the user tokens of
// the userinfo and refresh workloads; refresh tokens rotate on every use, as Gatehouse's do.
//
//   PORT=9100 BENCH_CLIENT_SECRET=... NODE_ENV=production node peer.mjs
//
// The signing keys are generated at start, one per algorithm Gatehouse publishes (RSA 2048,
// P-256, Ed25519), so both JWKS documents have the same shape.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || process.argv[2] || 9100);
const secret = process.env.BENCH_CLIENT_SECRET;
if (!secret) {
  console.error('error: BENCH_CLIENT_SECRET is not set');
  process.exit(1);
}

function jwk(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig' };
}

const keys = [
  jwk('rsa', { modulusLength: 2048 }, 'RS256'),
  jwk('ec', { namedCurve: 'P-256' }, 'ES256'),
  jwk('ed25519', {}, 'EdDSA'),
];

const issuer = `http://127.0.0.1:${port}`;
const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'bench',
      client_secret: secret,
      grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://localhost:9000/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys },
  cookies: { keys: [secret] },
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: true },
  },
  rotateRefreshToken: true,
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${issuer} pid ${process.pid}`);
});

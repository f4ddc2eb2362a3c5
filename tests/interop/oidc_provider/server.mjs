// node oidc-provider (panva) on loopback, configured the way a real deployment
// in front of an API would be, for agentfetch's interop tests.
//
//   node server.mjs [--port N] [--resource-prefix URL]... [--dpop] [--dpop-nonce] [--par-required] [--acr VALUE]...
//
// It binds 127.0.0.1 first (port 0 = ephemeral), then builds the Provider with
// the issuer http://127.0.0.1:<bound port>, and prints one JSON line on stdout:
//   {"issuer": "http://127.0.0.1:PORT", "jwks": {...public keys...}}
// which the pytest fixture waits for. Logs go to stderr.
//
// Resource servers (RFC 8707): any resource indicator that starts with one of
// the --resource-prefix values is an API with scopes "wiki:read wiki:write",
// audience = the resource indicator, and JWT access tokens (RFC 9068) signed
// with ES256. A resource whose path ends in "/short" gets 5-second access
// tokens, so the tests can see a refresh without waiting. Anything else is
// refused with invalid_target.
//
// The standards agentfetch binds tokens and logins with, each off unless asked for:
//   --dpop          RFC 9449 DPoP (features.dPoP): dpop_signing_alg_values_supported, DPoP-bound
//                   tokens (token_type DPoP, cnf.jkt) for requests that carry a proof, replay detection.
//   --dpop-nonce    with --dpop, every proof must carry the provider's nonce (use_dpop_nonce, §8).
//   --par-required  RFC 9126: require_pushed_authorization_requests (PAR itself is on by default).
//   --acr VALUE     acr_values_supported (RFC 9470 step-up asks for acr_values and max_age).

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'resource-prefix': { type: 'string', multiple: true, default: [] },
    'access-token-ttl': { type: 'string', default: '3600' },
    dpop: { type: 'boolean', default: false },
    'dpop-nonce': { type: 'boolean', default: false },
    'par-required': { type: 'boolean', default: false },
    acr: { type: 'string', multiple: true, default: [] },
  },
});

const RESOURCE_SCOPES = 'wiki:read wiki:write';
const SHORT_TTL = 5;

function signingKey(type, options, alg) {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, alg, use: 'sig', kid: `${alg.toLowerCase()}-${crypto.randomBytes(4).toString('hex')}` };
}

// RS256 first: the ID token default; ES256 for the access tokens.
const keys = [
  signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
  signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
];
const publicJwks = {
  keys: keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub),
};

function resourceAllowed(indicator) {
  return args['resource-prefix'].some((prefix) => indicator === prefix || indicator.startsWith(prefix));
}

const server = http.createServer();
server.listen(Number(args.port), '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;

  const provider = new Provider(issuer, {
    jwks: { keys },
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    // Any login and password is accepted by the dev interactions; the account is the login.
    async findAccount(ctx, sub) {
      return { accountId: sub, async claims() { return { sub }; } };
    },
    scopes: ['openid', 'offline_access'],
    acrValues: args.acr,
    claims: { openid: ['sub'] },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      revocation: { enabled: true },
      deviceFlow: { enabled: true }, // RFC 8628, for agents with no browser
      dPoP: args.dpop ? {
        enabled: true,
        ...(args['dpop-nonce'] ? { nonceSecret: crypto.randomBytes(32), requireNonce: () => true } : {}),
      } : { enabled: false },
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: args['par-required'],
      },
      introspection: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource(ctx, client, oneOf) {
          return oneOf || undefined;
        },
        useGrantedResource() {
          return false;
        },
        getResourceServerInfo(ctx, resourceIndicator) {
          if (!resourceAllowed(resourceIndicator)) {
            throw new errors.InvalidTarget();
          }
          return {
            scope: RESOURCE_SCOPES,
            audience: resourceIndicator,
            accessTokenTTL: new URL(resourceIndicator).pathname.replace(/\/$/, '').endsWith('/short')
              ? SHORT_TTL : Number(args['access-token-ttl']),
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    },
    // Public native clients (token_endpoint_auth_method none) get refresh tokens
    // for offline_access; that is oidc-provider's default policy, stated here.
    issueRefreshToken(ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    ttl: {
      // A resource server's own accessTokenTTL wins (a plain number here would override it).
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || Number(args['access-token-ttl']),
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 24 * 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 24 * 3600,
    },
  });

  provider.on('server_error', (ctx, err) => {
    process.stderr.write(`server_error: ${err.stack}\n`);
  });
  for (const event of ['authorization.error', 'grant.error', 'registration_create.error',
    'introspection.error', 'revocation.error', 'end_session.error', 'userinfo.error']) {
    provider.on(event, (ctx, err) => {
      process.stderr.write(`${event}: ${err.name} ${err.message} ${err.error_description || ''}\n`);
    });
  }

  // What the provider did, one JSON line each on stderr ("EVENT {...}"), for the tests to check.
  const event = (name, data) => process.stderr.write(`EVENT ${JSON.stringify({ event: name, ...data })}\n`);
  provider.on('registration_create.success', (ctx, client) => {
    event('registration', { metadata: client.metadata() });
  });
  provider.on('grant.success', (ctx) => {
    const { params } = ctx.oidc;
    event('token', { grant_type: params.grant_type, resource: params.resource, scope: params.scope });
  });
  provider.on('authorization.success', (ctx) => {
    const { params } = ctx.oidc;
    event('authorization', {
      resource: params.resource, scope: params.scope, prompt: params.prompt,
      acr_values: params.acr_values, max_age: params.max_age, pushed: Boolean(ctx.oidc.entities.PushedAuthorizationRequest || ctx.oidc.entities.Interaction?.parJti),
    });
  });

  const callback = provider.callback();
  server.on('request', (req, res) => callback(req, res));
  process.stdout.write(`${JSON.stringify({ issuer, jwks: publicJwks })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}

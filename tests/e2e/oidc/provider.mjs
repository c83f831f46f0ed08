// A small OpenID Connect issuer for Steward's browser sign-in test (tests/e2e/test_sign_in.py).
// It is a TEST identity provider (oidc-provider's development login form accepts any password):
// never run it anywhere but 127.0.0.1 in a test.
//
//   node provider.mjs [PORT]
//
// Environment (all but the redirect URIs have test defaults):
//   OIDC_PORT            port on 127.0.0.1 (or the first argument); issuer is http://127.0.0.1:PORT
//   OIDC_CLIENT_ID       the one static client (Steward), default "steward-e2e"
//   OIDC_CLIENT_SECRET   its secret, default "steward-e2e-secret"
//   OIDC_REDIRECT_URIS   space-separated redirect URIs of that client (required), e.g.
//                        "http://localhost:8501/oauth2callback"; also its post-logout redirect URIs
//   OIDC_ACCOUNTS        JSON {subject: {email, email_verified, name}}: the accounts; one signs in by
//                        typing its subject as the login. Default: one test account, "test-user-0001".
//
// Prints "oidc-provider ready on <issuer>" once it listens; stops on SIGTERM / SIGINT.

import { generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.argv[2] || process.env.OIDC_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('provider.mjs: give the port as the first argument or in OIDC_PORT');
  process.exit(2);
}
const redirectUris = (process.env.OIDC_REDIRECT_URIS || '').split(/\s+/).filter(Boolean);
if (redirectUris.length === 0) {
  console.error('provider.mjs: OIDC_REDIRECT_URIS must list the client redirect URIs');
  process.exit(2);
}
const accounts = process.env.OIDC_ACCOUNTS
  ? JSON.parse(process.env.OIDC_ACCOUNTS)
  : {
      'test-user-0001': { email: 'test.user@example.com', email_verified: true, name: 'Test User' },
    };
const issuer = `http://127.0.0.1:${port}`;

// A signing key of this run (no development keys shipped with the library).
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-1', use: 'sig', alg: 'RS256' };

// The login typed in the form is the account id, which oidc-provider also sends as the subject
// (`sub`). findAccount returns undefined for unknown logins, so the provider asks again. Claims are
// the ones Steward reads: sub, email, email_verified, name.
async function findAccount(ctx, id) {
  const account = Object.hasOwn(accounts, id) ? accounts[id] : undefined;
  if (!account) return undefined;
  return {
    accountId: id,
    async claims() {
      return {
        sub: id,
        email: account.email,
        email_verified: account.email_verified,
        name: account.name,
      };
    },
  };
}

function page(ctx, title, body) {
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:25px auto;width:360px;text-align:center}
button{display:block;width:100%;margin:8px 0;height:36px}</style></head>
<body><h1>${title}</h1>${body}</body></html>`;
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID || 'steward-e2e',
      client_secret: process.env.OIDC_CLIENT_SECRET || 'steward-e2e-secret',
      client_name: 'Steward',
      redirect_uris: redirectUris,
      post_logout_redirect_uris: redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  findAccount,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // Put the scope's claims (email, name) into the ID token, which is what st.user shows;
  // conforming providers would only serve them from the userinfo endpoint.
  conformIdTokenClaims: false,
  // Streamlit (Authlib) sends an S256 code challenge when the issuer advertises it: require it.
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true }, // the login form (and consent screen) of the library
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        page(ctx, 'Sign out', `${form}<p>Do you want to sign out of the test identity provider?</p>
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        page(ctx, 'Signed out', '<p>You are signed out.</p>');
      },
    },
  },
  // Lifetimes (seconds) long enough for a slow test machine; setting them keeps the log quiet.
  ttl: { Interaction: 3600, Session: 3600, Grant: 3600, AccessToken: 3600, IdToken: 3600 },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  async renderError(ctx, out) {
    page(ctx, 'Sign-in error', `<pre>${JSON.stringify(out, null, 2).replace(/</g, '&lt;')}</pre>`);
  },
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ready on ${issuer}`);
});

function stop() {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

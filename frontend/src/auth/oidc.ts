// OpenID Connect for a public client in the browser: authorization code + PKCE (S256), state and
// nonce checked, refresh with the refresh_token grant, RP-initiated logout.

import * as oauth from 'oauth4webapi';
import type { OidcConfig } from '../config';

/** What a successful sign-in or refresh yields. */
export interface TokenSet {
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  idToken: string | null;
  refreshToken: string | null;
}

interface PendingSignIn {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
}

const PENDING_KEY = 'ferry.signin';
const DEFAULT_LIFETIME_S = 300;

/** The sign-in was refused or could not finish; `message` is for a person. */
export class SignInError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignInError';
  }
}

/** Only a local development issuer may be reached over plain HTTP. */
export function isLocalHttpIssuer(issuer: string): boolean {
  const u = new URL(issuer);
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

/** A path inside the portal to come back to; anything else (another origin, `//x`) becomes `/`. */
export function safeReturnPath(path: string | null | undefined): string {
  if (!path || !path.startsWith('/') || path.startsWith('//') || path.startsWith('/\\')) return '/';
  if (path.startsWith('/auth/callback')) return '/';
  return path;
}

export class OidcClient {
  private readonly issuer: URL;
  private readonly client: oauth.Client;
  private readonly auth = oauth.None();
  private readonly http: { [oauth.allowInsecureRequests]?: boolean };
  private server: Promise<oauth.AuthorizationServer> | null = null;
  readonly redirectUri = `${window.location.origin}/auth/callback`;

  constructor(private readonly config: OidcConfig) {
    this.issuer = new URL(config.issuer);
    this.client = { client_id: config.client_id };
    // ferry-local's issuer is plain http on the loopback; every other issuer must be https.
    this.http = isLocalHttpIssuer(config.issuer) ? { [oauth.allowInsecureRequests]: true } : {};
  }

  /** The discovery document, fetched once; a failure is retried on the next call. */
  discover(): Promise<oauth.AuthorizationServer> {
    if (!this.server) {
      this.server = oauth
        .discoveryRequest(this.issuer, { ...this.http, algorithm: 'oidc' })
        .then((r) => oauth.processDiscoveryResponse(this.issuer, r));
      this.server.catch(() => (this.server = null));
    }
    return this.server;
  }

  /** Sends the browser to the provider's sign-in page; comes back to `/auth/callback`. */
  async beginSignIn(returnTo: string): Promise<void> {
    const as = await this.discover();
    if (!as.authorization_endpoint) throw new SignInError('The sign-in service is not set up correctly.');
    const pending: PendingSignIn = {
      verifier: oauth.generateRandomCodeVerifier(),
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      returnTo: safeReturnPath(returnTo),
    };
    sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
    const url = new URL(as.authorization_endpoint);
    const p = url.searchParams;
    p.set('client_id', this.config.client_id);
    p.set('redirect_uri', this.redirectUri);
    p.set('response_type', 'code');
    p.set('scope', this.config.scope);
    p.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.verifier));
    p.set('code_challenge_method', 'S256');
    p.set('state', pending.state);
    p.set('nonce', pending.nonce);
    window.location.assign(url.href);
  }

  /** Checks the callback (state, issuer), trades the code for tokens and checks the nonce. */
  async finishSignIn(callbackUrl: URL): Promise<{ tokens: TokenSet; returnTo: string }> {
    const raw = sessionStorage.getItem(PENDING_KEY);
    sessionStorage.removeItem(PENDING_KEY);
    if (!raw) {
      throw new SignInError('This sign-in was not started here, or it was already used. Please sign in again.');
    }
    const pending = JSON.parse(raw) as PendingSignIn;
    const as = await this.discover();
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, this.client, callbackUrl, pending.state);
    } catch (e) {
      if (e instanceof oauth.AuthorizationResponseError) {
        throw new SignInError(
          e.error === 'access_denied'
            ? 'The sign-in was cancelled or refused.'
            : 'The sign-in service refused the sign-in. Please try again.',
        );
      }
      throw new SignInError('This sign-in answer could not be checked. Please sign in again.');
    }
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      this.client,
      this.auth,
      params,
      this.redirectUri,
      pending.verifier,
      this.http,
    );
    const result = await oauth
      .processAuthorizationCodeResponse(as, this.client, response, {
        expectedNonce: pending.nonce,
        requireIdToken: true,
      })
      .catch(() => {
        throw new SignInError('The sign-in could not be completed. Please sign in again.');
      });
    return { tokens: toTokenSet(result, null), returnTo: safeReturnPath(pending.returnTo) };
  }

  /** A fresh access token. Throws SignInError when the refresh token is no longer accepted. */
  async refresh(refreshToken: string): Promise<TokenSet> {
    const as = await this.discover();
    const response = await oauth.refreshTokenGrantRequest(as, this.client, this.auth, refreshToken, this.http);
    try {
      const result = await oauth.processRefreshTokenResponse(as, this.client, response);
      return toTokenSet(result, refreshToken);
    } catch (e) {
      if (e instanceof oauth.ResponseBodyError) throw new SignInError('Your session has ended. Please sign in again.');
      throw e;
    }
  }

  /** Where to send the browser to end the provider's session; null when there is nowhere. */
  async signOutUrl(idToken: string | null): Promise<string | null> {
    if (this.config.logout_url) return this.config.logout_url;
    const as = await this.discover().catch(() => null);
    if (!as?.end_session_endpoint) return null;
    const url = new URL(as.end_session_endpoint);
    if (idToken) url.searchParams.set('id_token_hint', idToken);
    url.searchParams.set('client_id', this.config.client_id);
    url.searchParams.set('post_logout_redirect_uri', `${window.location.origin}/`);
    return url.href;
  }
}

function toTokenSet(r: oauth.TokenEndpointResponse, previousRefresh: string | null): TokenSet {
  const lifetime = typeof r.expires_in === 'number' && r.expires_in > 0 ? r.expires_in : DEFAULT_LIFETIME_S;
  return {
    accessToken: r.access_token,
    expiresAt: Date.now() + lifetime * 1000,
    idToken: r.id_token ?? null,
    // Providers that do not rotate refresh tokens (Cognito) send none: keep the one we have.
    refreshToken: r.refresh_token ?? previousRefresh,
  };
}

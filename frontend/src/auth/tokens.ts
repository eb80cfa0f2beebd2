// Keeps a signed-in user's tokens: the access token in memory only, the refresh and ID tokens in
// sessionStorage (a reload keeps the session in this tab; closing the tab ends it). The access
// token is renewed shortly before it expires, and at once when the API refuses it.

import type { TokenSource } from '../api/client';
import { type OidcClient, SignInError, type TokenSet } from './oidc';

const REFRESH_KEY = 'ferry.refresh_token';
const ID_TOKEN_KEY = 'ferry.id_token';
/** Renew this long before expiry, so a request never leaves with a token about to lapse. */
const RENEW_BEFORE_MS = 60_000;

export class TokenKeeper implements TokenSource {
  private access: string | null = null;
  private expiresAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inflight: Promise<string | null> | null = null;

  constructor(
    private readonly oidc: OidcClient,
    /** The session ended (refresh refused, or the API refused a fresh token). */
    private readonly onEnded: (notice: string) => void,
  ) {}

  hasSession(): boolean {
    return sessionStorage.getItem(REFRESH_KEY) !== null || this.access !== null;
  }

  idToken(): string | null {
    return sessionStorage.getItem(ID_TOKEN_KEY);
  }

  set(tokens: TokenSet): void {
    this.access = tokens.accessToken;
    this.expiresAt = tokens.expiresAt;
    if (tokens.refreshToken) sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
    else sessionStorage.removeItem(REFRESH_KEY);
    if (tokens.idToken) sessionStorage.setItem(ID_TOKEN_KEY, tokens.idToken);
    this.schedule();
  }

  clear(): void {
    this.access = null;
    this.expiresAt = 0;
    clearTimeout(this.timer);
    sessionStorage.removeItem(REFRESH_KEY);
    sessionStorage.removeItem(ID_TOKEN_KEY);
  }

  async token(fresh: boolean): Promise<string | null> {
    if (!fresh && this.access && Date.now() < this.expiresAt - 5_000) return this.access;
    return this.renew();
  }

  rejected(): void {
    this.clear();
    this.onEnded('Your session has ended. Please sign in again.');
  }

  /** One refresh at a time: rotated refresh tokens work once, so two at once would fail. */
  renew(): Promise<string | null> {
    if (!this.inflight) {
      this.inflight = this.doRenew().finally(() => (this.inflight = null));
    }
    return this.inflight;
  }

  private async doRenew(): Promise<string | null> {
    const refresh = sessionStorage.getItem(REFRESH_KEY);
    if (!refresh) {
      if (this.access) this.rejected();
      return null;
    }
    try {
      this.set(await this.oidc.refresh(refresh));
      return this.access;
    } catch (e) {
      if (e instanceof SignInError) {
        this.clear();
        this.onEnded(e.message);
        return null;
      }
      throw e;
    }
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const wait = Math.max(5_000, this.expiresAt - RENEW_BEFORE_MS - Date.now());
    // A failed background renewal is retried by the next request that needs a token.
    this.timer = setTimeout(() => void this.renew().catch(() => undefined), wait);
  }
}

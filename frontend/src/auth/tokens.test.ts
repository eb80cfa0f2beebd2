// @vitest-environment jsdom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SignInError, type OidcClient, type TokenSet } from './oidc';
import { TokenKeeper } from './tokens';

const MINUTE = 60_000;

function tokens(n: number, lifetimeMs = 15 * MINUTE): TokenSet {
  return { accessToken: `access-${n}`, expiresAt: Date.now() + lifetimeMs, idToken: `id-${n}`, refreshToken: `refresh-${n}` };
}

/** An issuer that rotates refresh tokens and accepts each one once. */
function issuer() {
  let issued = 1;
  const used = new Set<string>();
  const refresh = vi.fn(async (presented: string) => {
    if (used.has(presented)) throw new SignInError('Your session has ended. Please sign in again.');
    used.add(presented);
    issued += 1;
    return tokens(issued);
  });
  return { client: { refresh } as unknown as OidcClient, refresh };
}

describe('TokenKeeper', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    sessionStorage.clear();
  });
  afterEach(() => vi.useRealTimers());

  it('renews the access token a minute before it expires, without a request asking', async () => {
    const { client, refresh } = issuer();
    const keeper = new TokenKeeper(client, () => undefined);
    keeper.set(tokens(1));
    await vi.advanceTimersByTimeAsync(13 * MINUTE);
    expect(refresh).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1 * MINUTE + 1_000);
    expect(refresh).toHaveBeenCalledWith('refresh-1');
    expect(await keeper.token(false)).toBe('access-2');
    // And again for the renewed token.
    await vi.advanceTimersByTimeAsync(14 * MINUTE + 1_000);
    expect(refresh).toHaveBeenLastCalledWith('refresh-2');
  });

  it('sends one refresh for requests that need a fresh token at once', async () => {
    const { client, refresh } = issuer();
    const keeper = new TokenKeeper(client, () => undefined);
    keeper.set(tokens(1));
    const fresh = await Promise.all([keeper.token(true), keeper.token(true), keeper.token(true)]);
    expect(fresh).toEqual(['access-2', 'access-2', 'access-2']);
    expect(refresh).toHaveBeenCalledTimes(1);
  });

  it('keeps the refresh token for a reload of the tab, never the access token', () => {
    const { client } = issuer();
    new TokenKeeper(client, () => undefined).set(tokens(1));
    expect(sessionStorage.getItem('ferry.refresh_token')).toBe('refresh-1');
    const stored = Array.from({ length: sessionStorage.length }, (_, i) => sessionStorage.getItem(sessionStorage.key(i)!));
    expect(stored).toContain('refresh-1');
    expect(stored).not.toContain('access-1');
    expect(new TokenKeeper(client, () => undefined).hasSession()).toBe(true);
  });

  it('ends the session in words when the issuer refuses the refresh', async () => {
    const { client } = issuer();
    const ended = vi.fn();
    const keeper = new TokenKeeper(client, ended);
    keeper.set(tokens(1));
    await keeper.token(true);
    sessionStorage.setItem('ferry.refresh_token', 'refresh-1'); // a token already used
    expect(await keeper.token(true)).toBeNull();
    expect(ended).toHaveBeenCalledWith('Your session has ended. Please sign in again.');
    expect(keeper.hasSession()).toBe(false);
  });
});

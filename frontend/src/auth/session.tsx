// The signed-in user, the API client that carries their token, and sign-in / sign-out.

import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiClient } from '../api/client';
import { getMe } from '../api/ferry';
import { describeError } from '../api/problems';
import type { Me } from '../api/types';
import type { Config } from '../config';
import { OidcClient, SignInError } from './oidc';
import { TokenKeeper } from './tokens';

export type SessionState =
  | { kind: 'loading' }
  | { kind: 'signed-out'; notice: string | null }
  | { kind: 'unavailable'; message: string }
  | { kind: 'signed-in'; me: Me };

export interface Session {
  config: Config;
  state: SessionState;
  /** The API client with the signed-in user's token. */
  api: ApiClient;
  signIn(returnTo?: string): Promise<void>;
  signOut(): Promise<void>;
  /** Ends the code flow at /auth/callback; resolves with the path to go back to. */
  finishSignIn(url: URL): Promise<string>;
  retry(): void;
}

// Exported so that tests can render a page with a session of their own.
export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The signed-in user, or null. */
export function useMe(): Me | null {
  const { state } = useSession();
  return state.kind === 'signed-in' ? state.me : null;
}

export const hasRole = (me: Me | null, role: 'admin' | 'member') => !!me && me.roles.includes(role);

const currentPath = () => window.location.pathname + window.location.search;

export function SessionProvider({ config, children }: { config: Config; children: ComponentChildren }) {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);

  const { oidc, keeper, api } = useMemo(() => {
    const oidc = new OidcClient(config.oidc);
    const keeper = new TokenKeeper(oidc, (notice) => setState({ kind: 'signed-out', notice }));
    return { oidc, keeper, api: new ApiClient(config.api_url, keeper) };
  }, [config]);

  const loadMe = useCallback(async () => {
    const me = await getMe(api);
    setState({ kind: 'signed-in', me });
  }, [api]);

  // Resume the tab's session after a reload (the callback page finishes its own sign-in).
  useEffect(() => {
    if (window.location.pathname.startsWith('/auth/callback')) return;
    if (!keeper.hasSession()) {
      setState({ kind: 'signed-out', notice: null });
      return;
    }
    keeper
      .renew()
      .then((token) => (token ? loadMe() : undefined))
      .catch((e) => {
        if (e instanceof SignInError) setState({ kind: 'signed-out', notice: e.message });
        else setState({ kind: 'unavailable', message: describeError(e) });
      });
  }, [keeper, loadMe, attempt]);

  const value = useMemo<Session>(
    () => ({
      config,
      state,
      api,
      signIn: async (returnTo = currentPath()) => {
        try {
          await oidc.beginSignIn(returnTo);
        } catch (e) {
          setState({ kind: 'unavailable', message: describeError(e) });
        }
      },
      signOut: async () => {
        const url = await oidc.signOutUrl(keeper.idToken());
        keeper.clear();
        // Everything this tab kept (recipient access, upload resume points) goes too.
        sessionStorage.clear();
        setState({ kind: 'signed-out', notice: null });
        window.location.assign(url ?? '/');
      },
      finishSignIn: async (url: URL) => {
        const { tokens, returnTo } = await oidc.finishSignIn(url);
        keeper.set(tokens);
        await loadMe();
        return returnTo;
      },
      retry: () => {
        setState({ kind: 'loading' });
        setAttempt((n) => n + 1);
      },
    }),
    [config, state, api, oidc, keeper, loadMe],
  );

  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

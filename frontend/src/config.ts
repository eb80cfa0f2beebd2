// Runtime configuration, read from /config.json at start so one build serves every deployment.

export interface OidcConfig {
  issuer: string;
  client_id: string;
  scope: string;
  /** Where a user turns on two-factor sign-in; null when the provider has no such page. */
  account_url: string | null;
  /** Overrides the discovery's end_session_endpoint (Cognito publishes none). */
  logout_url: string | null;
}

export interface Config {
  /** The API's origin (may differ from the portal's), without a trailing slash. */
  api_url: string;
  oidc: OidcConfig;
  /** The local mail outbox, shown as a link when present (ferry-local only). */
  dev_mail_url: string | null;
}

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || !v.trim()) throw new Error(`config.json: ${name} is missing`);
  return v.trim();
};

const optionalStr = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);

/** Checks the shape of config.json; the portal cannot work without the API and the issuer. */
export function parseConfig(raw: unknown): Config {
  if (!raw || typeof raw !== 'object') throw new Error('config.json is not an object');
  const r = raw as Record<string, unknown>;
  const oidc = (r.oidc ?? {}) as Record<string, unknown>;
  const api = str(r.api_url, 'api_url').replace(/\/+$/, '');
  return {
    api_url: new URL(api, window.location.origin).href.replace(/\/+$/, ''),
    oidc: {
      issuer: str(oidc.issuer, 'oidc.issuer'),
      client_id: str(oidc.client_id, 'oidc.client_id'),
      scope: optionalStr(oidc.scope) ?? 'openid email profile',
      account_url: optionalStr(oidc.account_url),
      logout_url: optionalStr(oidc.logout_url),
    },
    dev_mail_url: optionalStr(r.dev_mail_url),
  };
}

export async function loadConfig(): Promise<Config> {
  const response = await fetch('/config.json', { cache: 'no-store', credentials: 'omit' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  return parseConfig(await response.json());
}

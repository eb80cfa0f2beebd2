// A small fetch wrapper for the API: absolute URLs from the configured API origin, the bearer
// token, JSON in and out, and errors as ApiError / NetworkError.

import { ApiError, NetworkError, isAbort, problemFromBody } from './problems';

/** Where the bearer token comes from: the signed-in session, or a recipient's access grant. */
export interface TokenSource {
  /** The current token; `fresh` asks for a new one (after a 401). Null: no token. */
  token(fresh: boolean): Promise<string | null>;
  /** Called when the API refused the token even after a fresh one was tried. */
  rejected(): void;
}

export interface RequestOptions {
  body?: unknown;
  signal?: AbortSignal;
  /** Sent as `Accept`; the content route answers JSON instead of a redirect with it. */
  accept?: string;
  /** Query parameters; empty values are left out. */
  query?: Record<string, string | number | undefined>;
  /** Whether to send the token (the access-code routes take none). */
  auth?: boolean;
}

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly tokens: TokenSource | null,
  ) {}

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(`${this.baseUrl}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
    }
    return u.href;
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth !== false && this.tokens !== null;
    let response = await this.send(method, path, options, auth ? await this.tokens!.token(false) : null);
    if (response.status === 401 && auth) {
      // The token may have expired a moment ago: try once more with a fresh one.
      const fresh = await this.tokens!.token(true);
      if (fresh) response = await this.send(method, path, options, fresh);
      if (response.status === 401) this.tokens!.rejected();
    }
    return this.read<T>(response);
  }

  get<T>(path: string, options?: RequestOptions) {
    return this.request<T>('GET', path, options);
  }

  post<T>(path: string, body?: unknown, options?: RequestOptions) {
    return this.request<T>('POST', path, { ...options, body });
  }

  private async send(method: string, path: string, o: RequestOptions, token: string | null): Promise<Response> {
    const headers: Record<string, string> = { Accept: o.accept ?? 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      return await fetch(this.url(path, o.query), {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
        signal: o.signal,
        // Bearer tokens only: no cookies go to the API, wherever it is.
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (e) {
      if (isAbort(e)) throw e;
      throw new NetworkError();
    }
  }

  private async read<T>(response: Response): Promise<T> {
    const text = await response.text().catch(() => '');
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    if (!response.ok) throw problemFromBody(response.status, body, response.headers.get('Retry-After'));
    if (body !== undefined && typeof body !== 'object') {
      throw new ApiError(response.status, '', 'Ferry answered something unexpected.');
    }
    return body as T;
  }
}

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiClient, type TokenSource } from './client';
import { ApiError, NetworkError } from './problems';

const json = (status: number, body: unknown, type = 'application/json') =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type } });

function tokens(): TokenSource & { fresh: number; rejections: number } {
  const t = {
    fresh: 0,
    rejections: 0,
    token: async (fresh: boolean) => {
      if (fresh) t.fresh++;
      return fresh ? 'new-token' : 'old-token';
    },
    rejected: () => void t.rejections++,
  };
  return t;
}

afterEach(() => vi.unstubAllGlobals());

describe('ApiClient', () => {
  it('sends the bearer token to the absolute API URL and reads JSON', async () => {
    const fetch = vi.fn(async () => json(200, { id: 'me' }));
    vi.stubGlobal('fetch', fetch);
    const api = new ApiClient('https://api.example.org', tokens());
    expect(await api.get('/api/v1/me', { query: { box: 'sent', empty: '' } })).toEqual({ id: 'me' });
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('https://api.example.org/api/v1/me?box=sent');
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer old-token');
    expect(init.credentials).toBe('omit');
  });

  it('retries a 401 once with a fresh token, then gives up and says so', async () => {
    const problem = { type: 'urn:ferry:problem:unauthenticated', title: 'Unauthorized', status: 401, detail: 'expired' };
    const fetch = vi.fn(async () => json(401, problem, 'application/problem+json'));
    vi.stubGlobal('fetch', fetch);
    const t = tokens();
    await expect(new ApiClient('https://api.example.org', t).get('/api/v1/me')).rejects.toBeInstanceOf(ApiError);
    expect(fetch).toHaveBeenCalledTimes(2);
    expect(t.fresh).toBe(1);
    expect(t.rejections).toBe(1);
  });

  it('turns a failed fetch into a NetworkError and keeps Retry-After', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(new ApiClient('https://api.example.org', null).get('/x')).rejects.toBeInstanceOf(NetworkError);
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('{"type":"urn:ferry:problem:too-many-requests","status":429,"detail":"slow down"}', { status: 429, headers: { 'Retry-After': '60' } })),
    );
    const e = (await new ApiClient('https://api.example.org', null).post('/x', {}).catch((x: unknown) => x)) as ApiError;
    expect(e).toBeInstanceOf(ApiError);
    expect(e.retryAfter).toBe(60);
  });
});

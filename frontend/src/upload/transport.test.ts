import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransportNetworkError } from './errors';
import { XhrTransport } from './transport';

/** Just enough of XMLHttpRequest to watch what the transport does with it. */
class FakeXhr {
  static last: FakeXhr | undefined;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  status = 0;
  responseHeaders: Record<string, string> = {};
  aborted = false;
  upload: { onprogress: ((event: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  onprogress: (() => void) | null = null;
  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  send(body: unknown) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
  }
  getResponseHeader(name: string) {
    return this.responseHeaders[name.toLowerCase()] ?? null;
  }
  answer(status: number, headers: Record<string, string> = {}) {
    this.status = status;
    this.responseHeaders = headers;
    this.onload?.();
  }
}

describe('XhrTransport', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('sends every header and the body, reports progress and reads the ETag', async () => {
    const progress: number[] = [];
    const body = new Blob(['hello']);
    const sending = new XhrTransport().send({
      method: 'PUT',
      url: 'https://storage.test/part?sig=1',
      headers: { 'Content-MD5': 'XUFAKrxLKna5cZ2REBfFkg==', 'x-amz-date': 'now', 'Content-Length': '5' },
      body,
      onUploadProgress: (sent) => progress.push(sent),
    });
    const xhr = FakeXhr.last!;
    expect([xhr.method, xhr.url, xhr.body]).toEqual(['PUT', 'https://storage.test/part?sig=1', body]);
    // Content-Length is the browser's to set (it refuses scripts that try).
    expect(xhr.headers).toEqual({ 'Content-MD5': 'XUFAKrxLKna5cZ2REBfFkg==', 'x-amz-date': 'now' });
    xhr.upload.onprogress?.({ loaded: 2 });
    xhr.upload.onprogress?.({ loaded: 5 });
    xhr.answer(200, { etag: '"abc"' });
    await expect(sending).resolves.toEqual({ status: 200, etag: '"abc"' });
    expect(progress).toEqual([2, 5]);
  });

  it('resolves error statuses and rejects network failures', async () => {
    const transport = new XhrTransport();
    const request = { method: 'PUT' as const, url: 'https://s/x', headers: {}, body: new Blob([]) };
    const refused = transport.send(request);
    FakeXhr.last!.answer(403);
    await expect(refused).resolves.toEqual({ status: 403, etag: null });

    const failed = transport.send(request);
    FakeXhr.last!.onerror?.();
    await expect(failed).rejects.toBeInstanceOf(TransportNetworkError);
  });

  it('aborts the request when the signal aborts', async () => {
    const controller = new AbortController();
    const sending = new XhrTransport().send({
      method: 'PUT',
      url: 'https://s/x',
      headers: {},
      body: new Blob(['x']),
      signal: controller.signal,
    });
    controller.abort();
    await expect(sending).rejects.toMatchObject({ name: 'AbortError' });
    expect(FakeXhr.last!.aborted).toBe(true);
  });

  it('gives up on a request where nothing moves', async () => {
    const sending = new XhrTransport({ stallTimeoutMs: 1_000 }).send({
      method: 'PUT',
      url: 'https://s/x',
      headers: {},
      body: new Blob(['x']),
    });
    const settled = expect(sending).rejects.toBeInstanceOf(TransportNetworkError);
    await vi.advanceTimersByTimeAsync(900);
    FakeXhr.last!.upload.onprogress?.({ loaded: 1 }); // progress restarts the watch
    await vi.advanceTimersByTimeAsync(900);
    expect(FakeXhr.last!.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    await settled;
    expect(FakeXhr.last!.aborted).toBe(true);
  });
});

// Sending bytes to storage. XMLHttpRequest, because fetch reports no upload progress; behind an
// interface so tests can stand in for storage.

import { TransportNetworkError, abortReason } from './errors';

export interface TransportRequest {
  method: 'PUT';
  url: string;
  /** Sent exactly as given: the signature covers them. */
  headers: Record<string, string>;
  /** A Blob slice is read from disk by the browser as it goes, never held in memory. */
  body: Blob | Uint8Array<ArrayBuffer>;
  signal?: AbortSignal;
  /** Bytes of the body sent so far. */
  onUploadProgress?: (sentBytes: number) => void;
}

export interface TransportResponse {
  status: number;
  /** The `ETag` response header as received, quotes included; null when absent or hidden by CORS. */
  etag: string | null;
}

/**
 * Resolves with any HTTP answer (also 4xx and 5xx); rejects with a TransportNetworkError when no
 * answer came, or with the abort reason when `signal` aborts.
 */
export interface Transport {
  send(request: TransportRequest): Promise<TransportResponse>;
}

export interface XhrTransportOptions {
  /**
   * Give up on a request when nothing moved for this long: a connection that died without
   * closing would otherwise hold its slot forever. The retry logic then sends it again.
   */
  stallTimeoutMs?: number;
}

// The browser sets these itself from the body and the URL, and refuses to let scripts set them.
const SET_BY_BROWSER = new Set(['content-length', 'host', 'connection']);

export class XhrTransport implements Transport {
  private readonly stallTimeoutMs: number;

  constructor(options: XhrTransportOptions = {}) {
    this.stallTimeoutMs = options.stallTimeoutMs ?? 90_000;
  }

  send(request: TransportRequest): Promise<TransportResponse> {
    const { signal } = request;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const xhr = new XMLHttpRequest();
      let stallTimer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;

      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(stallTimer);
        signal?.removeEventListener('abort', onAbort);
        outcome();
      };
      const watchForStall = () => {
        clearTimeout(stallTimer);
        stallTimer = setTimeout(() => {
          settle(() => reject(new TransportNetworkError('the connection stalled')));
          xhr.abort();
        }, this.stallTimeoutMs);
      };
      const onAbort = () => {
        settle(() => reject(abortReason(signal)));
        xhr.abort();
      };

      xhr.open(request.method, request.url);
      for (const [name, value] of Object.entries(request.headers)) {
        if (!SET_BY_BROWSER.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
      }
      xhr.upload.onprogress = (event) => {
        watchForStall();
        request.onUploadProgress?.(event.loaded);
      };
      xhr.onprogress = watchForStall;
      xhr.onload = () =>
        settle(() => resolve({ status: xhr.status, etag: xhr.getResponseHeader('ETag') }));
      xhr.onerror = () => settle(() => reject(new TransportNetworkError('the request got no answer')));
      xhr.ontimeout = xhr.onerror;
      signal?.addEventListener('abort', onAbort, { once: true });
      watchForStall();
      xhr.send(request.body);
    });
  }
}

export function defaultTransport(): Transport {
  return new XhrTransport();
}

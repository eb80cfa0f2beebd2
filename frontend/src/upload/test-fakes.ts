// Stand-ins for the API, storage and the browser's network state, shared by the unit tests.

import { createMD5 } from 'hash-wasm';
import { base64OfBytes } from './hashing';
import type { OnlineSignal } from './network';
import type { Transport, TransportRequest, TransportResponse } from './transport';
import type { SignedPart, SpeedTestPlan, UploadApi } from './types';

export interface RecordedPut {
  url: string;
  headers: Record<string, string>;
  size: number;
  /** The body's bytes, read when the request arrived. */
  body: Uint8Array;
}

export type PutHandler = (put: RecordedPut, request: TransportRequest) => TransportResponse | Promise<TransportResponse>;

const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function md5Base64(bytes: Uint8Array): Promise<string> {
  return base64OfBytes((await createMD5()).init().update(bytes).digest('binary'));
}

/**
 * Storage that answers 200 with an ETag derived from the URL's path, unless told otherwise; like
 * S3, it answers 400 to a body that does not match its Content-MD5.
 */
export class FakeStorage implements Transport {
  readonly puts: RecordedPut[] = [];
  inFlight = 0;
  maxInFlight = 0;
  aborted = 0;
  /** Extra delay before each answer, so requests overlap. */
  delayMs = 0;
  handler: PutHandler = (put) => ({ status: 200, etag: etagFor(put.url) });

  async send(request: TransportRequest): Promise<TransportResponse> {
    const { signal } = request;
    if (signal?.aborted) throw signal.reason;
    const body =
      request.body instanceof Blob ? new Uint8Array(await request.body.arrayBuffer()) : request.body.slice();
    const put: RecordedPut = { url: request.url, headers: { ...request.headers }, size: body.length, body };
    this.puts.push(put);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await new Promise<TransportResponse>((resolve, reject) => {
        const onAbort = () => {
          this.aborted += 1;
          reject(signal?.reason ?? new DOMException('aborted', 'AbortError'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        void (async () => {
          request.onUploadProgress?.(Math.floor(body.length / 2));
          await tick();
          if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
          if (signal?.aborted) return;
          try {
            const declaredMd5 = put.headers['Content-MD5'];
            const response =
              declaredMd5 !== undefined && declaredMd5 !== (await md5Base64(body))
                ? { status: 400, etag: null }
                : await this.handler(put, request);
            if (signal?.aborted) return;
            if (response.status >= 200 && response.status < 300) request.onUploadProgress?.(body.length);
            signal?.removeEventListener('abort', onAbort);
            resolve(response);
          } catch (error) {
            signal?.removeEventListener('abort', onAbort);
            reject(error);
          }
        })();
      });
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Part numbers (or 1 for a single PUT) sent for a document, in the order they arrived. */
  partsSent(documentId: string): number[] {
    return this.puts.filter((put) => put.url.includes(`/${documentId}/`)).map((put) => partNumberOf(put.url));
  }
}

export function etagFor(url: string): string {
  return `"etag-${new URL(url).pathname.split('/').slice(-2).join('-')}"`;
}

export function partNumberOf(url: string): number {
  return Number(new URL(url).pathname.split('/').pop());
}

export class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

export interface SignCall {
  documentId: string;
  parts: { number: number; md5: string }[];
}

export interface CompleteCall {
  transferId: string;
  documentId: string;
  parts: { number: number; etag: string }[];
  md5: string;
}

/** The API: signs parts with URLs to FakeStorage (a new signature each time) and records calls. */
export class FakeApi implements UploadApi {
  readonly signCalls: SignCall[] = [];
  readonly completeCalls: CompleteCall[] = [];
  signatures = 0;
  speedTestPlan: SpeedTestPlan = { probes: [] };
  /** Throw from `complete` to simulate its failures. */
  completeFailure: ((call: CompleteCall) => Error | undefined) | undefined;

  async signParts(
    transferId: string,
    documentId: string,
    parts: { number: number; md5: string }[],
  ): Promise<SignedPart[]> {
    await tick();
    this.signCalls.push({ documentId, parts: parts.map((part) => ({ ...part })) });
    return parts.map((part) => ({
      number: part.number,
      method: 'PUT',
      url: `https://storage.test/${transferId}/${documentId}/${part.number}?sig=${++this.signatures}`,
      headers: { 'Content-MD5': part.md5, 'x-amz-test': 'signed' },
    }));
  }

  async complete(
    transferId: string,
    documentId: string,
    parts: { number: number; etag: string }[],
    md5: string,
  ): Promise<void> {
    await tick();
    const call = { transferId, documentId, parts: parts.map((part) => ({ ...part })), md5 };
    this.completeCalls.push(call);
    const failure = this.completeFailure?.(call);
    if (failure) throw failure;
  }

  async speedTest(): Promise<SpeedTestPlan> {
    return this.speedTestPlan;
  }

  signedNumbers(documentId: string): number[] {
    return this.signCalls.filter((call) => call.documentId === documentId).flatMap((call) => call.parts.map((p) => p.number));
  }
}

/** The browser's online state, switched by the test. */
export class FakeOnline implements OnlineSignal {
  private listeners = new Set<() => void>();
  constructor(private online = true) {}
  isOnline(): boolean {
    return this.online;
  }
  onOnline(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  set(online: boolean): void {
    this.online = online;
    if (online) for (const listener of [...this.listeners]) listener();
  }
  get listenerCount(): number {
    return this.listeners.size;
  }
}

// Whether the browser believes it is online, and abortable waits.

import { abortReason } from './errors';

export interface OnlineSignal {
  isOnline(): boolean;
  /** Calls `listener` each time the browser comes back online; returns the unsubscribe function. */
  onOnline(listener: () => void): () => void;
}

/** `navigator.onLine` and the window's `online` event; always online where neither exists. */
export function browserOnlineSignal(): OnlineSignal {
  return {
    isOnline: () => typeof navigator === 'undefined' || navigator.onLine !== false,
    onOnline(listener) {
      if (typeof globalThis.addEventListener !== 'function') return () => {};
      globalThis.addEventListener('online', listener);
      return () => globalThis.removeEventListener('online', listener);
    },
  };
}

/** A promise that settles after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return waitFor(ms, undefined, signal);
}

/**
 * Waits until the browser reports it is back online, but at most `maxMs`: the `online` event is
 * not reliable everywhere, and a false "offline" must not stop an upload for good.
 */
export function waitForOnline(online: OnlineSignal, maxMs: number, signal?: AbortSignal): Promise<void> {
  return waitFor(maxMs, online, signal);
}

function waitFor(ms: number, online: OnlineSignal | undefined, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = () => finish(() => reject(abortReason(signal)));
    const timer = setTimeout(() => finish(resolve), Math.max(0, ms));
    const unsubscribe = online ? online.onOnline(() => finish(resolve)) : () => {};
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

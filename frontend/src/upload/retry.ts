// Retrying a request: exponential backoff with full jitter for failures that may pass, and
// patient waiting, without using up attempts, while the network is gone.

import { isAbortError, retryAfterMsOf, throwIfAborted } from './errors';
import { browserOnlineSignal, sleep, waitForOnline, type OnlineSignal } from './network';

/**
 * - `fatal`: retrying cannot help; the error is thrown at once.
 * - `retry`: may pass on its own (5xx, 429); uses an attempt and waits with backoff.
 * - `network`: no answer came; waits for the network and does not use an attempt.
 * - `again`: the operation fixed the cause itself (e.g. re-signed an expired URL); retried at
 *   once without using an attempt, unless it keeps happening.
 */
export type FailureKind = 'fatal' | 'retry' | 'network' | 'again';

export interface RetryPolicy {
  /** Tries of one request, the first one included, counting only `retry` failures. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Longest pause between tries while the network is gone (the `online` event may come first). */
  networkWaitMaxMs: number;
  /**
   * How long to keep trying while the browser says it is online but no answer comes (a dead
   * Wi-Fi uplink, a blocked host). While the browser says it is offline there is no limit.
   */
  networkPatienceMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 1_000,
  maxDelayMs: 30_000,
  networkWaitMaxMs: 15_000,
  networkPatienceMs: 10 * 60_000,
};

/** The longest `Retry-After` obeyed; a longer one is more likely a mistake than a plan. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;

/** Consecutive `again` failures are treated as `retry` past this count, so they cannot loop. */
const MAX_CONSECUTIVE_AGAIN = 3;

export interface RetryOptions {
  classify: (error: unknown) => FailureKind;
  policy?: Partial<RetryPolicy>;
  signal?: AbortSignal;
  online?: OnlineSignal;
  /**
   * Told `true` when the request starts waiting for the network, `false` once it got an answer
   * again (or ended): the tries in between do not make it flicker back.
   */
  onNetworkWait?: (waiting: boolean) => void;
  random?: () => number;
}

/**
 * Full jitter: a random delay between 0 and the exponential bound, so many clients that failed
 * together do not come back together. `failures` counts from 1.
 */
export function backoffDelay(
  failures: number,
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'> = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, failures - 1);
  const bound = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(exponent, 30));
  return Math.floor(random() * bound);
}

export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.policy };
  const { signal, classify } = options;
  const online = options.online ?? browserOnlineSignal();
  const random = options.random ?? Math.random;

  let waitingForNetwork = false;
  const setWaitingForNetwork = (waiting: boolean) => {
    if (waiting === waitingForNetwork) return;
    waitingForNetwork = waiting;
    options.onNetworkWait?.(waiting);
  };
  /** Returns how long it waited. */
  const waitForNetwork = async (maxMs: number): Promise<number> => {
    setWaitingForNetwork(true);
    const started = Date.now();
    await waitForOnline(online, maxMs, signal);
    return Date.now() - started;
  };

  let attempt = 1;
  let consecutiveAgain = 0;
  let networkFailures = 0;
  let networkWaitedMs = 0;
  try {
    for (;;) {
      throwIfAborted(signal);
      if (!online.isOnline()) {
        // The browser says offline: sending now would only fail; this wait has no limit.
        networkWaitedMs = 0;
        await waitForNetwork(policy.networkWaitMaxMs);
      }
      try {
        const result = await operation(attempt);
        setWaitingForNetwork(false);
        return result;
      } catch (error) {
        if (signal?.aborted || isAbortError(error)) throw error;
        let kind = classify(error);
        if (kind === 'again') {
          consecutiveAgain += 1;
          if (consecutiveAgain <= MAX_CONSECUTIVE_AGAIN) continue;
          kind = 'retry';
        }
        consecutiveAgain = 0;
        if (kind !== 'network') setWaitingForNetwork(false);
        if (kind === 'fatal') throw error;
        if (kind === 'network') {
          networkFailures += 1;
          if (!online.isOnline()) continue; // waited for at the top of the loop
          if (networkWaitedMs >= policy.networkPatienceMs) throw error;
          const delay = Math.max(
            Math.min(policy.baseDelayMs, policy.networkWaitMaxMs),
            backoffDelay(networkFailures, { ...policy, maxDelayMs: policy.networkWaitMaxMs }, random),
          );
          networkWaitedMs += await waitForNetwork(delay);
          continue;
        }
        networkFailures = 0;
        networkWaitedMs = 0;
        if (attempt >= policy.maxAttempts) throw error;
        // A server that said when to come back (429, 503) is believed, within reason.
        const askedMs = Math.min(retryAfterMsOf(error) ?? 0, MAX_RETRY_AFTER_MS);
        await sleep(Math.max(askedMs, backoffDelay(attempt, policy, random)), signal);
        attempt += 1;
      }
    }
  } finally {
    setWaitingForNetwork(false);
  }
}

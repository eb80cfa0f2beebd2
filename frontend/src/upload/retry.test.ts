import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransportNetworkError, httpStatusOf, isNetworkError, isRetriableStatus } from './errors';
import { DEFAULT_RETRY_POLICY, backoffDelay, withRetry, type FailureKind } from './retry';
import { FakeOnline, HttpError } from './test-fakes';

function classify(error: unknown): FailureKind {
  if (isNetworkError(error)) return 'network';
  const status = httpStatusOf(error);
  return status !== undefined && isRetriableStatus(status) ? 'retry' : 'fatal';
}

const policy = { maxAttempts: 3, baseDelayMs: 1_000, maxDelayMs: 8_000, networkWaitMaxMs: 5_000 };

describe('backoffDelay', () => {
  it('stays between 0 and the exponential bound, capped', () => {
    const bound = (failures: number) => Math.min(8_000, 1_000 * 2 ** (failures - 1));
    for (let failures = 1; failures <= 12; failures += 1) {
      expect(backoffDelay(failures, policy, () => 0)).toBe(0);
      const highest = backoffDelay(failures, policy, () => 0.999_999);
      expect(highest).toBeLessThan(bound(failures));
      expect(highest).toBeGreaterThanOrEqual(bound(failures) - 1);
    }
    for (let i = 0; i < 1_000; i += 1) {
      const delay = backoffDelay(50, DEFAULT_RETRY_POLICY);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThan(DEFAULT_RETRY_POLICY.maxDelayMs);
    }
  });

  it('grows with the failures (full jitter at a fixed draw)', () => {
    const half = () => 0.5;
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, half))).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
  });
});

describe('withRetry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('does not retry a 400', async () => {
    const operation = vi.fn(async () => {
      throw new HttpError(400);
    });
    await expect(withRetry(operation, { classify, policy, online: new FakeOnline() })).rejects.toMatchObject({
      status: 400,
    });
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('retries a 503 after a backoff', async () => {
    let calls = 0;
    const result = withRetry(
      async () => {
        calls += 1;
        if (calls < 3) throw new HttpError(503);
        return 'stored';
      },
      { classify, policy, online: new FakeOnline(), random: () => 0.5 },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(499);
    expect(calls).toBe(1); // first backoff: half of 1 s
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(result).resolves.toBe('stored');
    expect(calls).toBe(3);
  });

  it('waits as long as Retry-After asks', async () => {
    let calls = 0;
    const result = withRetry(
      async () => {
        calls += 1;
        if (calls === 1) throw Object.assign(new HttpError(429), { retryAfter: 20 });
        return 'ok';
      },
      { classify, policy, online: new FakeOnline(), random: () => 0 },
    );
    await vi.advanceTimersByTimeAsync(19_999);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(result).resolves.toBe('ok');
  });

  it("takes an API client's NetworkError and fetch's TypeError for network failures", () => {
    const wrapped = Object.assign(new Error('Could not reach Ferry.'), { name: 'NetworkError' });
    expect(isNetworkError(wrapped)).toBe(true);
    expect(isNetworkError(new TypeError('Failed to fetch'))).toBe(true);
    expect(isNetworkError(new TypeError("Cannot read properties of undefined (reading 'x')"))).toBe(false);
    expect(isNetworkError(new HttpError(503))).toBe(false);
  });

  it('gives up after the last attempt', async () => {
    const operation = vi.fn(async () => {
      throw new HttpError(500);
    });
    const result = withRetry(operation, { classify, policy, online: new FakeOnline() });
    const settled = expect(result).rejects.toMatchObject({ status: 500 });
    await vi.runAllTimersAsync();
    await settled;
    expect(operation).toHaveBeenCalledTimes(policy.maxAttempts);
  });

  it('retries network errors without using attempts', async () => {
    let calls = 0;
    const result = withRetry(
      async (attempt) => {
        calls += 1;
        if (calls <= 10) throw new TransportNetworkError('no answer');
        return attempt;
      },
      { classify, policy, online: new FakeOnline(true) },
    );
    await vi.advanceTimersByTimeAsync(10 * policy.networkWaitMaxMs);
    // Ten network failures with three attempts allowed, and still on the first attempt.
    await expect(result).resolves.toBe(1);
    expect(calls).toBe(11);
  });

  it('waits for the online event while offline, then goes on by itself', async () => {
    const online = new FakeOnline(false);
    const waits: boolean[] = [];
    let calls = 0;
    const result = withRetry(
      async () => {
        calls += 1;
        if (!online.isOnline()) throw new TransportNetworkError('offline');
        return 'sent';
      },
      { classify, policy, online, onNetworkWait: (waiting) => waits.push(waiting) },
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(calls).toBe(0); // offline: not even tried
    expect(waits).toEqual([true]);

    // A two-minute outage: at most one try per capped wait, none of them using an attempt.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(calls).toBeLessThanOrEqual(120_000 / policy.networkWaitMaxMs);
    expect(calls).toBeGreaterThan(policy.maxAttempts);

    const before = calls;
    online.set(true);
    await vi.advanceTimersByTimeAsync(0);
    await expect(result).resolves.toBe('sent');
    expect(calls).toBe(before + 1);
    expect(waits).toEqual([true, false]); // offline throughout, without flickering
    expect(online.listenerCount).toBe(0);
  });

  it('stops waiting at once when aborted', async () => {
    const online = new FakeOnline(false);
    const controller = new AbortController();
    const operation = vi.fn(async () => 'never');
    const result = withRetry(operation, { classify, policy, online, signal: controller.signal });
    const settled = expect(result).rejects.toMatchObject({ name: 'AbortError' });
    await vi.advanceTimersByTimeAsync(1_000);
    controller.abort();
    await settled;
    expect(operation).not.toHaveBeenCalled();
    expect(online.listenerCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stops a backoff wait when aborted', async () => {
    const controller = new AbortController();
    const operation = vi.fn(async () => {
      throw new HttpError(503);
    });
    const result = withRetry(operation, { classify, policy, online: new FakeOnline(), signal: controller.signal });
    const settled = expect(result).rejects.toMatchObject({ name: 'AbortError' });
    await vi.advanceTimersByTimeAsync(0);
    controller.abort();
    await settled;
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('gives up on network errors after its patience while the browser says online', async () => {
    const operation = vi.fn(async () => {
      throw new TransportNetworkError('no answer');
    });
    const result = withRetry(operation, {
      classify,
      policy: { ...policy, networkPatienceMs: 60_000 },
      online: new FakeOnline(true),
    });
    const settled = expect(result).rejects.toBeInstanceOf(TransportNetworkError);
    await vi.advanceTimersByTimeAsync(60_000 + policy.networkWaitMaxMs);
    await settled;
  });

  it('retries an `again` failure at once, but not forever', async () => {
    let calls = 0;
    const result = withRetry(
      async () => {
        calls += 1;
        throw new Error('renewed');
      },
      { classify: () => 'again', policy: { ...policy, maxAttempts: 1 }, online: new FakeOnline() },
    );
    await expect(result).rejects.toThrow('renewed');
    expect(calls).toBe(4);
  });
});

import { describe, expect, it } from 'vitest';
import { measureUploadSpeed } from './speed';
import { FakeApi, FakeStorage, HttpError } from './test-fakes';
import type { SpeedTestPlan } from './types';

const KiB = 1024;
const MiB = 1024 * KiB;

const plan = (...sizes: number[]): SpeedTestPlan => ({
  probes: sizes.map((size, index) => ({
    size,
    method: 'PUT',
    url: `https://storage.test/speed/${index}?sig=x`,
    headers: { 'Content-Type': 'application/octet-stream', 'x-amz-test': 'probe' },
  })),
});

/** A line with a fixed round trip and throughput, on a clock that only moves as probes go. */
function line(latencyMs: number, bytesPerSecond: number) {
  let clock = 0;
  const storage = new FakeStorage();
  storage.handler = (put) => {
    clock += latencyMs + (put.size / bytesPerSecond) * 1000;
    return { status: 200, etag: null };
  };
  return { storage, now: () => clock };
}

describe('measureUploadSpeed', () => {
  it('sends each probe as zero bytes with its headers, and measures from the largest', async () => {
    const api = new FakeApi();
    api.speedTestPlan = plan(256 * KiB, 4 * MiB);
    const { storage, now } = line(20, 6_250_000); // 50 Mbit/s
    const result = await measureUploadSpeed(api, undefined, storage, { now });

    expect(storage.puts.map((put) => put.size)).toEqual([256 * KiB, 4 * MiB]);
    for (const put of storage.puts) {
      expect(put.body.every((byte) => byte === 0)).toBe(true);
      expect(put.headers).toEqual({ 'Content-Type': 'application/octet-stream', 'x-amz-test': 'probe' });
    }
    const secondMs = 20 + (4 * MiB * 1000) / 6_250_000;
    expect(result.bytesPerSecond).toBeCloseTo((4 * MiB) / (secondMs / 1000), 3);
    expect(result.latencyMs).toBeGreaterThan(15);
    expect(result.latencyMs).toBeLessThan(25);
    expect(result.concurrency).toBe(5);
  });

  it('stops after a probe that took 1.5 s or more', async () => {
    const api = new FakeApi();
    api.speedTestPlan = plan(256 * KiB, 4 * MiB, 16 * MiB);
    const { storage, now } = line(100, 125_000); // 1 Mbit/s: the first probe takes 2.2 s
    const result = await measureUploadSpeed(api, undefined, storage, { now });

    expect(storage.puts).toHaveLength(1);
    expect(result.bytesPerSecond).toBeCloseTo((256 * KiB) / ((100 + (256 * KiB * 1000) / 125_000) / 1000), 3);
    expect(result.latencyMs).toBeCloseTo(100 + (256 * KiB * 1000) / 125_000, 6);
    expect(result.concurrency).toBe(2);
  });

  it('runs the next probe only while they stay quick', async () => {
    const api = new FakeApi();
    api.speedTestPlan = plan(256 * KiB, 4 * MiB, 16 * MiB);
    const { storage, now } = line(10, 2_000_000); // the 4 MiB probe takes 2.1 s
    await measureUploadSpeed(api, undefined, storage, { now });
    expect(storage.puts.map((put) => put.size)).toEqual([256 * KiB, 4 * MiB]);
  });

  it('falls back to 3 parts at once when the test cannot run', async () => {
    const unmeasured = { bytesPerSecond: null, latencyMs: null, concurrency: 3 };
    const failingApi = new FakeApi();
    failingApi.speedTest = async () => {
      throw new HttpError(500);
    };
    expect(await measureUploadSpeed(failingApi, undefined, new FakeStorage())).toEqual(unmeasured);

    const api = new FakeApi();
    api.speedTestPlan = plan(256 * KiB, 4 * MiB);
    const refusing = new FakeStorage();
    refusing.handler = () => ({ status: 403, etag: null });
    expect(await measureUploadSpeed(api, undefined, refusing)).toEqual(unmeasured);
  });

  it('keeps the first measurement when a later probe fails', async () => {
    const api = new FakeApi();
    api.speedTestPlan = plan(256 * KiB, 4 * MiB);
    const { storage, now } = line(10, 10_000_000);
    const handler = storage.handler;
    storage.handler = (put, request) => (put.size > 256 * KiB ? { status: 500, etag: null } : handler(put, request));
    const result = await measureUploadSpeed(api, undefined, storage, { now });
    expect(result.bytesPerSecond).toBeCloseTo((256 * KiB) / ((10 + (256 * KiB) / 10_000) / 1000), 3);
  });

  it('gives up on a probe that hangs', async () => {
    const api = new FakeApi();
    api.speedTestPlan = plan(256 * KiB);
    const hanging = new FakeStorage();
    hanging.handler = () => new Promise(() => {});
    const result = await measureUploadSpeed(api, undefined, hanging, { probeTimeoutMs: 20 });
    expect(result.bytesPerSecond).toBeNull();
    expect(hanging.aborted).toBe(1);
  });

  it('rejects when aborted', async () => {
    const api = new FakeApi();
    api.speedTestPlan = plan(256 * KiB);
    const hanging = new FakeStorage();
    hanging.handler = () => new Promise(() => {});
    const controller = new AbortController();
    const measuring = measureUploadSpeed(api, controller.signal, hanging);
    setTimeout(() => controller.abort(), 5);
    await expect(measuring).rejects.toMatchObject({ name: 'AbortError' });
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressTracker } from './progress';
import type { UploadProgress } from './types';

describe('ProgressTracker', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function tracker() {
    const reports: UploadProgress[] = [];
    const progress = new ProgressTracker({ onProgress: (report) => reports.push(report) });
    progress.addFile('a', 10_000_000);
    return { progress, reports };
  }

  it('reports about four times a second, plus every state change', async () => {
    const { progress, reports } = tracker();
    progress.setState('a', 'uploading');
    for (let ms = 0; ms < 1_000; ms += 10) {
      progress.attemptProgress('a', 1, ms * 1_000);
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(reports.length).toBeGreaterThanOrEqual(4);
    expect(reports.length).toBeLessThanOrEqual(6);
    const before = reports.length;
    progress.setState('a', 'failed', 'broken');
    expect(reports).toHaveLength(before + 1);
    expect(reports.at(-1)?.files[0]).toMatchObject({ state: 'failed', error: 'broken' });
    progress.dispose();
  });

  it('smooths the speed over the last seconds and estimates the time left', async () => {
    const { progress, reports } = tracker();
    // 1 MB/s for 10 s, then a 3 s stall.
    for (let second = 1; second <= 10; second += 1) {
      await vi.advanceTimersByTimeAsync(1_000);
      progress.attemptProgress('a', 1, second * 500_000);
      progress.attemptProgress('a', 2, second * 500_000);
    }
    progress.flush();
    const steady = reports.at(-1)!;
    expect(steady.bytesPerSecond).toBeCloseTo(1_000_000, -3);
    expect(steady.secondsLeft).toBeCloseTo(0, 0);
    progress.attemptFailed('a', 2); // half of the bytes are taken back; the speed stays the line's
    await vi.advanceTimersByTimeAsync(3_000);
    progress.flush();
    const stalled = reports.at(-1)!;
    expect(stalled.sentBytes).toBe(5_000_000);
    expect(stalled.bytesPerSecond).toBeCloseTo(400_000, -3); // 2 MB in the last 5 s
    expect(stalled.secondsLeft).toBeCloseTo(12.5, 1);
    progress.dispose();
  });

  it('is offline while any request waits for the network', () => {
    const { progress, reports } = tracker();
    progress.networkWait(true);
    progress.networkWait(true);
    progress.networkWait(false);
    expect(reports.at(-1)?.offline).toBe(true);
    progress.networkWait(false);
    expect(reports.at(-1)?.offline).toBe(false);
    expect(reports).toHaveLength(2); // only the changes
  });
});

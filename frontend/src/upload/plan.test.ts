import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatSpeed } from './format';
import {
  EXPECTED_PART_SIZE,
  FALLBACK_CONCURRENCY,
  chooseConcurrency,
  clampConcurrency,
  estimateSeconds,
  isMultipartPlan,
  partRanges,
} from './plan';

const MiB = 1024 * 1024;
const MBIT = 1_000_000 / 8;

describe('partRanges', () => {
  it('cuts a file into parts of the part size, the last one smaller', () => {
    expect(partRanges(40 * MiB + 3, 16 * MiB)).toEqual([
      { number: 1, start: 0, end: 16 * MiB },
      { number: 2, start: 16 * MiB, end: 32 * MiB },
      { number: 3, start: 32 * MiB, end: 40 * MiB + 3 },
    ]);
  });

  it('has no short last part when the size is a multiple of the part size', () => {
    const ranges = partRanges(32 * MiB, 16 * MiB);
    expect(ranges).toHaveLength(2);
    expect(ranges[1]).toEqual({ number: 2, start: 16 * MiB, end: 32 * MiB });
  });

  it('covers every byte once, in order', () => {
    const ranges = partRanges(10_007, 1_000);
    expect(ranges).toHaveLength(11);
    expect(ranges.at(-1)).toEqual({ number: 11, start: 10_000, end: 10_007 });
    ranges.forEach((range, index) => {
      expect(range.number).toBe(index + 1);
      expect(range.start).toBe(index === 0 ? 0 : ranges[index - 1]!.end);
    });
  });

  it('gives one part to a small file and refuses a bad part size', () => {
    expect(partRanges(5, EXPECTED_PART_SIZE)).toEqual([{ number: 1, start: 0, end: 5 }]);
    expect(() => partRanges(5, 0)).toThrow(RangeError);
  });

  it('tells multipart plans from single PUTs', () => {
    expect(isMultipartPlan({ part_size: 16 * MiB, part_count: 2, expires_at: '' })).toBe(true);
    expect(isMultipartPlan({ method: 'PUT', url: 'https://s/x', headers: {}, expires_at: '' })).toBe(false);
  });
});

describe('chooseConcurrency', () => {
  it('sends more parts at once on faster lines', () => {
    expect(chooseConcurrency(1 * MBIT)).toBe(2);
    expect(chooseConcurrency(5 * MBIT)).toBe(3);
    expect(chooseConcurrency(20 * MBIT)).toBe(4);
    expect(chooseConcurrency(50 * MBIT)).toBe(5);
    expect(chooseConcurrency(1000 * MBIT)).toBe(6);
  });

  it('never leaves 1..6 and falls back to 3 without a measurement', () => {
    expect(chooseConcurrency(null)).toBe(FALLBACK_CONCURRENCY);
    expect(FALLBACK_CONCURRENCY).toBe(3);
    expect(chooseConcurrency(Number.NaN)).toBe(3);
    expect(chooseConcurrency(0)).toBe(2);
    expect(chooseConcurrency(Number.POSITIVE_INFINITY)).toBe(6);
    expect(clampConcurrency(0)).toBe(1);
    expect(clampConcurrency(64)).toBe(6);
    expect(clampConcurrency(2.7)).toBe(2);
  });
});

describe('estimateSeconds', () => {
  it('divides the bytes by the speed', () => {
    expect(estimateSeconds(10_000_000, { bytesPerSecond: 1_000_000, latencyMs: null, concurrency: 3 })).toBe(10);
  });

  it('adds one round trip per wave of parallel parts', () => {
    // 64 MiB in 16 MiB parts, 2 at once: two waves of 100 ms.
    const seconds = estimateSeconds(64 * MiB, { bytesPerSecond: 4 * MiB, latencyMs: 100, concurrency: 2 });
    expect(seconds).toBeCloseTo(16 + 0.2, 6);
  });

  it('is null without a speed and zero for nothing', () => {
    expect(estimateSeconds(1_000, { bytesPerSecond: null, latencyMs: null, concurrency: 3 })).toBeNull();
    expect(estimateSeconds(1_000, { bytesPerSecond: 0, latencyMs: 5, concurrency: 3 })).toBeNull();
    expect(estimateSeconds(0, { bytesPerSecond: 10, latencyMs: 5, concurrency: 3 })).toBe(0);
  });
});

describe('formatting', () => {
  it('formats sizes in decimal units', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1_500)).toBe('1.5 kB');
    expect(formatBytes(1_500_000)).toBe('1.5 MB');
    expect(formatBytes(12_345_678)).toBe('12 MB');
    expect(formatBytes(999_999)).toBe('1 MB');
    expect(formatBytes(5 * 1024 ** 3)).toBe('5.4 GB');
  });

  it('formats durations with their two largest units', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(125)).toBe('2 min 5 s');
    expect(formatDuration(120)).toBe('2 min');
    expect(formatDuration(3_725)).toBe('1 h 2 min');
    expect(formatDuration(90_000)).toBe('1 d 1 h');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('—');
  });

  it('formats speeds in bits per second', () => {
    expect(formatSpeed(1_500_000)).toBe('12 Mbit/s');
    expect(formatSpeed(100_000)).toBe('800 kbit/s');
    expect(formatSpeed(125)).toBe('1 kbit/s');
    expect(formatSpeed(150_000_000)).toBe('1.2 Gbit/s');
    expect(formatSpeed(0)).toBe('0 bit/s');
  });
});

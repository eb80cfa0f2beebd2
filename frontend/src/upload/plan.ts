// How a file is cut into parts, how many parts go at once, and how long it should take.

import type { MultipartUploadPlan, SpeedResult, UploadPlan } from './types';

const MiB = 1024 * 1024;

/** The part size the server plans multipart uploads with; files up to this size get one PUT. */
export const EXPECTED_PART_SIZE = 16 * MiB;

export const MIN_CONCURRENCY = 1;
export const MAX_CONCURRENCY = 6;
/** When the speed could not be measured: enough to fill a typical office line. */
export const FALLBACK_CONCURRENCY = 3;

export interface PartRange {
  /** From 1, as the API numbers parts. */
  number: number;
  start: number;
  end: number;
}

export function isMultipartPlan(plan: UploadPlan): plan is MultipartUploadPlan {
  return 'part_size' in plan;
}

/** Every part is `partSize` bytes but the last, which holds the rest. */
export function partRanges(fileSize: number, partSize: number): PartRange[] {
  if (!Number.isInteger(partSize) || partSize <= 0) {
    throw new RangeError(`part size must be a positive integer, got ${partSize}`);
  }
  const ranges: PartRange[] = [];
  for (let start = 0, number = 1; start < fileSize; start += partSize, number += 1) {
    ranges.push({ number, start, end: Math.min(start + partSize, fileSize) });
  }
  return ranges;
}

export function partCount(fileSize: number, partSize: number): number {
  return Math.ceil(fileSize / partSize);
}

const MBIT = 1_000_000 / 8;

// More parallel parts help on fast lines (one TCP stream rarely fills them) and hurt on slow
// ones, where each part would crawl and risk its signed URL expiring before it is sent.
const CONCURRENCY_BY_SPEED: readonly [belowBytesPerSecond: number, concurrency: number][] = [
  [2 * MBIT, 2],
  [10 * MBIT, 3],
  [25 * MBIT, 4],
  [100 * MBIT, 5],
];

export function chooseConcurrency(bytesPerSecond: number | null): number {
  if (bytesPerSecond === null || Number.isNaN(bytesPerSecond)) return FALLBACK_CONCURRENCY;
  const step = CONCURRENCY_BY_SPEED.find(([below]) => bytesPerSecond < below);
  return clampConcurrency(step ? step[1] : MAX_CONCURRENCY);
}

export function clampConcurrency(concurrency: number): number {
  if (!Number.isFinite(concurrency)) return FALLBACK_CONCURRENCY;
  return Math.min(MAX_CONCURRENCY, Math.max(MIN_CONCURRENCY, Math.floor(concurrency)));
}

/**
 * Expected seconds to send `bytes`: the measured speed, plus one round trip per wave of parallel
 * parts (each part waits for its answer before its slot takes the next). Null without a speed.
 */
export function estimateSeconds(bytes: number, speed: SpeedResult): number | null {
  const { bytesPerSecond, latencyMs, concurrency } = speed;
  if (bytesPerSecond === null || !(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) return null;
  if (!(bytes > 0)) return 0;
  const waves = Math.ceil(partCount(bytes, EXPECTED_PART_SIZE) / clampConcurrency(concurrency));
  const roundTrips = latencyMs !== null && latencyMs > 0 ? (waves * latencyMs) / 1000 : 0;
  return bytes / bytesPerSecond + roundTrips;
}

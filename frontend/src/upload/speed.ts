// A short upload speed test, to choose how many parts to send at once and to estimate durations.

import { abortReason, isAbortError } from './errors';
import { FALLBACK_CONCURRENCY, chooseConcurrency } from './plan';
import { defaultTransport, type Transport } from './transport';
import type { SpeedProbe, SpeedResult, UploadApi } from './types';

/** A probe is only worth following with a larger one when it was this quick. */
export const NEXT_PROBE_BELOW_MS = 1_500;
/** A probe slower than this is abandoned: the line is slow, which is already the answer. */
export const PROBE_TIMEOUT_MS = 20_000;

export const UNMEASURED_SPEED: SpeedResult = {
  bytesPerSecond: null,
  latencyMs: null,
  concurrency: FALLBACK_CONCURRENCY,
};

interface ProbeTiming {
  size: number;
  ms: number;
}

export interface SpeedTestOptions {
  now?: () => number;
  probeTimeoutMs?: number;
}

/**
 * Sends the API's probes in order (the first small, then larger ones while each stays quick).
 * The speed comes from the largest probe sent, the latency from the first. Never fails for want
 * of a measurement: the result then has `bytesPerSecond: null` and a middling concurrency. Only
 * an abort rejects.
 */
export async function measureUploadSpeed(
  api: UploadApi,
  signal?: AbortSignal,
  transport: Transport = defaultTransport(),
  options: SpeedTestOptions = {},
): Promise<SpeedResult> {
  const now = options.now ?? (() => performance.now());
  const timings: ProbeTiming[] = [];
  try {
    const { probes } = await api.speedTest(signal);
    for (const probe of probes) {
      const ms = await timeProbe(probe, transport, now, options.probeTimeoutMs ?? PROBE_TIMEOUT_MS, signal);
      if (ms === null) break;
      timings.push({ size: probe.size, ms });
      if (ms >= NEXT_PROBE_BELOW_MS) break;
    }
  } catch {
    if (signal?.aborted) throw abortReason(signal);
    // The API or the network failed mid-test: what was measured still counts.
  }
  return speedFrom(timings);
}

/** Milliseconds the probe took, or null when storage did not accept it or it took too long. */
async function timeProbe(
  probe: SpeedProbe,
  transport: Transport,
  now: () => number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<number | null> {
  const controller = new AbortController();
  const forwardAbort = () => controller.abort(abortReason(signal));
  signal?.addEventListener('abort', forwardAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new DOMException('probe timed out', 'TimeoutError')), timeoutMs);
  try {
    const started = now();
    const response = await transport.send({
      method: probe.method,
      url: probe.url,
      headers: probe.headers,
      body: new Uint8Array(probe.size),
      signal: controller.signal,
    });
    if (response.status < 200 || response.status >= 300) return null;
    return Math.max(1, now() - started);
  } catch (error) {
    if (signal?.aborted) throw abortReason(signal);
    if (isAbortError(error)) return null;
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', forwardAbort);
  }
}

function speedFrom(timings: ProbeTiming[]): SpeedResult {
  if (timings.length === 0) return UNMEASURED_SPEED;
  const first = timings[0]!;
  const largest = timings.reduce((best, timing) => (timing.size >= best.size ? timing : best));
  const bytesPerSecond = largest.size / (largest.ms / 1000);
  // The first probe's time is one round trip plus its own bytes; with a larger probe measured,
  // its bytes can be taken out to leave the round trip.
  const latencyMs =
    largest === first ? first.ms : Math.max(0, first.ms - (first.size / bytesPerSecond) * 1000);
  return { bytesPerSecond, latencyMs, concurrency: chooseConcurrency(bytesPerSecond) };
}

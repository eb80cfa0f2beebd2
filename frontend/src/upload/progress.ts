// Counting bytes for the pages: per file and in total, a smoothed speed, the time left, and
// whether the upload waits for the network; reported a few times a second at most.

import type { FileProgress, FileUploadState, UploadProgress } from './types';

/** The speed is averaged over this window, so one slow or fast moment does not swing it. */
export const SPEED_WINDOW_MS = 5_000;
/** About four reports a second: smooth for the eye, cheap for the page. */
export const PROGRESS_INTERVAL_MS = 250;
/** Shorter spans give a speed too noisy to show. */
const MIN_SPEED_SPAN_MS = 500;

interface TrackedFile {
  progress: FileProgress;
  /** Bytes of parts (or the whole file) stored for good. */
  storedBytes: number;
  /** Bytes sent so far by each request in flight, by part number (1 for a single PUT). */
  inFlight: Map<number, number>;
}

interface SpeedSample {
  at: number;
  movedBytes: number;
}

export interface ProgressTrackerOptions {
  onProgress: (progress: UploadProgress) => void;
  now?: () => number;
  intervalMs?: number;
}

export class ProgressTracker {
  private readonly files = new Map<string, TrackedFile>();
  private readonly order: string[] = [];
  private readonly now: () => number;
  private readonly intervalMs: number;
  private readonly onProgress: (progress: UploadProgress) => void;
  /** Every byte put on the wire, failed attempts included: the speed is the line's, not the net. */
  private movedBytes = 0;
  private samples: SpeedSample[] = [];
  private networkWaits = 0;
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private pendingReport: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ProgressTrackerOptions) {
    this.onProgress = options.onProgress;
    this.now = options.now ?? Date.now;
    this.intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS;
  }

  addFile(documentId: string, totalBytes: number): void {
    if (this.files.has(documentId)) throw new Error(`document ${documentId} is listed twice`);
    this.order.push(documentId);
    this.files.set(documentId, {
      progress: { documentId, state: 'queued', sentBytes: 0, totalBytes },
      storedBytes: 0,
      inFlight: new Map(),
    });
  }

  /** Parts stored before this run (resumed): they count as sent, not as speed. */
  addStoredBeforehand(documentId: string, bytes: number): void {
    const file = this.file(documentId);
    file.storedBytes += bytes;
    this.refreshSent(file);
  }

  setState(documentId: string, state: FileUploadState, error?: string): void {
    const file = this.file(documentId);
    if (file.progress.state === state && file.progress.error === error) return;
    file.progress = { ...file.progress, state };
    if (error === undefined) delete file.progress.error;
    else file.progress.error = error;
    this.report(true);
  }

  stateOf(documentId: string): FileUploadState {
    return this.file(documentId).progress.state;
  }

  /** `sentBytes` of one request in flight, as its upload progress events tell. */
  attemptProgress(documentId: string, part: number, sentBytes: number): void {
    const file = this.file(documentId);
    const before = file.inFlight.get(part) ?? 0;
    if (sentBytes > before) this.moved(sentBytes - before);
    file.inFlight.set(part, sentBytes);
    this.refreshSent(file);
    this.report(false);
  }

  /** A failed or aborted request: its bytes no longer count as sent. */
  attemptFailed(documentId: string, part: number): void {
    const file = this.file(documentId);
    if (file.inFlight.delete(part)) {
      this.refreshSent(file);
      this.report(false);
    }
  }

  /** A request stored its `bytes` for good. */
  attemptSucceeded(documentId: string, part: number, bytes: number): void {
    const file = this.file(documentId);
    const before = file.inFlight.get(part) ?? 0;
    if (bytes > before) this.moved(bytes - before);
    file.inFlight.delete(part);
    file.storedBytes += bytes;
    this.refreshSent(file);
    this.report(false);
  }

  /** The whole file is stored (also when storage already had it): all its bytes count as sent. */
  fileStored(documentId: string): void {
    const file = this.file(documentId);
    file.inFlight.clear();
    file.storedBytes = file.progress.totalBytes;
    this.refreshSent(file);
  }

  /** Counts requests waiting for the network; the upload is `offline` while any does. */
  networkWait(waiting: boolean): void {
    const wasOffline = this.networkWaits > 0;
    this.networkWaits = Math.max(0, this.networkWaits + (waiting ? 1 : -1));
    if (wasOffline !== this.networkWaits > 0) this.report(true);
  }

  snapshot(): UploadProgress {
    const files = this.order.map((id) => ({ ...this.file(id).progress }));
    const sentBytes = files.reduce((sum, file) => sum + file.sentBytes, 0);
    const totalBytes = files.reduce((sum, file) => sum + file.totalBytes, 0);
    const bytesPerSecond = this.speed();
    const remaining = totalBytes - sentBytes;
    return {
      files,
      sentBytes,
      totalBytes,
      bytesPerSecond,
      secondsLeft: remaining <= 0 ? 0 : bytesPerSecond > 0 ? remaining / bytesPerSecond : null,
      offline: this.networkWaits > 0,
    };
  }

  /** Reports now, whatever the interval: for the very end. */
  flush(): void {
    this.report(true);
  }

  /** Reports unless one went out recently: keeps speed and time left current while bytes stall. */
  tick(): void {
    this.report(false);
  }

  dispose(): void {
    clearTimeout(this.pendingReport);
    this.pendingReport = undefined;
  }

  private report(stateChanged: boolean): void {
    const now = this.now();
    if (!stateChanged && now - this.lastReportAt < this.intervalMs) {
      // Too soon: one report at the end of the interval carries this change and any that follow.
      this.pendingReport ??= setTimeout(() => {
        this.pendingReport = undefined;
        this.report(true);
      }, this.intervalMs - (now - this.lastReportAt));
      return;
    }
    clearTimeout(this.pendingReport);
    this.pendingReport = undefined;
    this.lastReportAt = now;
    this.onProgress(this.snapshot());
  }

  private moved(bytes: number): void {
    this.movedBytes += bytes;
    this.sample();
  }

  private sample(): void {
    const now = this.now();
    const last = this.samples.at(-1);
    if (last && last.at === now) last.movedBytes = this.movedBytes;
    else this.samples.push({ at: now, movedBytes: this.movedBytes });
    // Keep one sample at or before the window's start, so the window is always fully measured.
    while (this.samples.length > 1 && this.samples[1]!.at <= now - SPEED_WINDOW_MS) this.samples.shift();
  }

  private speed(): number {
    const now = this.now();
    this.sample();
    const oldest = this.samples[0]!;
    const spanMs = now - oldest.at;
    if (spanMs < MIN_SPEED_SPAN_MS) return 0;
    return ((this.movedBytes - oldest.movedBytes) * 1000) / spanMs;
  }

  private refreshSent(file: TrackedFile): void {
    let inFlight = 0;
    for (const bytes of file.inFlight.values()) inFlight += bytes;
    file.progress = {
      ...file.progress,
      sentBytes: Math.min(file.progress.totalBytes, file.storedBytes + inFlight),
    };
  }

  private file(documentId: string): TrackedFile {
    const file = this.files.get(documentId);
    if (!file) throw new Error(`unknown document ${documentId}`);
    return file;
  }
}

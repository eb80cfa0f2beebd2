// Sends the files of a transfer straight to storage: single PUTs and multipart parts share one
// pool of parallel slots; parts are signed just in time, retried, remembered for resume, and
// each multipart file is completed once all its parts are stored.

import {
  StorageStatusError,
  UploadFailure,
  abortReason,
  describeFailure,
  httpStatusOf,
  isAbortError,
  isNetworkError,
  isRetriableStatus,
  throwIfAborted,
  type FailedStep,
} from './errors';
import { browserOnlineSignal, type OnlineSignal } from './network';
import { clampConcurrency, isMultipartPlan, partRanges, type PartRange } from './plan';
import { ProgressTracker } from './progress';
import { fileFingerprint, type ResumeEntryStart, type ResumeStore } from './resume';
import { withRetry, type FailureKind, type RetryPolicy } from './retry';
import { PartSigner } from './signer';
import { defaultTransport, type Transport, type TransportResponse } from './transport';
import type {
  FileProgress,
  MultipartUploadPlan,
  SingleUploadPlan,
  UploadApi,
  UploadItem,
  UploadProgress,
} from './types';
import { md5OfBlobInWorker } from './worker-hashing';

export interface UploadOptions {
  api: UploadApi;
  /** Requests to storage at once, across all files; 1 to 6 (see `measureUploadSpeed`). */
  concurrency: number;
  onProgress: (progress: UploadProgress) => void;
  /** Aborting cancels every file not yet done, in-flight requests included. */
  signal?: AbortSignal;
  /** Remembers finished parts so an upload resumes after a reload. */
  resume?: ResumeStore;
  transport?: Transport;
  online?: OnlineSignal;
  retryPolicy?: Partial<RetryPolicy>;
  /** Base64 MD5 of a part whose digest was not computed beforehand; by default in a worker. */
  hashPart?: (part: Blob, signal?: AbortSignal) => Promise<string>;
  now?: () => number;
  progressIntervalMs?: number;
}

/** How often the progress is reported even when no byte moved, so speed and time left decay. */
const HEARTBEAT_MS = 1_000;

/** Storage answers a repeated single PUT this way: the object is already there. */
const ALREADY_STORED = 412;

/** The part's URL was refused and has just been forgotten: sign again and resend at once. */
class PartLinkRenewed extends Error {
  override name = 'PartLinkRenewed';
}

function classifyFailure(error: unknown): FailureKind {
  if (error instanceof PartLinkRenewed) return 'again';
  if (error instanceof UploadFailure) return 'fatal';
  if (isNetworkError(error)) return 'network';
  const status = httpStatusOf(error);
  if (status !== undefined) return isRetriableStatus(status) ? 'retry' : 'fatal';
  return 'retry';
}

/** The API answers 409 when the document's bytes were already received: nothing left to do. */
function isAlreadyReceived(error: unknown): boolean {
  return !(error instanceof StorageStatusError) && httpStatusOf(error) === 409;
}

function isSuccess(response: TransportResponse): boolean {
  return response.status >= 200 && response.status < 300;
}

interface FileJob {
  item: UploadItem;
  /** Aborted when the file fails (its other parts stop) or the whole upload is cancelled. */
  controller: AbortController;
  resumeKey: ResumeEntryStart;
  multipart?: MultipartJob;
}

interface MultipartJob {
  ranges: PartRange[];
  etags: Map<number, string>;
  /** Parts found stored by an earlier run: if storage lost them, completing fails. */
  resumedParts: number;
  signer: PartSigner;
  partMd5: (range: PartRange, signal: AbortSignal) => Promise<string>;
}

type Unit = { job: FileJob; range?: PartRange };

/**
 * Uploads the documents of one transfer. Resolves, never rejects, once every file is done,
 * failed or cancelled, with each file's final progress.
 */
export async function uploadDocuments(items: UploadItem[], options: UploadOptions): Promise<FileProgress[]> {
  const { api, signal, resume } = options;
  const transport = options.transport ?? defaultTransport();
  const online = options.online ?? browserOnlineSignal();
  const hashPart = options.hashPart ?? md5OfBlobInWorker;
  const now = options.now ?? Date.now;
  const concurrency = clampConcurrency(options.concurrency);
  const tracker = new ProgressTracker({
    onProgress: options.onProgress,
    now,
    ...(options.progressIntervalMs === undefined ? {} : { intervalMs: options.progressIntervalMs }),
  });

  const retry = <T>(operation: () => Promise<T>, jobSignal: AbortSignal) =>
    withRetry(operation, {
      classify: classifyFailure,
      signal: jobSignal,
      online,
      onNetworkWait: (waiting) => tracker.networkWait(waiting),
      ...(options.retryPolicy ? { policy: options.retryPolicy } : {}),
    });

  const isFinished = (job: FileJob) => {
    const state = tracker.stateOf(job.item.documentId);
    return state === 'done' || state === 'failed' || state === 'cancelled';
  };

  const markDone = (job: FileJob) => {
    if (isFinished(job)) return;
    resume?.clear(job.item.documentId);
    tracker.fileStored(job.item.documentId);
    tracker.setState(job.item.documentId, 'done');
  };

  const markFailed = (job: FileJob, error: unknown, step: FailedStep) => {
    if (isFinished(job)) return;
    if (signal?.aborted) {
      tracker.setState(job.item.documentId, 'cancelled');
    } else if (isAbortError(error) && job.controller.signal.aborted) {
      return; // a sibling part failed the file first and aborted this one
    } else if (isAlreadyReceived(error)) {
      markDone(job);
      job.controller.abort(new DOMException('The file is already stored.', 'AbortError'));
      return;
    } else {
      tracker.setState(job.item.documentId, 'failed', describeFailure(error, step));
    }
    job.controller.abort(abortReason(signal));
  };

  // ---- the single PUT of a small file

  const sendWholeFile = async (job: FileJob, plan: SingleUploadPlan) => {
    const { file, documentId } = job.item;
    const jobSignal = job.controller.signal;
    await retry(async () => {
      const response = await sendTracked(job, 1, file.size, plan.url, plan.headers, file);
      if (!isSuccess(response) && response.status !== ALREADY_STORED) {
        throw new StorageStatusError(response.status);
      }
    }, jobSignal);
    tracker.attemptSucceeded(documentId, 1, file.size);
    markDone(job);
  };

  /** One PUT whose upload progress counts toward the file's; on failure its bytes are taken back. */
  const sendTracked = async (
    job: FileJob,
    partNumber: number,
    size: number,
    url: string,
    headers: Record<string, string>,
    body: Blob,
  ): Promise<TransportResponse> => {
    const { documentId } = job.item;
    let response: TransportResponse;
    try {
      response = await transport.send({
        method: 'PUT',
        url,
        headers,
        body,
        signal: job.controller.signal,
        onUploadProgress: (sent) => tracker.attemptProgress(documentId, partNumber, Math.min(sent, size)),
      });
    } catch (error) {
      tracker.attemptFailed(documentId, partNumber);
      throw error;
    }
    if (!isSuccess(response) && response.status !== ALREADY_STORED) tracker.attemptFailed(documentId, partNumber);
    return response;
  };

  // ---- one part of a multipart file

  const sendPart = async (job: FileJob, multipart: MultipartJob, range: PartRange) => {
    const { documentId } = job.item;
    const jobSignal = job.controller.signal;
    const size = range.end - range.start;
    await multipart.partMd5(range, jobSignal);
    let renewedAfterRefusal = false;
    const etag = await retry(async () => {
      const signed = await multipart.signer.signedPart(range.number, jobSignal);
      const body = job.item.file.slice(range.start, range.end);
      const response = await sendTracked(job, range.number, size, signed.url, signed.headers, body);
      if (response.status === 403) {
        // An expired URL: sign it again, once. Refused again right after, it is not the expiry.
        if (renewedAfterRefusal) {
          throw new UploadFailure('The storage refused this part: the upload link expired and could not be renewed.');
        }
        renewedAfterRefusal = true;
        multipart.signer.forget(range.number);
        throw new PartLinkRenewed();
      }
      renewedAfterRefusal = false;
      if (!isSuccess(response)) throw new StorageStatusError(response.status);
      if (!response.etag) {
        throw new UploadFailure(
          'The storage accepted a part but did not show its ETag to the browser (its CORS rules must expose the ETag header).',
        );
      }
      return response.etag;
    }, jobSignal);
    tracker.attemptSucceeded(documentId, range.number, size);
    multipart.etags.set(range.number, etag);
    resume?.recordPart(job.resumeKey, { number: range.number, etag });
    if (multipart.etags.size === multipart.ranges.length) completions.push(completeFile(job, multipart));
  };

  // ---- finishing a multipart file

  const completeFile = async (job: FileJob, multipart: MultipartJob): Promise<void> => {
    const { transferId, documentId, hashes } = job.item;
    if (isFinished(job)) return;
    tracker.setState(documentId, 'completing');
    const parts = [...multipart.etags.entries()]
      .sort(([a], [b]) => a - b)
      .map(([number, etag]) => ({ number, etag }));
    try {
      await retry(() => api.complete(transferId, documentId, parts, hashes.md5, job.controller.signal), job.controller.signal);
      markDone(job);
    } catch (error) {
      if (httpStatusOf(error) === 400 && multipart.resumedParts > 0 && !signal?.aborted) {
        // Parts remembered from an earlier visit are gone from storage: start this file afresh.
        resume?.clear(documentId);
        tracker.setState(
          documentId,
          'failed',
          'Parts sent before the page was reloaded are no longer in storage. Send the file again.',
        );
        return;
      }
      markFailed(job, error, 'complete');
    }
  };

  // ---- preparing each file

  const prepare = (item: UploadItem): { job: FileJob; units: Unit[] } => {
    const controller = new AbortController();
    const multipartPlan = isMultipartPlan(item.plan) ? item.plan : undefined;
    const resumeKey: ResumeEntryStart = {
      transferId: item.transferId,
      documentId: item.documentId,
      fingerprint: fileFingerprint(item.file),
      md5: item.hashes.md5,
      partSize: multipartPlan ? multipartPlan.part_size : 0,
    };
    const job: FileJob = { item, controller, resumeKey };
    tracker.addFile(item.documentId, item.file.size);
    if (!multipartPlan) {
      resume?.start(resumeKey);
      return { job, units: [{ job }] };
    }

    const ranges = Number.isInteger(multipartPlan.part_size) && multipartPlan.part_size > 0
      ? partRanges(item.file.size, multipartPlan.part_size)
      : [];
    if (ranges.length === 0 || ranges.length !== multipartPlan.part_count) {
      tracker.setState(
        item.documentId,
        'failed',
        'This file’s size differs from the one declared when the transfer was created. Choose the same file again.',
      );
      return { job, units: [] };
    }
    const multipart = multipartJob(job, multipartPlan, ranges);
    job.multipart = multipart;

    const earlier = resume?.start(resumeKey);
    for (const part of earlier?.parts ?? []) {
      const range = ranges[part.number - 1];
      if (!range || multipart.etags.has(part.number)) continue;
      multipart.etags.set(part.number, part.etag);
      multipart.resumedParts += 1;
      tracker.addStoredBeforehand(item.documentId, range.end - range.start);
    }
    const units = ranges.filter((range) => !multipart.etags.has(range.number)).map((range) => ({ job, range }));
    return { job, units };
  };

  const multipartJob = (job: FileJob, plan: MultipartUploadPlan, ranges: PartRange[]): MultipartJob => {
    const { item } = job;
    const { hashes } = item;
    // Part digests from the first read fit only when the plan cut the file the same way.
    const precomputed =
      hashes.partSize === plan.part_size && hashes.partMd5s.length === ranges.length ? hashes.partMd5s : undefined;
    const computed = new Map<number, string>();
    const etags = new Map<number, string>();
    const md5Of = (partNumber: number): string | undefined => {
      if (precomputed) return precomputed[partNumber - 1];
      if (ranges.length === 1) return hashes.md5;
      return computed.get(partNumber);
    };
    const multipart: MultipartJob = {
      ranges,
      etags,
      resumedParts: 0,
      signer: new PartSigner({
        api,
        transferId: item.transferId,
        documentId: item.documentId,
        md5Of,
        upcoming: () => ranges.filter((range) => !etags.has(range.number)).map((range) => range.number),
        batchSize: concurrency * 2,
        now,
      }),
      partMd5: async (range, partSignal) => {
        const known = md5Of(range.number);
        if (known !== undefined) return known;
        const md5 = await hashPart(item.file.slice(range.start, range.end), partSignal);
        computed.set(range.number, md5);
        return md5;
      },
    };
    return multipart;
  };

  // ---- running

  const completions: Promise<void>[] = [];
  const prepared = items.map(prepare);
  const jobs = prepared.map(({ job }) => job);
  const queue = prepared.flatMap(({ units }) => units);
  const cancelAll = () => {
    for (const job of jobs) job.controller.abort(abortReason(signal));
  };
  signal?.addEventListener('abort', cancelAll, { once: true });
  if (signal?.aborted) cancelAll();

  const runUnit = async ({ job, range }: Unit) => {
    const { documentId } = job.item;
    if (tracker.stateOf(documentId) === 'queued') tracker.setState(documentId, 'uploading');
    const step: FailedStep = job.multipart ? 'part' : 'file';
    try {
      throwIfAborted(job.controller.signal);
      if (job.multipart && range) await sendPart(job, job.multipart, range);
      else await sendWholeFile(job, job.item.plan as SingleUploadPlan);
    } catch (error) {
      const storageFailed = error instanceof StorageStatusError || !httpStatusOf(error);
      markFailed(job, error, storageFailed ? step : 'sign');
    }
  };

  let nextUnit = 0;
  const takeUnit = (): Unit | undefined => {
    while (nextUnit < queue.length) {
      const unit = queue[nextUnit++]!;
      if (!isFinished(unit.job) && !unit.job.controller.signal.aborted) return unit;
    }
    return undefined;
  };
  const slot = async () => {
    for (let unit = takeUnit(); unit && !signal?.aborted; unit = takeUnit()) await runUnit(unit);
  };

  // Files whose parts were all stored on an earlier visit only need completing.
  for (const job of jobs) {
    if (job.multipart && !isFinished(job) && job.multipart.etags.size === job.multipart.ranges.length) {
      completions.push(completeFile(job, job.multipart));
    }
  }

  const heartbeat = setInterval(() => tracker.tick(), HEARTBEAT_MS);
  try {
    tracker.flush();
    await Promise.all(Array.from({ length: concurrency }, slot));
    // Wait for every completion, also any added while earlier ones were awaited.
    for (let awaited = 0; awaited < completions.length; ) {
      const pending = completions.slice(awaited);
      awaited += pending.length;
      await Promise.all(pending);
    }
  } finally {
    clearInterval(heartbeat);
    signal?.removeEventListener('abort', cancelAll);
  }

  for (const job of jobs) {
    if (isFinished(job)) continue;
    if (signal?.aborted) tracker.setState(job.item.documentId, 'cancelled');
    else tracker.setState(job.item.documentId, 'failed', 'The upload stopped before this file was sent.');
  }
  tracker.flush();
  tracker.dispose();
  return tracker.snapshot().files;
}

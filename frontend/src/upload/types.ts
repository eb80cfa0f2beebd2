// The upload engine's contract with the pages: what the API gives it, what it reports back.

/** One presigned PUT of the whole file (files up to 16 MiB). */
export interface SingleUploadPlan {
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
  expires_at: string;
}

/** A multipart upload: parts are signed with `.../parts` and finished with `.../complete`. */
export interface MultipartUploadPlan {
  part_size: number;
  part_count: number;
  expires_at: string;
}

export type UploadPlan = SingleUploadPlan | MultipartUploadPlan;

export interface SignedPart {
  number: number;
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
}

/** One probe of `POST /api/v1/speed-test`: PUT exactly `size` zero bytes with these headers. */
export interface SpeedProbe {
  size: number;
  method: 'PUT';
  url: string;
  headers: Record<string, string>;
}

export interface SpeedTestPlan {
  probes: SpeedProbe[];
}

/** The API calls the engine needs; the pages implement it with their signed-in client. */
export interface UploadApi {
  signParts(
    transferId: string,
    documentId: string,
    parts: { number: number; md5: string }[],
    signal?: AbortSignal,
  ): Promise<SignedPart[]>;
  complete(
    transferId: string,
    documentId: string,
    parts: { number: number; etag: string }[],
    md5: string,
    signal?: AbortSignal,
  ): Promise<void>;
  speedTest(signal?: AbortSignal): Promise<SpeedTestPlan>;
}

export interface FileHashes {
  /** Base64 MD5 of the whole file, as the API's `md5` fields take it. */
  md5: string;
  /** The part size the part digests were computed for. */
  partSize: number;
  /** Base64 MD5 of each part of `partSize` bytes; empty when the file fits in one part. */
  partMd5s: string[];
}

export interface SpeedResult {
  /** Measured upload speed; null when the test could not run. */
  bytesPerSecond: number | null;
  latencyMs: number | null;
  /** Parts to send at once, chosen from the measurement. */
  concurrency: number;
}

export interface UploadItem {
  transferId: string;
  documentId: string;
  file: Blob;
  plan: UploadPlan;
  hashes: FileHashes;
}

export type FileUploadState = 'queued' | 'uploading' | 'completing' | 'done' | 'failed' | 'cancelled';

export interface FileProgress {
  documentId: string;
  state: FileUploadState;
  sentBytes: number;
  totalBytes: number;
  /** Why the file failed, in words for a person. */
  error?: string;
}

export interface UploadProgress {
  files: FileProgress[];
  sentBytes: number;
  totalBytes: number;
  /** Smoothed over the last few seconds. */
  bytesPerSecond: number;
  secondsLeft: number | null;
  /** The browser reports no network: the upload waits and goes on by itself. */
  offline: boolean;
}

/**
 * What the engine reads from an error an `UploadApi` call throws. With a numeric `status` the API
 * answered: 408, 429 and 5xx are retried (no sooner than `retryAfter` seconds when given), 409
 * means the document's bytes were already received (the file counts as done), any other status
 * fails the file. An error without `status` named `NetworkError`, or fetch's own TypeError, means
 * no answer came: it is retried once the network is back, without using up attempts.
 */
export interface UploadApiError extends Error {
  status: number;
  retryAfter?: number | null;
}

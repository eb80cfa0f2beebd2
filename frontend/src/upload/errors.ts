// What can go wrong, how to tell the kinds apart, and how to say it to a person.

/** The request never got an answer: no network, DNS, CORS, a dropped or stalled connection. */
export class TransportNetworkError extends Error {
  override name = 'TransportNetworkError';
}

/** Storage answered a PUT with a status other than 2xx. */
export class StorageStatusError extends Error {
  override name = 'StorageStatusError';
  constructor(readonly status: number) {
    super(`storage answered HTTP ${status}`);
  }
}

/** A failure already worded for a person; never retried. */
export class UploadFailure extends Error {
  override name = 'UploadFailure';
}

export function abortReason(signal?: AbortSignal): unknown {
  return signal?.reason ?? new DOMException('The upload was cancelled.', 'AbortError');
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal);
}

export function isAbortError(error: unknown): boolean {
  return (
    (error instanceof DOMException || error instanceof Error) &&
    (error.name === 'AbortError' || error.name === 'TimeoutError')
  );
}

/** The HTTP status of an error thrown by an `UploadApi` call or by storage, when there was one. */
export function httpStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  const { status } = error as { status: unknown };
  return typeof status === 'number' && Number.isInteger(status) ? status : undefined;
}

// How Chrome, Firefox and Safari word fetch's TypeError when no answer came; matching the words
// keeps programming errors (also TypeErrors) from being retried as if the network were down.
const FETCH_NETWORK_FAILURE = /failed to fetch|networkerror|network error|load failed|network connection/i;

/**
 * No answer came: XHR rejects with our TransportNetworkError, `fetch` with a TypeError, and API
 * clients commonly wrap the latter in an error named `NetworkError`.
 */
export function isNetworkError(error: unknown): boolean {
  if (error instanceof TransportNetworkError) return true;
  if (error instanceof Error && error.name === 'NetworkError' && httpStatusOf(error) === undefined) return true;
  return (
    error instanceof TypeError &&
    httpStatusOf(error) === undefined &&
    FETCH_NETWORK_FAILURE.test(error.message)
  );
}

/** The wait an answer asked for (`Retry-After`, as seconds in the error's `retryAfter`), if any. */
export function retryAfterMsOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('retryAfter' in error)) return undefined;
  const { retryAfter } = error as { retryAfter: unknown };
  return typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter * 1000 : undefined;
}

/** Timeouts, throttling and server-side failures pass; other answers will not change on retry. */
export function isRetriableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export type FailedStep = 'part' | 'file' | 'sign' | 'complete';

const REFUSED: Record<'part' | 'file', string> = {
  part: 'The storage refused this part',
  file: 'The storage refused the file',
};

/** Words for the failure of one step of a file's upload. */
export function describeFailure(error: unknown, step: FailedStep): string {
  if (error instanceof UploadFailure) return error.message;
  if (isAbortError(error)) return 'The upload was cancelled.';
  if (isNetworkError(error)) {
    return 'The connection was lost for too long. Check the network, then send the file again.';
  }
  const status = httpStatusOf(error);
  if (status === undefined) {
    const detail = error instanceof Error && error.message ? `: ${error.message}` : '.';
    return `The upload failed${detail}`;
  }
  if (step === 'part' || step === 'file') return describeStorageStatus(status, step);
  return describeApiStatus(status, step);
}

function describeStorageStatus(status: number, step: 'part' | 'file'): string {
  const refused = REFUSED[step];
  if (status === 400) {
    return `${refused}: its content differs from the checksum taken when the file was chosen. Was the file changed? Choose it again.`;
  }
  if (status === 403) {
    return step === 'part'
      ? `${refused}: the upload link expired and could not be renewed.`
      : `${refused}: the upload link has expired. Open the transfer again to get a new one.`;
  }
  if (isRetriableStatus(status)) {
    return `The storage kept failing (HTTP ${status}) after several tries. Try again later.`;
  }
  return `${refused} (HTTP ${status}).`;
}

function describeApiStatus(status: number, step: 'sign' | 'complete'): string {
  switch (status) {
    case 400:
      return step === 'complete'
        ? 'The storage could not put the file together from its parts (a part is missing or damaged). Send the file again.'
        : 'The server refused to prepare the upload of this file (HTTP 400).';
    case 401:
      return 'Your session has expired. Sign in again, then resume the upload.';
    case 403:
      return 'Only the sender of this transfer can upload its files.';
    case 404:
      return 'This transfer no longer exists.';
    case 410:
      return 'This transfer has ended: its files can no longer be uploaded.';
    case 429:
      return 'The server is too busy right now. Try again in a few minutes.';
    default:
      return isRetriableStatus(status)
        ? `The server kept failing (HTTP ${status}) after several tries. Try again later.`
        : `The server refused the upload (HTTP ${status}).`;
  }
}

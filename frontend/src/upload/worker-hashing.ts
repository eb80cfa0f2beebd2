// The page's side of the hashing worker: one worker per job, terminated when the job ends or is
// aborted. Where workers are unavailable (or refused to start) the same code runs on this thread.

import { abortReason } from './errors';
import type { HashRequest, HashResponse } from './hash-protocol';
import { hashBlob, md5OfBlob } from './hashing';
import type { FileHashes } from './types';

function startHashWorker(): Worker {
  return new Worker(new URL('./hash.worker.ts', import.meta.url), { type: 'module' });
}

function runInWorker<T>(
  request: HashRequest,
  resultOf: (response: HashResponse) => T | undefined,
  onThisThread: () => Promise<T>,
  onProgress?: (hashedBytes: number) => void,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (typeof Worker === 'undefined') return onThisThread();

  return new Promise<T>((resolve, reject) => {
    let worker: Worker;
    try {
      worker = startHashWorker();
    } catch {
      onThisThread().then(resolve, reject);
      return;
    }
    let answered = false;
    const finish = (settle: () => void) => {
      worker.terminate();
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const onAbort = () => finish(() => reject(abortReason(signal)));

    worker.onmessage = (event: MessageEvent<HashResponse>) => {
      answered = true;
      const response = event.data;
      if (response.type === 'progress') {
        onProgress?.(response.hashedBytes);
      } else if (response.type === 'error') {
        finish(() => reject(new Error(response.message)));
      } else {
        const result = resultOf(response);
        if (result !== undefined) finish(() => resolve(result));
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      // A worker that could not even start (e.g. a content security policy without worker-src)
      // must not stop the upload: do the same work here.
      if (!answered) finish(() => onThisThread().then(resolve, reject));
      else finish(() => reject(new Error(`The file could not be checked: ${event.message}`)));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.postMessage(request);
  });
}

/** {@link hashBlob} in a Web Worker. */
export function hashFileInWorker(
  file: Blob,
  partSize: number,
  onProgress: (hashedBytes: number) => void,
  signal?: AbortSignal,
): Promise<FileHashes> {
  return runInWorker(
    { kind: 'file', file, partSize },
    (response) => (response.type === 'file-hashes' ? response.hashes : undefined),
    () => hashBlob(file, partSize, onProgress, signal),
    onProgress,
    signal,
  );
}

/** Base64 MD5 of one Blob (a part about to be sent) in a Web Worker. */
export function md5OfBlobInWorker(blob: Blob, signal?: AbortSignal): Promise<string> {
  return runInWorker(
    { kind: 'blob', blob },
    (response) => (response.type === 'blob-md5' ? response.md5 : undefined),
    () => md5OfBlob(blob, signal),
    undefined,
    signal,
  );
}

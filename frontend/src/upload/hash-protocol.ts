// The messages between the page and the hashing worker, and the worker's side of them.

import { hashBlob, md5OfBlob } from './hashing';
import type { FileHashes } from './types';

export type HashRequest =
  /** The whole file's MD5 and its parts' MD5s. */
  | { kind: 'file'; file: Blob; partSize: number }
  /** The MD5 of one Blob, e.g. a part about to be sent. */
  | { kind: 'blob'; blob: Blob };

export type HashResponse =
  | { type: 'progress'; hashedBytes: number }
  | { type: 'file-hashes'; hashes: FileHashes }
  | { type: 'blob-md5'; md5: string }
  | { type: 'error'; message: string };

export async function answerHashRequest(request: HashRequest, post: (response: HashResponse) => void): Promise<void> {
  try {
    if (request.kind === 'file') {
      const hashes = await hashBlob(request.file, request.partSize, (hashedBytes) =>
        post({ type: 'progress', hashedBytes }),
      );
      post({ type: 'file-hashes', hashes });
    } else {
      post({ type: 'blob-md5', md5: await md5OfBlob(request.blob) });
    }
  } catch (error) {
    post({ type: 'error', message: describeReadError(error) });
  }
}

function describeReadError(error: unknown): string {
  const name = error instanceof Error || error instanceof DOMException ? error.name : '';
  if (name === 'NotReadableError' || name === 'NotFoundError') {
    return 'The file could not be read. Was it moved, deleted or changed? Choose it again.';
  }
  return `The file could not be checked: ${error instanceof Error ? error.message : String(error)}`;
}

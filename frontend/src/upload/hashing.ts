// MD5 of a file and of each of its parts, read in chunks so a file of gigabytes never sits in
// memory. This runs inside the hashing worker; tests call it directly.

import { createMD5, type IHasher } from 'hash-wasm';
import { throwIfAborted } from './errors';
import type { FileHashes } from './types';

const MiB = 1024 * 1024;

/** Large enough to keep per-read overhead small, small enough to stay light on memory. */
export const HASH_CHUNK_SIZE = 4 * MiB;

export function base64OfBytes(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function base64Digest(hasher: IHasher): string {
  return base64OfBytes(hasher.digest('binary'));
}

/**
 * The whole file's MD5 and, when the file is larger than one part, each part's MD5, from a single
 * read: both hashers are fed the same chunk.
 */
export async function hashBlob(
  file: Blob,
  partSize: number,
  onProgress?: (hashedBytes: number) => void,
  signal?: AbortSignal,
  chunkSize: number = HASH_CHUNK_SIZE,
): Promise<FileHashes> {
  if (!Number.isInteger(partSize) || partSize <= 0) throw new RangeError(`bad part size ${partSize}`);
  if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new RangeError(`bad chunk size ${chunkSize}`);
  throwIfAborted(signal);

  const whole = (await createMD5()).init();
  // A file that fits in one part is sent with one PUT: its part digests are never asked for.
  const part = file.size > partSize ? (await createMD5()).init() : null;
  const partMd5s: string[] = [];
  let bytesInPart = 0;

  for (let offset = 0; offset < file.size; offset += chunkSize) {
    throwIfAborted(signal);
    const chunk = new Uint8Array(await file.slice(offset, Math.min(offset + chunkSize, file.size)).arrayBuffer());
    throwIfAborted(signal);
    whole.update(chunk);
    if (part) {
      // A chunk may straddle part boundaries, or hold several parts when chunks are larger.
      let used = 0;
      while (used < chunk.length) {
        const take = Math.min(partSize - bytesInPart, chunk.length - used);
        part.update(chunk.subarray(used, used + take));
        used += take;
        bytesInPart += take;
        if (bytesInPart === partSize) {
          partMd5s.push(base64Digest(part));
          part.init();
          bytesInPart = 0;
        }
      }
    }
    onProgress?.(Math.min(offset + chunkSize, file.size));
  }
  if (part && bytesInPart > 0) partMd5s.push(base64Digest(part));

  return { md5: base64Digest(whole), partSize, partMd5s };
}

/** Base64 MD5 of a whole Blob (e.g. one part), read in chunks. */
export async function md5OfBlob(blob: Blob, signal?: AbortSignal, chunkSize: number = HASH_CHUNK_SIZE): Promise<string> {
  const hashes = await hashBlob(blob, Math.max(1, blob.size), undefined, signal, chunkSize);
  return hashes.md5;
}

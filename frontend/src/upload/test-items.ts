// Files with their plans and hashes, as the pages would hand them to the uploader in tests.

import { hashBlob } from './hashing';
import type { MultipartUploadPlan, SingleUploadPlan, UploadItem } from './types';

export const TRANSFER_ID = '11111111-1111-4111-8111-111111111111';
const EXPIRES_AT = '2099-01-01T00:00:00Z';

/** Deterministic bytes, different per seed, so every part has its own digest. */
export function bytesOf(size: number, seed = 1): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  let state = seed * 2_654_435_761;
  for (let i = 0; i < size; i += 1) {
    state = (state * 1_103_515_245 + 12_345) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

export function fileOf(documentId: string, bytes: Uint8Array<ArrayBuffer>, lastModified = 1_700_000_000_000): File {
  return new File([bytes], `${documentId}.pdf`, { lastModified, type: 'application/pdf' });
}

export async function multipartItem(
  documentId: string,
  size: number,
  partSize: number,
  options: { seed?: number; file?: File; hashPartSize?: number } = {},
): Promise<UploadItem> {
  const file = options.file ?? fileOf(documentId, bytesOf(size, options.seed ?? 1));
  const plan: MultipartUploadPlan = {
    part_size: partSize,
    part_count: Math.ceil(size / partSize),
    expires_at: EXPIRES_AT,
  };
  const hashes = await hashBlob(file, options.hashPartSize ?? partSize);
  return { transferId: TRANSFER_ID, documentId, file, plan, hashes };
}

export async function singleItem(documentId: string, size: number, options: { seed?: number } = {}): Promise<UploadItem> {
  const file = fileOf(documentId, bytesOf(size, options.seed ?? 7));
  const hashes = await hashBlob(file, size + 1);
  const plan: SingleUploadPlan = {
    method: 'PUT',
    url: `https://storage.test/${TRANSFER_ID}/${documentId}/1?sig=single`,
    headers: { 'Content-MD5': hashes.md5, 'Content-Type': 'application/pdf' },
    expires_at: EXPIRES_AT,
  };
  return { transferId: TRANSFER_ID, documentId, file, plan, hashes };
}

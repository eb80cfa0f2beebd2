// The upload engine the pages use: hash, measure, upload, resume.
//
//   const hashes = await hashFileInWorker(file, EXPECTED_PART_SIZE, onHashed, signal);
//   const speed = await measureUploadSpeed(api, signal);            // while hashing, if you like
//   const transfer = /* POST /api/v1/transfers with each file's hashes.md5 */;
//   const files = await uploadDocuments(
//     [{ transferId, documentId, file, plan: document.upload, hashes }],
//     { api, concurrency: speed.concurrency, onProgress, signal, resume: new ResumeStore() },
//   );
//
// After a reload, the same files picked again and the same ResumeStore skip the parts already
// stored; `hashesFromResumeEntry` spares a second full read when the entry matches the file.

export * from './types';
export { EXPECTED_PART_SIZE, chooseConcurrency, estimateSeconds, isMultipartPlan, partRanges } from './plan';
export type { PartRange } from './plan';
export { hashBlob } from './hashing';
export { hashFileInWorker } from './worker-hashing';
export { measureUploadSpeed } from './speed';
export { uploadDocuments } from './uploader';
export type { UploadOptions } from './uploader';
export {
  MemoryStorage,
  RESUME_MAX_AGE_MS,
  ResumeStore,
  fileFingerprint,
  hashesFromResumeEntry,
  sameFingerprint,
} from './resume';
export type { FileFingerprint, FinishedPart, ResumeEntry } from './resume';
export { XhrTransport } from './transport';
export type { Transport, TransportRequest, TransportResponse } from './transport';
export { browserOnlineSignal } from './network';
export type { OnlineSignal } from './network';
export type { RetryPolicy } from './retry';
export { formatBytes, formatDuration, formatSpeed } from './format';

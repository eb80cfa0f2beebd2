// Uploads running in this tab, by transfer. They outlive the page that started them, so the
// sender can move between pages (the transfer page shows the progress) while the bytes go.

import { useEffect, useState } from 'preact/hooks';
import { describeError, isAbort } from '../api/problems';
import { ResumeStore, uploadDocuments } from '../upload';
import type { FileProgress, UploadApi, UploadItem, UploadProgress } from '../upload/types';

export type RunPhase = 'uploading' | 'finished' | 'failed' | 'cancelled';

export interface UploadRun {
  transferId: string;
  phase: RunPhase;
  progress: UploadProgress | null;
  /** By document id. */
  files: Record<string, FileProgress>;
  error: string | null;
  controller: AbortController;
}

const runs = new Map<string, UploadRun>();
const listeners = new Set<() => void>();
let pendingNotify: ReturnType<typeof setTimeout> | undefined;

function notify(now = false) {
  // Progress arrives many times a second; a few screen updates a second read better.
  if (now) {
    clearTimeout(pendingNotify);
    pendingNotify = undefined;
    listeners.forEach((l) => l());
    return;
  }
  pendingNotify ??= setTimeout(() => {
    pendingNotify = undefined;
    listeners.forEach((l) => l());
  }, 250);
}

function update(tid: string, change: Partial<UploadRun>, now = false) {
  const run = runs.get(tid);
  if (!run) return;
  runs.set(tid, { ...run, ...change });
  notify(now);
}

const byDocument = (files: FileProgress[]) => Object.fromEntries(files.map((f) => [f.documentId, f]));

function warnBeforeLeaving(e: BeforeUnloadEvent) {
  if (isUploading()) {
    e.preventDefault();
    e.returnValue = '';
  }
}

export function isUploading(tid?: string): boolean {
  if (tid) return runs.get(tid)?.phase === 'uploading';
  return [...runs.values()].some((r) => r.phase === 'uploading');
}

/** Starts sending `items` (all of one transfer); progress is kept here until the tab closes. */
export function startUpload(tid: string, items: UploadItem[], api: UploadApi, concurrency: number): void {
  if (isUploading(tid)) return;
  const controller = new AbortController();
  const initial: FileProgress[] = items.map((i) => ({
    documentId: i.documentId,
    state: 'queued',
    sentBytes: 0,
    totalBytes: i.file.size,
  }));
  runs.set(tid, { transferId: tid, phase: 'uploading', progress: null, files: byDocument(initial), error: null, controller });
  window.addEventListener('beforeunload', warnBeforeLeaving);
  notify(true);

  uploadDocuments(items, {
    api,
    concurrency,
    signal: controller.signal,
    // localStorage: an upload cut off by a crash or a closed tab resumes in the next one. The
    // entries hold ids, part numbers and ETags, never a token.
    resume: new ResumeStore(),
    onProgress: (p) => update(tid, { progress: p, files: byDocument(p.files) }),
  })
    .then((files) => {
      const failed = files.filter((f) => f.state === 'failed');
      update(
        tid,
        {
          files: byDocument(files),
          phase: controller.signal.aborted ? 'cancelled' : failed.length ? 'failed' : 'finished',
          error: failed.length
            ? failed.length === 1
              ? 'One file could not be uploaded.'
              : `${failed.length} files could not be uploaded.`
            : null,
        },
        true,
      );
    })
    .catch((e) => {
      if (controller.signal.aborted || isAbort(e)) update(tid, { phase: 'cancelled' }, true);
      else update(tid, { phase: 'failed', error: describeError(e) }, true);
    })
    .finally(() => {
      if (!isUploading()) window.removeEventListener('beforeunload', warnBeforeLeaving);
    });
}

export function cancelUpload(tid: string): void {
  const run = runs.get(tid);
  if (run?.phase === 'uploading') run.controller.abort();
}

/** Forgets a finished run (so the page may offer to resume or retry). */
export function forgetUpload(tid: string): void {
  if (!isUploading(tid) && runs.delete(tid)) notify(true);
}

export function useUploadRun(tid: string): UploadRun | null {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const listener = () => setVersion((v) => v + 1);
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return runs.get(tid) ?? null;
}

// After a reload or a lost connection, the files still awaiting upload can be picked again: each
// is matched to its document by name and size, and must hash to the MD5 declared at creation.
// Parts already stored are skipped.

import { useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { getTransfer, uploadApi } from '../../api/ferry';
import { describeError, isAbort } from '../../api/problems';
import type { FerryDocument, Transfer } from '../../api/types';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { startUpload } from '../../state/uploads';
import { EXPECTED_PART_SIZE, formatBytes, hashFileInWorker } from '../../upload';
import type { UploadItem } from '../../upload/types';

const RESUME_CONCURRENCY = 3;

export function ResumeUpload({ api, transfer }: { api: ApiClient; transfer: Transfer }) {
  const announce = useAnnounce();
  const [problems, setProblems] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState<{ hashed: number; total: number } | null>(null);
  const awaiting = transfer.documents.filter((d) => d.status === 'awaiting_upload');
  if (awaiting.length === 0) return null;

  const pick = async (list: FileList | null) => {
    if (!list || list.length === 0) return;
    setProblems([]);
    setError(null);
    const notes: string[] = [];
    const pairs: { doc: FerryDocument; file: File }[] = [];
    for (const file of Array.from(list)) {
      const doc = awaiting.find((d) => d.name === file.name && d.size === file.size && !pairs.some((p) => p.doc === d));
      if (doc) pairs.push({ doc, file });
      else notes.push(`${file.name}: not one of the files awaiting upload (the name and size must be the same).`);
    }
    const total = pairs.reduce((s, p) => s + p.file.size, 0);
    setChecking({ hashed: 0, total });
    announce.status('Checking the files.');
    try {
      const matched: { doc: FerryDocument; file: File; hashes: Awaited<ReturnType<typeof hashFileInWorker>> }[] = [];
      let done = 0;
      for (const { doc, file } of pairs) {
        const partSize = doc.upload && 'part_size' in doc.upload ? doc.upload.part_size : EXPECTED_PART_SIZE;
        const hashes = await hashFileInWorker(file, partSize, (b) => setChecking({ hashed: done + b, total }));
        done += file.size;
        // A document created without its MD5 (hashed while uploading) takes the one found here.
        if (doc.md5 !== null && hashes.md5 !== doc.md5) notes.push(`${file.name}: this is not the same file (its content differs from the one declared).`);
        else matched.push({ doc, file, hashes });
      }
      setChecking(null);
      setProblems(notes);
      if (notes.length) announce.error(notes.join(' '));
      if (matched.length === 0) return;
      // Single-PUT URLs are signed afresh on every read: take the current plans.
      const fresh = await getTransfer(api, transfer.id);
      const items: UploadItem[] = [];
      for (const m of matched) {
        const doc = fresh.documents.find((d) => d.id === m.doc.id);
        if (doc?.status === 'awaiting_upload' && doc.upload) {
          items.push({ transferId: transfer.id, documentId: doc.id, file: m.file, plan: doc.upload, hashes: m.hashes });
        }
      }
      if (items.length) {
        startUpload(transfer.id, items, uploadApi(api), RESUME_CONCURRENCY);
        announce.status(`Upload resumed for ${items.length === 1 ? 'one file' : `${items.length} files`}.`);
      }
    } catch (e) {
      setChecking(null);
      if (!isAbort(e)) setError(describeError(e));
    }
  };

  const percent = checking && checking.total > 0 ? Math.floor((checking.hashed / checking.total) * 100) : 0;
  return (
    <section class="card resume" aria-labelledby="resume-title">
      <h2 id="resume-title">Resume upload</h2>
      <p>
        The upload of {awaiting.length === 1 ? 'this file' : 'these files'} did not finish in this window. Pick the same
        files again and Ferry goes on where it stopped:
      </p>
      <ul class="plain-list">
        {awaiting.map((d) => (
          <li key={d.id}>
            <strong>{d.name}</strong> <span class="muted">({formatBytes(d.size)})</span>
          </li>
        ))}
      </ul>
      {checking ? (
        <>
          <p class="progress-label" id="resume-check">
            Checking files… {percent} %
          </p>
          <progress class="progress" max={100} value={percent} aria-labelledby="resume-check" />
        </>
      ) : (
        <div class="field">
          <input
            id="resume-files"
            class="file-input"
            type="file"
            multiple
            onChange={(e) => {
              void pick(e.currentTarget.files);
              e.currentTarget.value = '';
            }}
          />
          <label for="resume-files" class="button-like button-primary">
            Pick the same files again
          </label>
        </div>
      )}
      {problems.length > 0 && (
        <ul class="field-error plain-list">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <ErrorMessage message={error} />
    </section>
  );
}

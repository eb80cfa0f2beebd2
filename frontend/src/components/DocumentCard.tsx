// One document: name, size, type, pages, checksums, status (with the upload's progress while this
// tab sends it), and its text once it is ready.

import type { ComponentChildren } from 'preact';
import type { ApiClient } from '../api/client';
import type { FerryDocument } from '../api/types';
import { formatBytes } from '../upload';
import type { FileProgress } from '../upload/types';
import { base64ToHex } from '../lib/hex';
import { DOCUMENT_STATUS, type Tone, rejectReason } from '../lib/words';
import { CopyValue } from './CopyValue';
import { DocumentText } from './DocumentText';
import { StatusBadge } from './StatusBadge';

function uploadStatus(p: FileProgress): { label: string; tone: Tone } {
  switch (p.state) {
    case 'queued':
      return { label: 'Waiting to upload', tone: 'neutral' };
    case 'uploading':
      return { label: `Uploading ${percent(p)} %`, tone: 'progress' };
    case 'completing':
      return { label: 'Finishing the upload', tone: 'progress' };
    case 'done':
      return { label: 'Uploaded, being checked', tone: 'progress' };
    case 'failed':
      return { label: 'Upload failed', tone: 'danger' };
    case 'cancelled':
      return { label: 'Upload stopped', tone: 'warning' };
  }
}

const percent = (p: FileProgress) => (p.totalBytes > 0 ? Math.floor((p.sentBytes / p.totalBytes) * 100) : 0);

/** What the file is: the detected type once known, else the declared one. */
function kind(doc: FerryDocument): string {
  const type = doc.detected_type ?? doc.content_type;
  return type === 'application/octet-stream' ? 'unknown type' : type;
}

export function DocumentCard({
  api,
  transferId,
  doc,
  upload,
  showContent = true,
  children,
}: {
  api: ApiClient;
  transferId: string;
  doc: FerryDocument;
  upload?: FileProgress | null;
  /** Admins see a transfer's metadata, never its content (the API refuses them the text). */
  showContent?: boolean;
  children?: ComponentChildren;
}) {
  const clientSide = doc.status === 'awaiting_upload' && upload ? uploadStatus(upload) : null;
  const status = clientSide ?? DOCUMENT_STATUS[doc.status];
  const facts = [formatBytes(doc.size), kind(doc)];
  if (doc.pages !== null && doc.pages > 0) facts.push(`${doc.pages} page${doc.pages === 1 ? '' : 's'}`);

  return (
    <article class="card doc">
      <header class="doc-head">
        <h3 class="doc-name">{doc.name}</h3>
        <StatusBadge tone={status.tone} label={status.label} />
      </header>
      <p class="muted doc-facts">{facts.join(' · ')}</p>

      {upload && doc.status === 'awaiting_upload' && (upload.state === 'uploading' || upload.state === 'queued') && (
        <progress
          class="progress"
          max={upload.totalBytes || 1}
          value={upload.sentBytes}
          aria-label={`Upload of ${doc.name}`}
        />
      )}
      {upload?.state === 'failed' && upload.error && <p class="field-error">{upload.error}</p>}
      {doc.status === 'rejected' && <p class="field-error">{rejectReason(doc.reason)}</p>}
      {doc.status === 'uploaded' && <p class="muted">Ferry is checking that the file arrived intact and reading its text.</p>}
      {doc.status === 'purged' && <p class="muted">The file has been deleted from Ferry.</p>}

      {/* Kept after the purge: the checksums are the proof of what was received. */}
      <dl class="hashes">
        {doc.md5 && <CopyValue label="MD5" value={base64ToHex(doc.md5)} />}
        {doc.sha256 && <CopyValue label="SHA-256" value={doc.sha256} />}
      </dl>

      {doc.status === 'ready' && showContent && <DocumentText api={api} transferId={transferId} doc={doc} />}
      {children && <div class="actions">{children}</div>}
    </article>
  );
}

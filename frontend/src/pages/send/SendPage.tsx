// Compose and send a transfer: recipients, subject, message, expiry and files. On Send, each file
// is hashed in a worker, the transfer is created with the hashes, and the upload starts; the
// transfer's page then shows it going.

import { useLocation } from 'preact-iso';
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { createTransfer, uploadApi } from '../../api/ferry';
import { describeError, isAbort } from '../../api/problems';
import type { FerryDocument, Transfer } from '../../api/types';
import { useSession } from '../../auth/session';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { FilePicker } from '../../components/FilePicker';
import { PageTitle } from '../../components/PageTitle';
import { RecipientsInput } from '../../components/RecipientsInput';
import { RequireUser } from '../../components/RequireUser';
import { type Chip, recipientsProblem } from '../../lib/recipients';
import { startUpload } from '../../state/uploads';
import { EXPECTED_PART_SIZE, hashFileInWorker } from '../../upload';
import type { FileHashes, UploadItem } from '../../upload/types';
import { SpeedLine } from './SpeedLine';
import { useSpeedTest } from './useSpeedTest';

const EXPIRY_CHOICES = [
  { hours: 24, label: '1 day' },
  { hours: 72, label: '3 days' },
  { hours: 168, label: '7 days' },
  { hours: 336, label: '14 days' },
  { hours: 720, label: '30 days' },
];
const MAX_SUBJECT = 200;
const MAX_MESSAGE = 5000;
const MAX_FILES = 100;
/** Parts at once when the speed test has not answered (yet). */
const DEFAULT_CONCURRENCY = 3;

type Phase = { kind: 'compose' } | { kind: 'hashing'; hashed: number; total: number } | { kind: 'creating' };

interface Errors {
  recipients: string | null;
  subject: string | null;
  message: string | null;
  files: string | null;
}

const NO_ERRORS: Errors = { recipients: null, subject: null, message: null, files: null };

function check(chips: Chip[], subject: string, message: string, files: File[]): Errors {
  const empty = files.filter((f) => f.size === 0);
  return {
    recipients: recipientsProblem(chips),
    subject: !subject.trim()
      ? 'Give the transfer a subject, so the recipients know what it is.'
      : subject.length > MAX_SUBJECT
        ? `The subject is too long: at most ${MAX_SUBJECT} characters.`
        : null,
    message: message.length > MAX_MESSAGE ? `The message is too long: at most ${MAX_MESSAGE} characters.` : null,
    files:
      files.length === 0
        ? 'Add at least one file.'
        : files.length > MAX_FILES
          ? `At most ${MAX_FILES} files in one transfer.`
          : empty.length
            ? `${empty.map((f) => f.name).join(', ')}: empty files cannot be sent.`
            : null,
  };
}

/** The document the API created for each file: same order, checked by name and size. */
function pairDocuments(files: File[], transfer: Transfer): (FerryDocument | undefined)[] {
  const unused = [...transfer.documents];
  return files.map((file, i) => {
    const byIndex = transfer.documents[i];
    const pick =
      byIndex && byIndex.size === file.size && unused.includes(byIndex)
        ? byIndex
        : unused.find((d) => d.size === file.size && (d.name === file.name || file.name.endsWith(d.name)));
    if (pick) unused.splice(unused.indexOf(pick), 1);
    return pick;
  });
}

function SendForm() {
  const { api } = useSession();
  const { route } = useLocation();
  const announce = useAnnounce();
  const [chips, setChips] = useState<Chip[]>([]);
  const [subject, setSubject] = useState('');
  const [message, setMessage] = useState('');
  const [expiry, setExpiry] = useState(168);
  const [files, setFiles] = useState<File[]>([]);
  const [errors, setErrors] = useState<Errors>(NO_ERRORS);
  const [formError, setFormError] = useState<string | null>(null);
  const [phase, setPhase] = useState<Phase>({ kind: 'compose' });
  const [submitted, setSubmitted] = useState(false);
  const controller = useRef<AbortController | null>(null);
  const { speed, remeasure } = useSpeedTest(api, true);

  // Errors update as the sender fixes them, once Send was tried.
  useEffect(() => {
    if (submitted) setErrors(check(chips, subject, message, files));
  }, [submitted, chips, subject, message, files]);

  // A failed measurement is tried again when files are added.
  useEffect(() => {
    if (files.length && speed.kind === 'failed') remeasure();
  }, [files.length]);

  useEffect(() => () => controller.current?.abort(), []);

  const busy = phase.kind !== 'compose';
  const totalBytes = files.reduce((s, f) => s + f.size, 0);

  const send = async (e: JSX.TargetedEvent<HTMLFormElement>) => {
    e.preventDefault();
    setSubmitted(true);
    setFormError(null);
    const found = check(chips, subject, message, files);
    setErrors(found);
    const first = (['recipients', 'subject', 'message', 'files'] as const).find((k) => found[k]);
    if (first) {
      document.getElementById(`send-${first}`)?.focus();
      announce.error(`Please correct the form: ${found[first]}`);
      return;
    }

    const abort = new AbortController();
    controller.current = abort;
    try {
      setPhase({ kind: 'hashing', hashed: 0, total: totalBytes });
      announce.status('Checking files.');
      const hashes: FileHashes[] = [];
      let done = 0;
      for (const file of files) {
        hashes.push(
          await hashFileInWorker(
            file,
            EXPECTED_PART_SIZE,
            (b) => setPhase({ kind: 'hashing', hashed: done + b, total: totalBytes }),
            abort.signal,
          ),
        );
        done += file.size;
      }

      setPhase({ kind: 'creating' });
      const transfer = await createTransfer(api, {
        recipients: chips.map((c) => c.address),
        subject: subject.trim(),
        message: message.trim() ? message : undefined,
        expires_in_hours: expiry,
        files: files.map((f, i) => ({ name: f.name, size: f.size, content_type: f.type || '', md5: hashes[i].md5 })),
      });

      const docs = pairDocuments(files, transfer);
      const items: UploadItem[] = [];
      for (let i = 0; i < files.length; i++) {
        const doc = docs[i];
        if (!doc?.upload) continue;
        let h = hashes[i];
        // The engine needs part digests for the server's part size; it is 16 MiB, but trust the plan.
        if ('part_size' in doc.upload && doc.upload.part_size !== h.partSize) {
          h = await hashFileInWorker(files[i], doc.upload.part_size, () => undefined, abort.signal);
        }
        items.push({ transferId: transfer.id, documentId: doc.id, file: files[i], plan: doc.upload, hashes: h });
      }
      const concurrency = speed.kind === 'done' ? speed.result.concurrency : DEFAULT_CONCURRENCY;
      startUpload(transfer.id, items, uploadApi(api), concurrency);
      announce.status(`Transfer created. Uploading ${items.length === 1 ? 'one file' : `${items.length} files`}.`);
      route(`/transfers/${transfer.id}`);
    } catch (err) {
      setPhase({ kind: 'compose' });
      if (isAbort(err) || abort.signal.aborted) {
        announce.status('Stopped. Nothing was sent.');
        return;
      }
      setFormError(describeError(err, 'create-transfer'));
    }
  };

  const hashPercent = phase.kind === 'hashing' && phase.total > 0 ? Math.floor((phase.hashed / phase.total) * 100) : 0;

  return (
    <>
      <PageTitle title="Send documents" />
      <p class="lead">Ferry checks every file, emails each recipient a private link, and deletes the files once they are received.</p>
      <form class="send-form" noValidate onSubmit={send}>
        <ErrorMessage message={formError} />
        <div class="send-grid">
          <section class="card" aria-labelledby="send-who">
            <h2 id="send-who">To whom</h2>
            <RecipientsInput id="send-recipients" chips={chips} onChange={setChips} error={errors.recipients} disabled={busy} />
            <div class="field">
              <label for="send-subject">Subject</label>
              <input
                id="send-subject"
                type="text"
                value={subject}
                maxLength={MAX_SUBJECT}
                required
                disabled={busy}
                aria-invalid={errors.subject ? true : undefined}
                aria-describedby={errors.subject ? 'send-subject-error' : undefined}
                onInput={(e) => setSubject(e.currentTarget.value)}
              />
              {errors.subject && (
                <p id="send-subject-error" class="field-error">
                  {errors.subject}
                </p>
              )}
            </div>
            <div class="field">
              <label for="send-message">
                Message <span class="optional">(optional)</span>
              </label>
              <textarea
                id="send-message"
                rows={5}
                value={message}
                maxLength={MAX_MESSAGE}
                disabled={busy}
                aria-invalid={errors.message ? true : undefined}
                aria-describedby={`send-message-count${errors.message ? ' send-message-error' : ''}`}
                onInput={(e) => setMessage(e.currentTarget.value)}
              />
              <p id="send-message-count" class="hint">
                {message.length} of {MAX_MESSAGE} characters
              </p>
              {errors.message && (
                <p id="send-message-error" class="field-error">
                  {errors.message}
                </p>
              )}
            </div>
            <div class="field">
              <label for="send-expiry">Available for</label>
              <select
                id="send-expiry"
                value={String(expiry)}
                disabled={busy}
                aria-describedby="send-expiry-hint"
                onChange={(e) => setExpiry(Number(e.currentTarget.value))}
              >
                {EXPIRY_CHOICES.map((c) => (
                  <option key={c.hours} value={String(c.hours)}>
                    {c.label}
                  </option>
                ))}
              </select>
              <p id="send-expiry-hint" class="hint">
                After that the link stops working and the files are deleted, received or not.
              </p>
            </div>
          </section>

          <section class="card" aria-labelledby="send-what">
            <h2 id="send-what">Files</h2>
            <FilePicker id="send-files" files={files} onChange={setFiles} error={errors.files} disabled={busy} />
            <SpeedLine speed={speed} totalBytes={totalBytes} />
          </section>
        </div>

        {phase.kind === 'compose' ? (
          <div class="actions send-actions">
            <button type="submit" class="button-primary button-large">
              Send
            </button>
          </div>
        ) : (
          <div class="card progress-box" aria-busy="true">
            {phase.kind === 'hashing' ? (
              <>
                <p class="progress-label" id="hash-label">
                  Checking files… {hashPercent} %
                </p>
                <progress class="progress" max={100} value={hashPercent} aria-labelledby="hash-label" />
                <p class="hint">Ferry computes each file’s fingerprint (MD5) so their safe arrival can be proven.</p>
              </>
            ) : (
              <p class="progress-label">Creating the transfer…</p>
            )}
            {phase.kind === 'hashing' && (
              <div class="actions">
                <button type="button" class="button-secondary" onClick={() => controller.current?.abort()}>
                  Cancel
                </button>
              </div>
            )}
          </div>
        )}
      </form>
    </>
  );
}

export function SendPage() {
  return (
    <RequireUser role="member">
      <SendForm />
    </RequireUser>
  );
}

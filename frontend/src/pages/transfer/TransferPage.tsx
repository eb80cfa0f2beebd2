// A transfer as its sender (or an admin) follows it: the upload, each document's checks, the
// recipients, the audit trail; polled while anything still moves.

import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { cancelTransfer, getTransfer, transferEvents } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { AuditEvent, Transfer } from '../../api/types';
import { useMe, useSession } from '../../auth/session';
import { ErrorMessage, Notice } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { useConfirm } from '../../components/ConfirmDialog';
import { DocumentCard } from '../../components/DocumentCard';
import { PageTitle } from '../../components/PageTitle';
import { MessageBox, TransferFacts } from '../../components/TransferHeader';
import { Loading, RequireUser } from '../../components/RequireUser';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime, fromNow } from '../../lib/time';
import { usePoll } from '../../lib/usePoll';
import { TRANSFER_STATUS, deliveryStatus, isFinal, rejectReason } from '../../lib/words';
import { cancelUpload, isUploading, useUploadRun } from '../../state/uploads';
import { EventList } from './EventList';
import { RecipientList } from './RecipientList';
import { ResumeUpload } from './ResumeUpload';
import { UploadPanel } from './UploadPanel';

const MOVING_MS = 2000;
/** Once sent, only the recipients move, and slowly. */
const SENT_MS = 5000;

function pollInterval(t: Transfer): number | null {
  if (isFinal(t.status)) return null;
  const moving =
    t.status === 'uploading' ||
    t.status === 'processing' ||
    t.documents.some((d) => d.status === 'awaiting_upload' || d.status === 'uploaded') ||
    t.deliveries.some((d) => d.status === 'pending');
  return moving ? MOVING_MS : SENT_MS;
}

/** What changed between two reads, in words, for the live region. */
function changes(before: Transfer, after: Transfer): string[] {
  const said: string[] = [];
  for (const d of after.documents) {
    const old = before.documents.find((o) => o.id === d.id);
    if (!old || old.status === d.status) continue;
    if (d.status === 'ready') said.push(`${d.name} is ready.`);
    else if (d.status === 'rejected') said.push(`${d.name} was rejected. ${rejectReason(d.reason)}`);
    else if (d.status === 'uploaded') said.push(`${d.name} is uploaded and being checked.`);
  }
  for (const r of after.recipients) {
    const old = before.recipients.find((o) => o.email === r.email);
    if (old && old.status !== r.status) {
      if (r.status === 'verified') said.push(`${r.email} opened the link.`);
      if (r.status === 'received') said.push(`${r.email} confirmed receipt.`);
    }
  }
  if (before.status !== after.status) said.push(`Transfer: ${TRANSFER_STATUS[after.status].explain}`);
  return said;
}

/** A key that changes whenever something the audit trail would record has changed. */
const eventKey = (t: Transfer) =>
  [t.status, ...t.documents.map((d) => d.status), ...t.recipients.map((r) => r.status), ...t.deliveries.map((d) => d.status + d.attempts)].join();

function Events({ api, transfer }: { api: ApiClient; transfer: Transfer }) {
  const me = useMe();
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const key = eventKey(transfer);
  useEffect(() => {
    const c = new AbortController();
    transferEvents(api, transfer.id, c.signal)
      .then((e) => {
        setEvents(e);
        setError(null);
      })
      .catch((e) => {
        if (!c.signal.aborted) setError(describeError(e));
      });
    return () => c.abort();
  }, [api, transfer.id, key]);
  if (error && !events) return <p class="muted">{error}</p>;
  if (!events) return <Loading what="Loading the activity…" />;
  return <EventList events={events} transfer={transfer} myId={me?.id ?? null} />;
}

function TransferView({ tid }: { tid: string }) {
  const { api } = useSession();
  const me = useMe();
  const announce = useAnnounce();
  const run = useUploadRun(tid);
  const [confirmDialog, confirm] = useConfirm();
  const [actionError, setActionError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const load = useCallback((signal: AbortSignal) => getTransfer(api, tid, signal), [api, tid]);
  const poll = usePoll(load, pollInterval, tid);
  const previous = useRef<Transfer | null>(null);
  const t = poll.data;

  useEffect(() => {
    if (t && previous.current && previous.current.id === t.id) {
      const said = changes(previous.current, t);
      if (said.length) announce.status(said.join(' '));
    }
    previous.current = t;
  }, [t, announce]);

  // A finished upload changes the documents at once: look without waiting for the next tick.
  const phase = run?.phase;
  useEffect(() => {
    if (phase && phase !== 'uploading') void poll.reload();
    if (phase === 'finished') announce.status('Every file is uploaded. Ferry is checking them.');
  }, [phase]);

  if (!t) {
    if (poll.error) {
      return (
        <section class="narrow">
          <PageTitle title="Transfer" />
          <ErrorMessage message={describeError(poll.error, 'load-transfer')} />
          <p>
            <a href="/outbox">Go to your sent transfers</a>
          </p>
        </section>
      );
    }
    return <Loading what="Loading the transfer…" />;
  }

  const status = TRANSFER_STATUS[t.status];
  const uploadingHere = isUploading(tid);

  const cancel = async () => {
    const ok = await confirm({
      title: 'Cancel this transfer?',
      body: (
        <p>
          {uploadingHere ? 'The upload stops, and ' : ''}the documents are deleted from Ferry. The recipients’ links stop
          working. This cannot be undone.
        </p>
      ),
      confirmLabel: 'Cancel transfer',
      cancelLabel: 'Keep it',
      danger: true,
    });
    if (!ok) return;
    setCancelling(true);
    setActionError(null);
    cancelUpload(tid);
    try {
      poll.setData(await cancelTransfer(api, tid));
      announce.status('The transfer is cancelled and its documents deleted.');
    } catch (e) {
      setActionError(describeError(e, 'cancel-transfer'));
    } finally {
      setCancelling(false);
    }
  };

  const ready = t.documents.filter((d) => d.status === 'ready').length;
  return (
    <>
      <PageTitle title={t.subject} />
      <div class="transfer-status">
        <StatusBadge tone={status.tone} label={status.label} />
        <span>{status.explain}</span>
      </div>
      {poll.error !== null && <p class="notice notice-warning">{describeError(poll.error)}</p>}
      {t.status === 'cancelled' && (
        <Notice tone="warning">
          <p>
            {t.documents.length > 0 && t.documents.every((d) => d.status === 'rejected')
              ? 'Every file was rejected, so nothing was sent and the recipients were not emailed. See why below.'
              : 'This transfer was cancelled. Its documents have been deleted; the activity below remains.'}
          </p>
        </Notice>
      )}
      <ErrorMessage message={actionError} />

      <TransferFacts t={t} created="Created">
        <div>
          <dt>{isFinal(t.status) ? 'Ended' : 'Expires'}</dt>
          <dd>
            {isFinal(t.status) && t.purged_at
              ? formatDateTime(t.purged_at)
              : `${formatDateTime(t.expires_at)} (${fromNow(t.expires_at)})`}
          </dd>
        </div>
      </TransferFacts>
      <MessageBox message={t.message} />

      {run && (run.phase === 'uploading' || t.status === 'uploading' || t.status === 'processing') && (
        <UploadPanel run={run} onCancel={() => void cancel()} />
      )}
      {/* After a finished run the documents wait a moment for validation: nothing to resume then. */}
      {t.status === 'uploading' && (!run || run.phase === 'failed' || run.phase === 'cancelled') && me?.id === t.sender.id && (
        <ResumeUpload api={api} transfer={t} />
      )}

      <section aria-labelledby="docs-title" class="section">
        <h2 id="docs-title">
          Documents <span class="count">{t.documents.length}</span>
        </h2>
        {t.status === 'sent' && (
          <p class="muted">
            {ready} of {t.documents.length} ready for the recipients.
          </p>
        )}
        <div class="doc-list">
          {t.documents.map((d) => (
            <DocumentCard
              key={d.id}
              api={api}
              transferId={t.id}
              doc={d}
              upload={run?.files[d.id] ?? null}
              showContent={me?.id === t.sender.id}
            />
          ))}
        </div>
      </section>

      <section aria-labelledby="recipients-title" class="section">
        <h2 id="recipients-title">
          Recipients <span class="count">{t.recipients.length}</span>
        </h2>
        <RecipientList recipients={t.recipients} />
      </section>

      {t.deliveries.length > 0 && (
        <section aria-labelledby="deliveries-title" class="section">
          <h2 id="deliveries-title">Deliveries to recipients’ systems</h2>
          <ul class="plain-list">
            {t.deliveries.map((d) => {
              const s = deliveryStatus(d);
              return (
                <li key={d.id} class="delivery-row">
                  <StatusBadge tone={s.tone} label={s.label} /> <span>{d.recipient}</span>{' '}
                  <span class="muted">{formatDateTime(d.created_at)}</span>
                </li>
              );
            })}
          </ul>
        </section>
      )}

      <section aria-labelledby="events-title" class="section">
        <h2 id="events-title">Activity</h2>
        <Events api={api} transfer={t} />
      </section>

      {!isFinal(t.status) && (
        <section aria-labelledby="cancel-title" class="section danger-zone">
          <h2 id="cancel-title">Cancel the transfer</h2>
          <p class="muted">Stops the transfer and deletes its documents at once. The recipients can no longer open them.</p>
          <button type="button" class="button-danger" disabled={cancelling} onClick={() => void cancel()}>
            {cancelling ? 'Cancelling…' : 'Cancel transfer'}
          </button>
        </section>
      )}
      {confirmDialog}
    </>
  );
}

export function TransferPage({ tid }: { tid: string }) {
  return (
    <RequireUser>
      <TransferView tid={tid} />
    </RequireUser>
  );
}

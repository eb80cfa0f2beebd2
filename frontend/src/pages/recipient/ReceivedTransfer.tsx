// A transfer as a recipient sees it (with a recipient token, or signed in from the inbox): the
// documents with their checksums and text, downloads, deliveries to their own system, and the
// confirmation of receipt, after which Ferry deletes the documents.

import { useCallback, useState } from 'preact/hooks';
import type { ApiClient } from '../../api/client';
import { confirmReceipt, downloadLink, getTransfer } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { FerryDocument, Transfer } from '../../api/types';
import { ErrorMessage, Notice } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { useConfirm } from '../../components/ConfirmDialog';
import { DocumentCard } from '../../components/DocumentCard';
import { PageTitle } from '../../components/PageTitle';
import { MessageBox, TransferFacts } from '../../components/TransferHeader';
import { Loading } from '../../components/RequireUser';
import { pause, startDownload } from '../../lib/download';
import { formatDateTime, fromNow } from '../../lib/time';
import { usePoll } from '../../lib/usePoll';
import { isFinal } from '../../lib/words';
import { DeliveryForm } from './DeliveryForm';
import { DeliveryList } from './DeliveryList';

function interval(t: Transfer): number | null {
  if (isFinal(t.status)) return null;
  if (t.deliveries.some((d) => d.status === 'pending')) return 2000;
  return t.status === 'processing' ? 5000 : null;
}

function Ended({ t, received }: { t: Transfer; received: boolean }) {
  if (received && t.purged_at) {
    return (
      <Notice tone="success">
        <p class="big">Done. The documents have been deleted from Ferry.</p>
        <p>Deleted {formatDateTime(t.purged_at)}. You can close this page.</p>
      </Notice>
    );
  }
  if (received) {
    return (
      <Notice tone="success">
        <p class="big">Thank you: your receipt is confirmed.</p>
        <p>The documents will be deleted once every recipient has confirmed.</p>
      </Notice>
    );
  }
  return (
    <Notice tone="warning">
      <p class="big">This transfer has ended and its documents were deleted.</p>
      <p>Ask the sender to send them again if you still need them.</p>
    </Notice>
  );
}

export function ReceivedTransfer({ api, transferId, myEmail }: { api: ApiClient; transferId: string; myEmail: string | null }) {
  const announce = useAnnounce();
  const [confirmDialog, confirm] = useConfirm();
  const load = useCallback((signal: AbortSignal) => getTransfer(api, transferId, signal), [api, transferId]);
  const poll = usePoll(load, interval, transferId);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [progress, setProgress] = useState<string | null>(null);
  const [deliveryOpen, setDeliveryOpen] = useState(false);
  const [deliveryForms, setDeliveryForms] = useState(0);
  const t = poll.data;

  if (!t) {
    if (poll.error) {
      return (
        <section class="narrow">
          <PageTitle title="Documents for you" />
          <ErrorMessage message={describeError(poll.error, 'recipient')} />
        </section>
      );
    }
    return <Loading what="Loading the documents…" />;
  }

  const me = t.recipients.find((r) => r.email === myEmail) ?? t.recipients[0];
  const received = me?.status === 'received';
  const ready = t.documents.filter((d) => d.status === 'ready');
  const open = t.status === 'sent';

  const download = async (d: FerryDocument) => {
    setBusy(d.id);
    setError(null);
    try {
      const link = await downloadLink(api, t.id, d.id);
      startDownload(link.url, d.name);
      announce.status(`Downloading ${d.name}.`);
    } catch (e) {
      setError(describeError(e, 'download'));
    } finally {
      setBusy(null);
    }
  };

  const downloadAll = async () => {
    setBusy('all');
    setError(null);
    try {
      for (const [i, d] of ready.entries()) {
        setProgress(`Downloading ${i + 1} of ${ready.length}: ${d.name}`);
        const link = await downloadLink(api, t.id, d.id);
        startDownload(link.url, d.name);
        // Browsers drop downloads started in the same instant; one at a time goes through.
        await pause(1200);
      }
      announce.status(`Started ${ready.length} downloads.`);
    } catch (e) {
      setError(describeError(e, 'download'));
    } finally {
      setBusy(null);
      setProgress(null);
    }
  };

  const confirmReceiptClicked = async () => {
    const ok = await confirm({
      title: 'Confirm that you received the documents?',
      body: (
        <>
          <p>Ferry tells the sender, and deletes the documents once every recipient has confirmed.</p>
          <p>
            <strong>Download them first:</strong> you will not be able to open them here again.
          </p>
        </>
      ),
      confirmLabel: 'Yes, I received them',
      cancelLabel: 'Not yet',
    });
    if (!ok) return;
    setBusy('receipt');
    setError(null);
    try {
      const after = await confirmReceipt(api, t.id);
      poll.setData(after);
      announce.status(
        after.purged_at
          ? 'Done. The documents have been deleted from Ferry.'
          : 'Receipt confirmed. The documents will be deleted once every recipient has confirmed.',
      );
    } catch (e) {
      setError(describeError(e, 'receipt'));
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <PageTitle title={t.subject} />
      <TransferFacts t={t} created="Sent">
        {!isFinal(t.status) && (
          <div>
            <dt>Available until</dt>
            <dd>
              {formatDateTime(t.expires_at)} ({fromNow(t.expires_at)})
            </dd>
          </div>
        )}
      </TransferFacts>
      <MessageBox message={t.message} />

      {(isFinal(t.status) || received) && <Ended t={t} received={received} />}
      {t.status === 'processing' && (
        <Notice>
          <p>Ferry is still checking the documents. This page updates by itself.</p>
        </Notice>
      )}
      <ErrorMessage message={error} />

      {t.documents.some((d) => d.status !== 'purged') && (
        <section class="section" aria-labelledby="rdocs-title">
          <div class="section-head">
            <h2 id="rdocs-title">
              Documents <span class="count">{t.documents.length}</span>
            </h2>
            {open && ready.length > 1 && (
              <button type="button" class="button-secondary" disabled={busy !== null} onClick={() => void downloadAll()}>
                Download all
              </button>
            )}
          </div>
          {progress && <p class="muted">{progress}</p>}
          <div class="doc-list">
            {t.documents.map((d) => (
              <DocumentCard key={d.id} api={api} transferId={t.id} doc={d}>
                {open && d.status === 'ready' && (
                  <button
                    type="button"
                    class="button-primary"
                    disabled={busy !== null}
                    onClick={() => void download(d)}
                    aria-label={`Download ${d.name}`}
                  >
                    {busy === d.id ? 'Preparing…' : 'Download'}
                  </button>
                )}
              </DocumentCard>
            ))}
          </div>
        </section>
      )}

      {open && ready.length > 0 && (
        <section class="section" aria-labelledby="deliver-title">
          <h2 id="deliver-title">Send to your system</h2>
          <p class="muted">Instead of downloading, Ferry can push the documents to your storage or your application.</p>
          <DeliveryList deliveries={t.deliveries} />
          <details
            class="card disclosure"
            open={deliveryOpen}
            onToggle={(e) => setDeliveryOpen((e.currentTarget as HTMLDetailsElement).open)}
          >
            <summary>{t.deliveries.length ? 'Set up another delivery' : 'Set up a delivery'}</summary>
            <DeliveryForm
              key={deliveryForms}
              api={api}
              transferId={t.id}
              documents={ready}
              onCreated={(d) => {
                poll.setData({ ...t, deliveries: [...t.deliveries, d] });
                // A fresh, closed form: the delivery's progress shows in the list above.
                setDeliveryOpen(false);
                setDeliveryForms((n) => n + 1);
              }}
            />
          </details>
        </section>
      )}
      {!open && t.deliveries.length > 0 && (
        <section class="section" aria-labelledby="deliver-title">
          <h2 id="deliver-title">Deliveries</h2>
          <DeliveryList deliveries={t.deliveries} />
        </section>
      )}

      {open && !received && (
        <section class="section card receipt" aria-labelledby="receipt-title">
          <h2 id="receipt-title">Confirm receipt</h2>
          <p>
            When you have what you need, confirm receipt. Ferry then deletes the documents, and the sender knows they
            arrived.
          </p>
          <button type="button" class="button-primary" disabled={busy !== null} onClick={() => void confirmReceiptClicked()}>
            {busy === 'receipt' ? 'Confirming…' : 'Confirm receipt'}
          </button>
        </section>
      )}
      {confirmDialog}
    </>
  );
}

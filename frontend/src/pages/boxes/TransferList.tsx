// A list of transfers: subject (a link to its page), date, status and each recipient's state.

import type { Transfer } from '../../api/types';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../lib/time';
import { RECIPIENT_STATUS, TRANSFER_STATUS, type Tone, isFinal } from '../../lib/words';
import { formatBytes } from '../../upload';

/** In the inbox what matters is where the reader stands, not how the sending went. */
function receivedBadge(t: Transfer, myEmail: string | null): { label: string; tone: Tone } {
  if (isFinal(t.status)) return TRANSFER_STATUS[t.status];
  const me = t.recipients.find((r) => r.email === myEmail) ?? t.recipients[0];
  if (me?.status === 'received') return { label: 'Received', tone: 'success' };
  if (me?.status === 'verified') return { label: 'Opened', tone: 'progress' };
  return { label: 'New', tone: 'progress' };
}

export function TransferList({
  transfers,
  href,
  showSender,
  myEmail = null,
}: {
  transfers: Transfer[];
  href: (t: Transfer) => string;
  showSender: boolean;
  myEmail?: string | null;
}) {
  return (
    <ul class="transfer-list">
      {transfers.map((t) => {
        const s = showSender ? receivedBadge(t, myEmail) : TRANSFER_STATUS[t.status];
        const size = t.documents.reduce((sum, d) => sum + d.size, 0);
        return (
          <li key={t.id} class="card transfer-item">
            <div class="doc-head">
              <h2 class="transfer-subject">
                <a href={href(t)}>{t.subject}</a>
              </h2>
              <StatusBadge tone={s.tone} label={s.label} />
            </div>
            <p class="muted">
              {showSender ? `From ${t.sender.email} · ` : ''}
              <time dateTime={t.created_at}>{formatDateTime(t.created_at)}</time> · {t.documents.length}{' '}
              {t.documents.length === 1 ? 'document' : 'documents'}, {formatBytes(size)}
            </p>
            {!showSender && (
              <ul class="recipient-chips" aria-label="Recipients">
                {t.recipients.map((r) => (
                  <li key={r.email}>
                    <span class="recipient-email">{r.email}</span>{' '}
                    <StatusBadge tone={RECIPIENT_STATUS[r.status].tone} label={RECIPIENT_STATUS[r.status].label} />
                  </li>
                ))}
              </ul>
            )}
          </li>
        );
      })}
    </ul>
  );
}

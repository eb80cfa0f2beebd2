// Each recipient with where they are: waiting, emailed, opened, received, and when.

import type { Recipient } from '../../api/types';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../lib/time';
import { RECIPIENT_STATUS } from '../../lib/words';

function when(r: Recipient): string {
  if (r.status === 'received' && r.received_at) return `Confirmed receipt ${formatDateTime(r.received_at)}`;
  if (r.status === 'verified' && r.verified_at) return `Opened the link ${formatDateTime(r.verified_at)}`;
  if (r.status === 'notified' && r.notified_at) return `Emailed ${formatDateTime(r.notified_at)}`;
  return 'Will be emailed once every file is checked';
}

export function RecipientList({ recipients }: { recipients: Recipient[] }) {
  return (
    <ul class="recipient-list">
      {recipients.map((r) => {
        const s = RECIPIENT_STATUS[r.status];
        return (
          <li key={r.email} class="recipient-row">
            <span class="recipient-email">{r.email}</span>
            <StatusBadge tone={s.tone} label={s.label} />
            <span class="muted recipient-when">{when(r)}</span>
          </li>
        );
      })}
    </ul>
  );
}

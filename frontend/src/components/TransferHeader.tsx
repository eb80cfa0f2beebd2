// What both the sender's and the recipient's view of a transfer open with: who sent it, the
// dates, and the sender's message.

import type { ComponentChildren } from 'preact';
import type { Transfer } from '../api/types';
import { formatDateTime } from '../lib/time';

/** The sender and the creation date, then `children` (the dates that matter to this reader). */
export function TransferFacts({ t, created, children }: { t: Transfer; created: string; children?: ComponentChildren }) {
  return (
    <dl class="facts">
      <div>
        <dt>From</dt>
        <dd>{t.sender.email}</dd>
      </div>
      <div>
        <dt>{created}</dt>
        <dd>{formatDateTime(t.created_at)}</dd>
      </div>
      {children}
    </dl>
  );
}

export function MessageBox({ message }: { message: string }) {
  if (!message) return null;
  return (
    <div class="message-box">
      <p class="label">Message</p>
      <p class="message">{message}</p>
    </div>
  );
}

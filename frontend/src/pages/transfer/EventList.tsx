// The transfer's audit trail as sentences, newest first.

import type { AuditEvent, Transfer } from '../../api/types';
import { formatDateTimeSeconds } from '../../lib/time';
import { describeEvent } from '../../lib/words';

export function EventList({ events, transfer, myId }: { events: AuditEvent[]; transfer: Transfer; myId: string | null }) {
  if (events.length === 0) return <p class="muted">Nothing has happened yet.</p>;
  return (
    <ol class="event-list">
      {events.map((e, i) => (
        <li key={`${e.at}-${i}`} class={`event event-${e.outcome}`}>
          <time dateTime={e.at}>{formatDateTimeSeconds(e.at)}</time>
          <span>{describeEvent(e, { transfer, myId })}</span>
        </li>
      ))}
    </ol>
  );
}

// The recipient's deliveries with their status, attempts and last error in words.

import type { Delivery } from '../../api/types';
import { StatusBadge } from '../../components/StatusBadge';
import { formatDateTime } from '../../lib/time';
import { deliveryStatus } from '../../lib/words';

export function DeliveryList({ deliveries }: { deliveries: Delivery[] }) {
  if (deliveries.length === 0) return null;
  return (
    <ul class="delivery-list">
      {deliveries.map((d) => {
        const s = deliveryStatus(d);
        return (
          <li key={d.id} class="card delivery">
            <div class="doc-head">
              <span>
                {d.type === 'webhook' ? 'To your webhook' : 'To your upload URLs'}
                <span class="muted"> · asked {formatDateTime(d.created_at)}</span>
              </span>
              <StatusBadge tone={s.tone} label={s.label} />
            </div>
            <p>{s.text}</p>
            {d.finished_at && <p class="muted">Finished {formatDateTime(d.finished_at)}</p>}
          </li>
        );
      })}
    </ul>
  );
}

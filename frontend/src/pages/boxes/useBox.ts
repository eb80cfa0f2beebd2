import { useCallback } from 'preact/hooks';
import { listTransfers } from '../../api/ferry';
import type { Transfer } from '../../api/types';
import { useSession } from '../../auth/session';
import { usePoll } from '../../lib/usePoll';
import { isFinal } from '../../lib/words';

/**
 * A mailbox, refreshed every 15 s while some of its transfers are still under way, and every
 * minute otherwise: new ones arrive without this page (received ones, and sent ones made by a
 * script or a drop folder).
 */
export function useBox(box: 'sent' | 'received') {
  const { api } = useSession();
  const load = useCallback((signal: AbortSignal) => listTransfers(api, box, signal), [api, box]);
  return usePoll<Transfer[]>(load, (list) => (list.some((t) => !isFinal(t.status)) ? 15000 : 60000), box);
}

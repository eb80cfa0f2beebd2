import { useCallback } from 'preact/hooks';
import { listTransfers } from '../../api/ferry';
import type { Transfer } from '../../api/types';
import { useSession } from '../../auth/session';
import { usePoll } from '../../lib/usePoll';
import { isFinal } from '../../lib/words';

/** A mailbox, refreshed now and then while some of its transfers are still under way. */
export function useBox(box: 'sent' | 'received') {
  const { api } = useSession();
  const load = useCallback((signal: AbortSignal) => listTransfers(api, box, signal), [api, box]);
  return usePoll<Transfer[]>(load, (list) => (list.some((t) => !isFinal(t.status)) ? 15000 : null), box);
}

// A received transfer opened from the inbox: the recipient's view, with the user's own token.

import { useMe, useSession } from '../../auth/session';
import { RequireUser } from '../../components/RequireUser';
import { ReceivedTransfer } from '../recipient/ReceivedTransfer';

function Received({ tid }: { tid: string }) {
  const { api } = useSession();
  const me = useMe();
  return (
    <>
      <p class="breadcrumb">
        <a href="/inbox">← Received</a>
      </p>
      <ReceivedTransfer api={api} transferId={tid} myEmail={me?.email ?? null} />
    </>
  );
}

export function ReceivedPage({ tid }: { tid: string }) {
  return (
    <RequireUser>
      <Received tid={tid} />
    </RequireUser>
  );
}

import { describeError } from '../../api/problems';
import { useMe } from '../../auth/session';
import { ErrorMessage } from '../../components/Alert';
import { PageTitle } from '../../components/PageTitle';
import { Loading, RequireUser } from '../../components/RequireUser';
import { TransferList } from './TransferList';
import { useBox } from './useBox';

function Inbox() {
  const me = useMe();
  const { data, error } = useBox('received');
  return (
    <>
      <PageTitle title="Received" />
      <p class="lead">Documents sent to your address. You can also open them from the link in the email.</p>
      {error !== null && <ErrorMessage message={describeError(error)} />}
      {!data && !error && <Loading />}
      {data && data.length === 0 && <p>Nothing has been sent to you yet.</p>}
      {data && data.length > 0 && <TransferList transfers={data} href={(t) => `/inbox/${t.id}`} showSender myEmail={me?.email ?? null} />}
    </>
  );
}

export function InboxPage() {
  return (
    <RequireUser>
      <Inbox />
    </RequireUser>
  );
}

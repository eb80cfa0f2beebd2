import { describeError } from '../../api/problems';
import { hasRole, useMe } from '../../auth/session';
import { ErrorMessage } from '../../components/Alert';
import { PageTitle } from '../../components/PageTitle';
import { Loading, RequireUser } from '../../components/RequireUser';
import { TransferList } from './TransferList';
import { useBox } from './useBox';

function Outbox() {
  const me = useMe();
  const { data, error } = useBox('sent');
  return (
    <>
      <PageTitle title="Sent" />
      {error !== null && <ErrorMessage message={describeError(error)} />}
      {!data && !error && <Loading />}
      {data && data.length === 0 && (
        <p>
          You have not sent anything yet.{' '}
          {hasRole(me, 'member') && <a href="/">Send documents</a>}
        </p>
      )}
      {data && data.length > 0 && <TransferList transfers={data} href={(t) => `/transfers/${t.id}`} showSender={false} />}
    </>
  );
}

export function OutboxPage() {
  return (
    <RequireUser>
      <Outbox />
    </RequireUser>
  );
}

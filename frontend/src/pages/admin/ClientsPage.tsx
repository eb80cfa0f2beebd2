// Machine clients: credentials for scripts and target systems that act for a user. List, create
// (the secret is shown once), delete.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { deleteClient, listClients, listUsers } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { IssuedMachineClient, MachineClient, User } from '../../api/types';
import { useSession } from '../../auth/session';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { useConfirm } from '../../components/ConfirmDialog';
import { PageTitle } from '../../components/PageTitle';
import { Loading, RequireUser } from '../../components/RequireUser';
import { formatDateTime } from '../../lib/time';
import { AddClientForm } from './AddClientForm';
import { ClientSecret } from './ClientSecret';

/** Keeps only what the list shows: the secret must not outlive its one showing. */
const listed = ({ client_id, name, owner_id, created_at }: MachineClient): MachineClient => ({
  client_id,
  name,
  owner_id,
  created_at,
});

function Clients() {
  const { api } = useSession();
  const announce = useAnnounce();
  const [confirmDialog, confirm] = useConfirm();
  const [clients, setClients] = useState<MachineClient[] | null>(null);
  const [users, setUsers] = useState<User[] | null>(null);
  const [issued, setIssued] = useState<IssuedMachineClient | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setClients(await listClients(api));
    } catch (e) {
      setError(describeError(e, 'admin-clients'));
    }
  }, [api]);

  useEffect(() => void reload(), [reload]);

  useEffect(() => {
    // Only for owners' emails and the owner choice: without it, ids and an email field remain.
    listUsers(api)
      .then(setUsers)
      .catch(() => undefined);
  }, [api]);

  const emailsById = new Map((users ?? []).map((u) => [u.id, u.email]));
  const ownerOf = (c: MachineClient) => emailsById.get(c.owner_id) ?? c.owner_id;

  const remove = async (c: MachineClient) => {
    const ok = await confirm({
      title: `Delete “${c.name}”?`,
      body: (
        <p>
          Its secret stops working at once, and so do the scripts and systems that use it to act for {ownerOf(c)}. This
          cannot be undone.
        </p>
      ),
      confirmLabel: 'Delete client',
      danger: true,
    });
    if (!ok) return;
    setBusy(c.client_id);
    setError(null);
    try {
      await deleteClient(api, c.client_id);
      setClients((list) => (list ?? []).filter((x) => x.client_id !== c.client_id));
      if (issued?.client_id === c.client_id) setIssued(null);
      announce.status(`“${c.name}” was deleted.`);
    } catch (e) {
      setError(describeError(e, 'admin-clients'));
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <PageTitle title="Machine clients" />
      <p>
        A machine client lets a script or a target system send and receive with the <code>ferry</code> command line
        as one user, without a browser.
      </p>
      <ErrorMessage message={error} />
      {issued && <ClientSecret client={issued} onDone={() => setIssued(null)} />}
      <AddClientForm
        api={api}
        users={users}
        onAdded={(c) => {
          setIssued(c);
          setClients((list) => [...(list ?? []), listed(c)]);
          announce.status(`“${c.name}” was created. Copy its secret now: it is shown only once.`);
        }}
      />
      <section class="section" aria-labelledby="clients-title">
        <h2 id="clients-title">
          All machine clients {clients && <span class="count">{clients.length}</span>}
        </h2>
        {!clients && !error && <Loading />}
        {clients && clients.length === 0 && <p>There are no machine clients yet.</p>}
        {clients && clients.length > 0 && (
          <table class="table responsive-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Acts for</th>
                <th scope="col">Client id</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {clients.map((c) => (
                <tr key={c.client_id}>
                  <td data-label="Name">{c.name}</td>
                  <td data-label="Acts for" class="break">
                    {ownerOf(c)}
                  </td>
                  <td data-label="Client id" class="break">
                    <code>{c.client_id}</code>
                  </td>
                  <td data-label="Created">
                    <time dateTime={c.created_at}>{formatDateTime(c.created_at)}</time>
                  </td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="button-small button-danger"
                      disabled={busy === c.client_id}
                      onClick={() => void remove(c)}
                      aria-label={`Delete ${c.name} (${ownerOf(c)})`}
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {confirmDialog}
    </>
  );
}

export function ClientsPage() {
  return (
    <RequireUser role="admin">
      <Clients />
    </RequireUser>
  );
}

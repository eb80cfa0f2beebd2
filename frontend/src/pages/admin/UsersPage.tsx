// User administration: list, add, change name and roles, enable or disable, delete.

import { useCallback, useEffect, useState } from 'preact/hooks';
import { changeUser, deleteUser, listUsers } from '../../api/ferry';
import { describeError } from '../../api/problems';
import type { Role, User } from '../../api/types';
import { useMe, useSession } from '../../auth/session';
import { ErrorMessage } from '../../components/Alert';
import { useAnnounce } from '../../components/Announcer';
import { useConfirm } from '../../components/ConfirmDialog';
import { PageTitle } from '../../components/PageTitle';
import { Loading, RequireUser } from '../../components/RequireUser';
import { StatusBadge } from '../../components/StatusBadge';
import { AddUserForm } from './AddUserForm';
import { EditUserDialog } from './EditUserDialog';

const ROLE_NAMES: Record<Role, string> = { member: 'Member', admin: 'Administrator' };

function Users() {
  const { api } = useSession();
  const me = useMe();
  const announce = useAnnounce();
  const [confirmDialog, confirm] = useConfirm();
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<User | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const list = await listUsers(api);
      list.sort((a, b) => a.email.localeCompare(b.email));
      setUsers(list);
    } catch (e) {
      setError(describeError(e, 'admin-users'));
    }
  }, [api]);

  useEffect(() => void reload(), [reload]);

  const replace = (u: User) => setUsers((list) => (list ?? []).map((x) => (x.id === u.id ? u : x)));

  const toggle = async (u: User) => {
    if (u.enabled) {
      const ok = await confirm({
        title: `Disable ${u.name || u.email}?`,
        body: <p>They can no longer sign in, and their current sessions stop working at once. You can enable them again later.</p>,
        confirmLabel: 'Disable',
        danger: true,
      });
      if (!ok) return;
    }
    setBusy(u.id);
    setError(null);
    try {
      const changed = await changeUser(api, u.id, { enabled: !u.enabled });
      replace(changed);
      announce.status(`${changed.email} is ${changed.enabled ? 'enabled' : 'disabled'}.`);
    } catch (e) {
      setError(describeError(e, 'admin-users'));
    } finally {
      setBusy(null);
    }
  };

  const remove = async (u: User) => {
    const ok = await confirm({
      title: `Delete ${u.name || u.email}?`,
      body: (
        <p>
          {u.email} can no longer sign in. Their transfers and the audit trail stay. This cannot be undone.
        </p>
      ),
      confirmLabel: 'Delete user',
      danger: true,
    });
    if (!ok) return;
    setBusy(u.id);
    setError(null);
    try {
      await deleteUser(api, u.id);
      setUsers((list) => (list ?? []).filter((x) => x.id !== u.id));
      announce.status(`${u.email} was deleted.`);
    } catch (e) {
      setError(describeError(e, 'admin-users'));
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <PageTitle title="Users" />
      <ErrorMessage message={error} />
      <AddUserForm
        api={api}
        onAdded={(u) => {
          setUsers((list) => [...(list ?? []), u].sort((a, b) => a.email.localeCompare(b.email)));
          announce.status(`${u.email} was added.`);
        }}
      />
      <section class="section" aria-labelledby="users-title">
        <h2 id="users-title">
          All users {users && <span class="count">{users.length}</span>}
        </h2>
        {!users && !error && <Loading />}
        {users && (
          <table class="table responsive-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Roles</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.map((u) => {
                const self = u.id === me?.id;
                return (
                  <tr key={u.id}>
                    <td data-label="Name">
                      <div>
                        {u.name || '—'}
                        {self && <span class="muted"> (you)</span>}
                      </div>
                    </td>
                    <td data-label="Email" class="break">
                      {u.email}
                    </td>
                    <td data-label="Roles">{u.roles.length ? u.roles.map((r) => ROLE_NAMES[r]).join(', ') : 'None'}</td>
                    <td data-label="Status">
                      <StatusBadge tone={u.enabled ? 'success' : 'neutral'} label={u.enabled ? 'Enabled' : 'Disabled'} />
                    </td>
                    <td class="row-actions">
                      <button type="button" class="button-small button-secondary" onClick={() => setEditing(u)} aria-label={`Edit ${u.email}`}>
                        Edit
                      </button>
                      {!self && (
                        <button
                          type="button"
                          class="button-small button-secondary"
                          disabled={busy === u.id}
                          onClick={() => void toggle(u)}
                          aria-label={`${u.enabled ? 'Disable' : 'Enable'} ${u.email}`}
                        >
                          {u.enabled ? 'Disable' : 'Enable'}
                        </button>
                      )}
                      {!self && (
                        <button
                          type="button"
                          class="button-small button-danger"
                          disabled={busy === u.id}
                          onClick={() => void remove(u)}
                          aria-label={`Delete ${u.email}`}
                        >
                          Delete
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </section>
      {editing && (
        <EditUserDialog
          api={api}
          user={editing}
          isSelf={editing.id === me?.id}
          onClose={() => setEditing(null)}
          onSaved={(u) => {
            replace(u);
            setEditing(null);
            announce.status(`${u.email} was updated.`);
          }}
        />
      )}
      {confirmDialog}
    </>
  );
}

export function UsersPage() {
  return (
    <RequireUser role="admin">
      <Users />
    </RequireUser>
  );
}
